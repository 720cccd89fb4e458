"""What the live map says of an incident's evidence: its independent sources, its flags and the contested mark,
in Spanish and in English. The incidents are made the way the code makes them: reports and votes through the
services, each from the network its test gives it (`network(n)`), and a moderator's verification."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import expect

from incidents import services
from incidents.models import Incident, Status
from tests.browser.conftest import PHONE
from tests.browser.test_map import CARACAS, TILE_HOST, click_incident, open_map, zoom_to
from tests.factories import IncidentFactory, network, offset

pytestmark = pytest.mark.django_db(transaction=True)

SPANISH = {
    "locale": "es-VE",
    "two": "2 fuentes independientes",
    "one": "1 fuente independiente",
    "reporters": "Reportantes: 3",
    "contested": "En disputa (los reportes y los votos no coinciden)",
    "burst": "Muchos reportantes desde pocas redes a la vez",
    "trusted": "Reportado por un reportante de confianza",
    "reported_gone": "Reportado como «ya no está» (decidirá un moderador)",
    "why": "La confianza sube con las fuentes independientes (redes distintas) que lo reportan o lo confirman, y "
    "baja con las que dicen que ya no está.",
}
ENGLISH = {
    "locale": "en-GB",
    "two": "2 independent sources",
    "one": "1 independent source",
    "reporters": "Reporters: 3",
    "contested": "Contested: reports and votes disagree",
    "burst": "Many reporters from few networks at once",
    "trusted": "Reported by a trusted reporter",
    "reported_gone": "Reported gone (a moderator will decide)",
    "why": "Confidence grows with independent sources (different networks) that report or confirm it, and falls "
    "with those that say it is gone.",
}


def report(kind: str, at: tuple[float, float], *, device: str, source: str) -> Incident:
    submitted, _created = services.report_submit(
        client_id=uuid.uuid4(), kind=kind, point=Point(*at, srid=4326), device=device, source=source
    )
    services.report_process(report_id=submitted.pk)
    submitted.refresh_from_db()
    return Incident.objects.get(pk=submitted.incident_id)


def vote(incident: Incident, *, still_there: bool, device: str, source: str) -> Incident:
    return services.incident_vote(incident_id=incident.pk, device=device, still_there=still_there, source=source)


def contested_incident(at: tuple[float, float]) -> Incident:
    """Three phones on two networks report it; a third network says "gone", a fourth "still there"."""
    report("checkpoint", at, device="a" * 32, source=network(1))
    report("checkpoint", at, device="b" * 32, source=network(2))
    incident = report("checkpoint", at, device="c" * 32, source=network(2))
    vote(incident, still_there=False, device="d" * 32, source=network(3))
    return vote(incident, still_there=True, device="e" * 32, source=network(4))


def burst_incident(at: tuple[float, float]) -> Incident:
    """Four phones from two networks within minutes: a burst."""
    incident = None
    for n, device in enumerate(("f", "g", "h", "i")):
        incident = report("roadblock", at, device=device * 32, source=network(10 + n // 2))
    return incident


def reported_gone_incident(at: tuple[float, float]) -> Incident:
    """One network reports it, a moderator verifies it, then that network and another say "gone"."""
    incident = report("militia", at, device="j" * 32, source=network(20))
    services.incident_transition(incident=incident, status=Status.VERIFIED)
    vote(incident, still_there=False, device="j" * 32, source=network(20))
    return vote(incident, still_there=False, device="k" * 32, source=network(21))


def badge_pixel(page, incident_id: int, relative: tuple[float, float] | None = None) -> tuple[dict | None, list]:
    """The incident's drawn hit (with its `badge`, if any) and the canvas pixel at the badge's place: a point of
    the disc beside its "!", or `relative` to the incident's centre when it has no badge."""
    page.wait_for_function("(id) => alcabalaMap.hits().some((h) => h.id === id)", arg=incident_id)
    return page.evaluate(
        """([id, relative]) => {
             const h = alcabalaMap.hits().find((hit) => hit.id === id);
             const [dx, dy] = relative || [h.badge.x - h.x + h.badge.r / 2, h.badge.y - h.y];
             const canvas = document.querySelector(".incidents-canvas");
             const ratio = canvas.width / canvas.clientWidth;
             const pixel = canvas.getContext("2d").getImageData(Math.round((h.x + dx) * ratio),
               Math.round((h.y + dy) * ratio), 1, 1).data;
             return [{ x: h.x, y: h.y, badge: h.badge, dx, dy }, Array.from(pixel)];
           }""",
        [incident_id, relative],
    )


