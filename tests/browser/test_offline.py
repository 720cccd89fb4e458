"""Reporting on a cut connection: the service worker keeps the page, IndexedDB keeps the reports."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from incidents.keys import device_key
from incidents.models import Report
from tests.browser.conftest import PHONE, Network
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_reports_made_offline_wait_on_the_phone_survive_a_reload_and_are_sent_once_online(browser, live_server):
    context = browser.new_context(**PHONE, locale="es-VE", base_url=live_server.url, service_workers="allow")
    try:
        page = context.new_page()
        page.goto("/report")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()
        page.wait_for_function("!!navigator.serviceWorker.controller")
        network = Network(context)

        network.set(offline=True)
        for kind, place in (("checkpoint", "Plaza Venezuela"), ("roadblock", "10.4806, -66.9036")):
            page.locator(f"label.kind-{kind}").click()
            page.fill("#id_place", place)
            page.get_by_role("button", name="Enviar reporte").click()
            expect(page.locator("#loc-status")).to_contain_text("Guardado en este teléfono")
        rows = page.locator("#queue-list li")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Esperando para enviar")

        page.reload()  # still offline: the page comes from the service worker's cache
        expect(page.locator("#queue-list li")).to_have_count(2)
        expect(page.locator("#loc-status")).to_contain_text("sin conexión")
        assert Report.objects.count() == 0

        network.set(offline=False)
        wait_until(lambda: Report.objects.count() == 2, timeout=30)
        expect(page.locator("#queue")).to_be_hidden()
        assert page.evaluate("AlcQueue.all().then(items => items.length)") == 0

        page.reload()
        page.wait_for_timeout(1500)  # a late duplicate send would land now
        assert Report.objects.count() == 2
        assert sorted(Report.objects.values_list("kind", flat=True)) == ["checkpoint", "roadblock"]
    finally:
        context.close()


def test_the_quick_exit_erases_what_a_seized_phone_would_show_even_offline(browser, live_server):
    context = browser.new_context(**PHONE, locale="es-VE", base_url=live_server.url, service_workers="allow")
    try:
        page = context.new_page()
        page.goto("/report")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()
        page.wait_for_function("!!navigator.serviceWorker.controller")
        # Yesterday's token is replaced by today's at the first report.
        page.evaluate("localStorage.setItem('alc_device', JSON.stringify({token: 'f00d', day: '2000-01-01'}))")
        page.locator("label.kind-checkpoint").click()
        page.fill("#id_place", "10.4806, -66.9036")
        page.get_by_role("button", name="Enviar reporte").click()
        wait_until(lambda: Report.objects.count() == 1, timeout=30)
        kept = page.evaluate("JSON.parse(localStorage.getItem('alc_device'))")
        assert kept["token"] != "f00d" and kept["day"] == page.evaluate("new Date().toISOString().slice(0, 10)")
        assert Report.objects.get().reporter_key == device_key(kept["token"])

        page.goto("/report")
        network = Network(context)
        network.set(offline=True)
        page.locator("label.kind-roadblock").click()
        page.fill("#id_place", "Plaza Venezuela")
        page.get_by_role("button", name="Enviar reporte").click()
        expect(page.locator("#queue-list li")).to_have_count(1)

        page.get_by_role("link", name="Salida rápida").click()  # offline: the exit page comes from the cache
        expect(page.locator("h1")).to_have_text("Arepas de queso")
        page.wait_for_function("indexedDB.databases().then(all => !all.some(db => db.name === 'alcabala'))")
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0
        cached = page.evaluate(
            """caches.keys().then(names => Promise.all(names.map(name => caches.open(name)
                 .then(cache => cache.keys()).then(requests => requests.map(r => new URL(r.url).pathname)))))
                 .then(lists => lists.flat())"""
        )
        assert set(cached) <= {"/exit"}

        network.set(offline=False)
        page.goto("/report")
        page.wait_for_timeout(1500)  # an outbox that survived would send its report now
        assert Report.objects.count() == 1
    finally:
        context.close()
