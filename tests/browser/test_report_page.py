"""The report page as a phone sees it: Chromium at 390×844."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from incidents import services
from incidents.models import Incident, Report
from tests.conftest import wait_until
from tests.factories import network_of

pytestmark = pytest.mark.django_db(transaction=True)

XSS = "<img src=x onerror=alert(1)>"
CARACAS = {"latitude": 10.4806, "longitude": -66.9036, "accuracy": 25}


def test_a_checkpoint_reported_with_geolocation_becomes_an_incident(browser, live_server, start_worker):
    start_worker()
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="es-VE",
        geolocation=CARACAS,
        permissions=["geolocation"],
        base_url=live_server.url,
        service_workers="block",
    )
    try:
        page = context.new_page()
        page.goto("/report")
        page.locator("label.kind-checkpoint").click()
        page.get_by_role("button", name="Usar mi ubicación").click()
        expect(page.locator("#loc-status")).to_contain_text("25 m")
        page.get_by_role("button", name="Enviar reporte").click()
        expect(page.locator("#sent")).to_be_visible()
        report = wait_until(lambda: Report.objects.filter(state="processed").first(), timeout=30)
        assert report.kind == "checkpoint"
        assert report.channel == "api"
        assert (round(report.point.x, 4), round(report.point.y, 4)) == (-66.9036, 10.4806)
        assert report.accuracy_m == 25
        assert report.reporter_key  # the page's device token, hashed
        incident = Incident.objects.get()
        assert incident.kind == "checkpoint" and incident.reporters == 1
        page.locator("#sent-link").click()
        expect(page.locator("main")).to_contain_text("Recibido y ubicado")
    finally:
        context.close()


def test_without_javascript_a_report_with_a_typed_place_is_accepted(browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="es-VE", java_script_enabled=False, base_url=live_server.url
    )
    try:
        page = context.new_page()
        page.goto("/report")
        expect(page.locator("#locate")).to_be_hidden()  # the script-only controls stay out of the way
        page.locator("label.kind-roadblock").click()
        page.fill("#id_place", "Redoma de Petare")
        page.locator("summary").click()
        page.fill("#id_description", "Guardias revisando carros")
        page.get_by_role("button", name="Enviar reporte").click()
        expect(page).to_have_url(re.compile(r"/report/status/[0-9a-f-]{36}\?sent=1$"))
        expect(page.locator("main")).to_contain_text("Gracias")
        report = Report.objects.get()
        assert (report.kind, report.place_text, report.channel) == ("roadblock", "Redoma de Petare", "web")
        assert report.description == "Guardias revisando carros"
        assert report.reporter_key  # from the device cookie
        assert str(report.pk) in page.url
    finally:
        context.close()


def test_without_javascript_a_refused_report_comes_back_with_the_reason_and_the_text_kept(browser, live_server):
    context = browser.new_context(locale="en-GB", java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/report")
        page.locator("label.kind-hazard").click()
        page.fill("#id_place", "40.4168, -3.7038")  # Madrid: outside the deployment area
        page.locator("summary").click()
        page.fill("#id_description", XSS)
        page.get_by_role("button", name="Send report").click()
        expect(page.locator(".errors")).to_be_visible()
        expect(page.locator(".field-error")).to_contain_text("outside the area")
        expect(page.locator("#id_description")).to_have_value(XSS)
        assert page.locator("img[src=x]").count() == 0
        assert Report.objects.count() == 0
    finally:
        context.close()


def test_description_and_place_with_markup_show_as_text_and_run_nothing(page, alerts):
    page.goto("/report")
    page.context.set_offline(True)
    page.locator("label.kind-militia").click()
    page.fill("#id_place", XSS)
    page.locator("summary").click()
    page.fill("#id_description", XSS)
    page.get_by_role("button", name="Enviar reporte").click()
    expect(page.locator("#queue-list li")).to_have_count(1)
    expect(page.locator("#queue-list li .what")).to_contain_text(XSS)
    assert page.locator("img[src=x]").count() == 0
    page.wait_for_timeout(300)
    assert alerts == []


def test_a_refused_report_shows_its_reason_and_can_be_fixed_or_discarded(page):
    page.goto("/report")
    page.locator("label.kind-checkpoint").click()
    page.fill("#id_place", "40.4168, -3.7038")
    page.get_by_role("button", name="Enviar reporte").click()
    row = page.locator("#queue-list li.rejected")
    expect(row).to_contain_text("No aceptado")
    expect(row).to_contain_text("fuera del área")
    row.get_by_role("button", name="Corregir").click()
    expect(page.locator("#queue-list li")).to_have_count(0)
    expect(page.locator("input[name=kind][value=checkpoint]")).to_be_checked()
    page.fill("#id_place", "10.4806, -66.9036")
    page.get_by_role("button", name="Enviar reporte").click()
    expect(page.locator("#sent")).to_be_visible()
    assert Report.objects.count() == 1

    page.get_by_role("button", name="Reportar otra cosa").click()
    page.locator("label.kind-checkpoint").click()
    page.fill("#id_place", "0, 0")
    page.get_by_role("button", name="Enviar reporte").click()
    row = page.locator("#queue-list li.rejected")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Descartar").click()
    expect(page.locator("#queue")).to_be_hidden()
    assert page.evaluate("AlcQueue.all().then(items => items.length)") == 0


def test_quick_exit_replaces_the_page_and_its_history_entry(page, live_server):
    page.goto("/healthz")
    page.goto("/report")
    page.fill("#id_place", "Plaza Venezuela")
    page.get_by_role("link", name="Salida rápida").click()
    expect(page).to_have_url(f"{live_server.url}/exit")
    expect(page.locator("h1")).to_have_text("Arepas de queso")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/healthz")


def test_the_page_switches_to_english_and_every_visible_string_follows(page):
    page.goto("/report")
    expect(page.locator("legend").first).to_have_text("¿Qué viste?")
    page.get_by_role("link", name="EN").click()
    expect(page.locator("legend").first).to_have_text("What did you see?")
    expect(page.get_by_role("button", name="Send report")).to_be_visible()
    expect(page.get_by_role("link", name="Quick exit")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Send report")).to_be_visible()


def test_the_page_asks_nothing_of_any_other_host(page, live_server):
    hosts = set()
    page.on("request", lambda request: hosts.add(re.sub(r"^(\w+://[^/]+).*", r"\1", request.url)))
    page.goto("/report")
    page.wait_for_load_state("networkidle")
    assert hosts == {live_server.url}


def test_votes_from_the_status_page_count(browser, live_server):
    reports = [
        services.report_submit(
            client_id=uuid.uuid4(), kind="checkpoint", place_text="10.4806, -66.9036", device=d, source=network_of(d)
        )[0]
        for d in ("a", "b")
    ]
    for report in reports:
        services.report_process(report_id=report.pk)
    context = browser.new_context(locale="es-VE", java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto(f"/report/status/{reports[0].pk}")
        expect(page.locator("main")).to_contain_text("Está en el mapa público")
        page.get_by_role("button", name="Ya no está").click()
        expect(page.locator(".notice")).to_contain_text("Gracias")
        assert Incident.objects.get().gone == 1
    finally:
        context.close()


def test_a_pin_dropped_on_the_map_and_a_photo_go_with_the_report(page, tmp_path, settings):
    from PIL import Image

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    picture = tmp_path / "IMG_2001.jpg"
    exif = Image.Exif()
    exif[0x010F] = "PhoneMakerX"
    Image.new("RGB", (120, 80), "blue").save(picture, "JPEG", exif=exif)
    page.route("**/tile.openstreetmap.org/**", lambda route: route.abort())  # no tiles here: the pin still works
    page.goto("/report")
    page.locator("label.kind-roadblock").click()
    page.get_by_role("button", name="Marcar en un mapa").click()
    box = page.locator(".leaflet-container")
    expect(box).to_be_visible()
    box.click(position={"x": 120, "y": 90})
    expect(page.locator("#loc-status")).to_contain_text("Marcador colocado")
    lat, lon = float(page.input_value("#id_lat")), float(page.input_value("#id_lon"))
    page.locator("summary").click()
    page.set_input_files("#id_photo", str(picture))
    page.get_by_role("button", name="Enviar reporte").click()
    expect(page.locator("#sent")).to_be_visible()
    report = Report.objects.get()
    assert (round(report.point.y, 5), round(report.point.x, 5)) == (round(lat, 5), round(lon, 5))
    stored = report.photo.read()
    assert stored[:2] == b"\xff\xd8" and b"PhoneMakerX" not in stored