@pytest.mark.parametrize("words", [SPANISH, ENGLISH], ids=["es", "en"])
def test_the_map_shows_independent_sources_flags_and_a_contested_mark(browser, live_server, words):
    contested = contested_incident(CARACAS)
    assert (contested.sources, contested.reporters, contested.contested) == (2, 3, True)
    burst = burst_incident(offset(*CARACAS, east_m=4000))
    assert burst.burst and burst.sources == 2
    gone = reported_gone_incident(offset(*CARACAS, north_m=4000))
    assert gone.reported_gone and gone.sources == 1 and gone.status == Status.VERIFIED
    # No service makes a trusted reporter yet: the flag is set on the row as the report of one would set it.
    trusted = IncidentFactory(
        kind="hazard",
        point=Point(*offset(*CARACAS, east_m=-4000), srid=4326),
        trusted=True,
        reporters=1,
        sources=1,
        confidence=0.9,
    )

    context = browser.new_context(**PHONE, locale=words["locale"], base_url=live_server.url, service_workers="block")
    try:
        page = context.new_page()
        page.route(f"**://{TILE_HOST}/**", lambda route: route.abort())
        open_map(page)

        def show(incident: Incident):
            point = incident.point
            zoom_to(page, 15, point.y, point.x)
            click_incident(page, incident.pk)
            return page.locator(f'.pop[data-id="{incident.pk}"]')

        popup = show(contested)
        expect(popup.locator(".sources")).to_have_text(words["two"])
        expect(popup).to_contain_text(words["reporters"])  # the devices, beside the sources they came from
        expect(popup.locator(".flag")).to_have_count(1)
        expect(popup.locator(".flag-contested")).to_have_text("!" + words["contested"])
        expect(popup.locator(".flag-contested .badge")).to_have_attribute("aria-hidden", "true")
        expect(popup.locator(".why")).to_have_text(words["why"])
        hit, pixel = badge_pixel(page, contested.pk)
        assert hit["badge"] is not None
        assert pixel[3] > 200 and max(pixel[:3]) < 80, pixel  # the dark disc is drawn beside the mark
        relative = [hit["dx"], hit["dy"]]

        popup = show(gone)
        expect(popup.locator(".sources")).to_have_text(words["one"])
        expect(popup.locator(".flag")).to_have_count(1)
        expect(popup.locator(".flag-reported_gone")).to_have_text(words["reported_gone"])
        hit, pixel = badge_pixel(page, gone.pk, relative)
        assert hit["badge"] is None and pixel[3] == 0, pixel  # not contested: nothing there

        popup = show(burst)
        expect(popup.locator(".sources")).to_have_text(words["two"])
        expect(popup.locator(".flag-burst")).to_have_text(words["burst"])
        expect(popup.locator(".flag-contested")).to_contain_text(words["contested"])  # a burst is contested too
        assert badge_pixel(page, burst.pk)[0]["badge"] is not None

        popup = show(trusted)
        expect(popup.locator(".sources")).to_have_text(words["one"])
        expect(popup.locator(".flag")).to_have_count(1)
        expect(popup.locator(".flag-trusted")).to_have_text(words["trusted"])

        # The legend explains the badge and the confidence in words.
        page.locator("#layers summary").click()
        expect(page.locator("#layers .contested-key")).to_have_text("!" + words["contested"])
        expect(page.locator("#layers .why")).to_have_text(words["why"])
    finally:
        context.close()


def test_without_scripts_the_legend_still_explains_the_contested_mark_and_confidence(browser, live_server):
    context = browser.new_context(locale="es-VE", java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/")
        page.locator("#layers summary").click()
        expect(page.locator("#layers .contested-key")).to_have_text("!" + SPANISH["contested"])
        expect(page.locator("#layers .why")).to_have_text(SPANISH["why"])
    finally:
        context.close()
