"""The live map as a phone sees it: Chromium at 390×844, tiles blocked, the real API behind it.

Route handlers run in this process, so nothing here sleeps while one is installed: waiting is done with
Playwright's own expect/wait_for_function, which keep serving them.
"""

from __future__ import annotations

import copy
import json
import random
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from geo.spatial import snap_lon_lat
from incidents import services
from incidents.models import Incident, Status
from tests.browser.conftest import PHONE
from tests.factories import network_of

pytestmark = pytest.mark.django_db(transaction=True)

XSS = "<img src=x onerror=alert(1)>"
CARACAS = (-66.9036, 10.4806)
TILE_HOST = "tile.openstreetmap.org"
KINDS = ("checkpoint", "roadblock", "militia", "hazard")


@pytest.fixture
def fast_poll(settings):
    settings.MAP_POLL_INTERVAL_S = 1
    return settings


@pytest.fixture
def raster_tiles(settings):
    """MAP_TILE_URL set: raster tiles from that server instead of our own basemap, allowed by the CSP."""
    settings.MAP_TILE_URL = f"https://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png"
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["img-src"].append(f"https://{TILE_HOST}")
    settings.CONTENT_SECURITY_POLICY = policy
    return settings


@pytest.fixture
def map_page(phone, alerts):
    """The phone's page with the tile server unreachable, recording every request it makes."""
    page = phone.new_page()
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.route(f"**://{TILE_HOST}/**", lambda route: route.abort())
    return page


def open_map(page, path: str = "/") -> None:
    page.goto(path)
    expect(page.locator("#map")).to_have_attribute("data-live", "ok")


def incident_by_reports(kind: str = "checkpoint", at: tuple[float, float] = CARACAS, reporters: int = 2) -> Incident:
    """An incident made the way the worker makes it: reports submitted and processed by the services."""
    report = None
    for _ in range(reporters):
        device = uuid.uuid4().hex
        report, _created = services.report_submit(
            client_id=uuid.uuid4(), kind=kind, point=Point(*at, srid=4326), device=device, source=network_of(device)
        )
        services.report_process(report_id=report.pk)
    report.refresh_from_db()
    return Incident.objects.get(pk=report.incident_id)


def count(page, kind: str) -> int:
    return int(page.locator(f"#count-{kind}").get_attribute("data-count") or "0")


def expect_count(page, kind: str, value: int) -> None:
    expect(page.locator(f"#count-{kind}")).to_have_attribute("data-count", str(value))


def api_counts(bbox: str | None = None) -> dict[str, int]:
    client = Client()
    found = {}
    for kind in KINDS:
        query = {"kind": kind, "limit": 10000}
        if bbox:
            query["bbox"] = bbox
        body = json.loads(client.get("/api/v1/incidents", query).content)
        assert "next" not in [link["rel"] for link in body["links"]]
        found[kind] = body["numberReturned"]
    return found


def view_bbox(page) -> str:
    return page.evaluate("alcabalaMap.map.getBounds().toBBoxString()")


def zoom_to(page, zoom: int, lat: float | None = None, lon: float | None = None) -> None:
    page.evaluate(
        """([zoom, lat, lon]) => new Promise((done) => {
             const map = alcabalaMap.map;
             map.once('moveend', () => setTimeout(done, 0));
             if (lat === null) map.setZoom(zoom, {animate: false});
             else map.setView([lat, lon], zoom, {animate: false});
           })""",
        [zoom, lat, lon],
    )


def click_incident(page, incident_id: int) -> None:
    """Click the incident's mark on the canvas, where a person would tap it."""
    point = page.evaluate(
        """(id) => { const item = alcabalaMap.store.get(id);
                     const p = alcabalaMap.map.latLngToContainerPoint([item.lat, item.lon]); return [p.x, p.y]; }""",
        incident_id,
    )
    page.locator("#map").click(position={"x": point[0], "y": point[1]})
    expect(page.locator(f'.pop[data-id="{incident_id}"]')).to_be_visible()


def test_a_report_processed_while_the_map_is_open_appears_within_one_poll(fast_poll, map_page):
    open_map(map_page)
    expect_count(map_page, "roadblock", 0)
    incident = incident_by_reports("roadblock")
    expect_count(map_page, "roadblock", 1)  # no reload: the poll brought it
    zoom_to(map_page, 15, CARACAS[1], CARACAS[0])
    click_incident(map_page, incident.pk)
    popup = map_page.locator(".pop")
    expect(popup.locator("h3")).to_have_text("Barricada")
    expect(popup).to_contain_text("Sin confirmar")
    expect(popup).to_contain_text("Reportantes: 2")
    assert map_page.url.endswith("/") or "/?" in map_page.url  # still the same page, never reloaded


def test_an_expired_incident_disappears(fast_poll, map_page):
    incident = incident_by_reports("militia")
    open_map(map_page)
    expect_count(map_page, "militia", 1)
    Incident.objects.filter(pk=incident.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.incidents_expire() == 1
    expect_count(map_page, "militia", 0)
    assert map_page.evaluate(f"alcabalaMap.store.has({incident.pk})") is False


def test_place_and_note_holding_markup_show_as_text_and_run_nothing(map_page, alerts):
    incident = incident_by_reports("checkpoint")
    Incident.objects.filter(pk=incident.pk).update(place=XSS, note=XSS)
    open_map(map_page)
    zoom_to(map_page, 15, CARACAS[1], CARACAS[0])
    click_incident(map_page, incident.pk)
    popup = map_page.locator(".pop")
    expect(popup.locator(".place")).to_have_text(XSS)
    expect(popup.locator(".note")).to_have_text(XSS)
    assert popup.locator("img").count() == 0
    assert map_page.locator("img[src=x]").count() == 0
    assert alerts == []


def test_still_there_and_gone_buttons_vote_through_the_api(map_page):
    incident = incident_by_reports("hazard")
    open_map(map_page)
    zoom_to(map_page, 15, CARACAS[1], CARACAS[0])
    click_incident(map_page, incident.pk)
    map_page.locator(".pop .vote-yes").click()
    expect(map_page.locator(".pop .msg")).to_contain_text("Gracias")
    expect(map_page.locator(".pop")).to_contain_text("Sigue ahí: 1")
    incident.refresh_from_db()
    assert incident.still_there == 1


def test_filters_and_view_are_kept_in_the_url_and_a_shared_link_shows_the_same(map_page):
    verified = incident_by_reports("checkpoint")
    services.incident_transition(incident=verified, status=Status.VERIFIED)
    incident_by_reports("checkpoint", at=(-66.85, 10.50))
    open_map(map_page)
    expect_count(map_page, "checkpoint", 2)
    map_page.locator("#layers summary").click()
    map_page.locator("#verified-only").check()
    map_page.locator("#within").select_option("6")
    map_page.locator('input[name="kind"][value="militia"]').uncheck()
    expect_count(map_page, "checkpoint", 1)
    query = parse_qs(urlparse(map_page.url).query)
    assert query["verified"] == ["1"] and query["within"] == ["6"]
    assert query["kind"] == ["checkpoint,roadblock,hazard"]

    shared = map_page.context.new_page()
    shared.route(f"**://{TILE_HOST}/**", lambda route: route.abort())
    open_map(shared, map_page.url.replace(map_page.url.split("/?")[0], ""))
    expect(shared.locator("#verified-only")).to_be_checked()
    expect(shared.locator('input[name="kind"][value="militia"]')).not_to_be_checked()
    expect(shared.locator("#within")).to_have_value("6")
    expect_count(shared, "checkpoint", 1)
    here = shared.locator("#report-here").get_attribute("href")
    assert here.startswith("/report?lat=") and "&lon=" in here


def test_report_here_opens_the_report_page_at_that_point(map_page):
    open_map(map_page, "/?z=14&lat=10.48060&lon=-66.90360")
    map_page.locator("#report-here").click()
    expect(map_page).to_have_url(re.compile(r"/report\?lat=10\.4806\d*&lon=-66\.9036\d*$"))
    assert map_page.locator("#id_lat").input_value() == "10.48060"
    assert map_page.locator("#id_lon").input_value() == "-66.90360"


def test_with_a_tile_server_set_the_page_talks_to_no_host_but_ours_and_it(
    fast_poll, raster_tiles, map_page, live_server
):
    incident = incident_by_reports("checkpoint")
    open_map(map_page)
    zoom_to(map_page, 15, CARACAS[1], CARACAS[0])
    click_incident(map_page, incident.pk)
    map_page.locator(".pop .vote-no").click()
    expect(map_page.locator(".pop .msg")).to_contain_text("Gracias")
    expect(map_page.locator("#map")).to_have_attribute("data-polls", re.compile(r"^([2-9]|\d\d+)$"))
    ours = urlparse(live_server.url).netloc
    hosts = {urlparse(url).netloc for url in map_page.requests}
    assert hosts - {ours, TILE_HOST} == set()
    assert TILE_HOST in hosts  # the tiles were asked for, and blocked here


def test_when_tiles_fail_the_incidents_still_show_on_a_plain_background(raster_tiles, map_page):
    incident_by_reports("checkpoint")
    open_map(map_page)
    expect(map_page.locator("#map")).to_have_class(re.compile(r"\bno-tiles\b"))
    expect(map_page.locator("#tiles-note")).to_be_visible()
    expect_count(map_page, "checkpoint", 1)
    assert int(map_page.locator("#map").get_attribute("data-drawn")) == 1


def make_incidents(total: int, *, seed: int = 5) -> None:
    """`total` published incidents across the area, on the public grid already, so that counting them by their
    public position and by their stored one agree to the last incident."""
    rng = random.Random(seed)
    now = timezone.now()
    top = services.next_versions(total)
    rows = []
    for number in range(total):
        lon, lat = snap_lon_lat(rng.uniform(-72.5, -61.0), rng.uniform(1.5, 11.8), 50)
        verified = number % 3 == 0
        rows.append(
            Incident(
                kind=KINDS[number % 4],
                point=Point(lon, lat, srid=4326),
                place=f"Lugar {number}",
                status=Status.VERIFIED if verified else Status.UNVERIFIED,
                first_reported_at=now - timedelta(minutes=rng.randint(0, 300)),
                last_confirmed_at=now - timedelta(minutes=rng.randint(0, 60)),
                expires_at=now + timedelta(hours=6),
                reporters=2 + number % 5,
                sources=2 + number % 5,
                confidence=rng.random(),
                verified_at=now if verified else None,
                version=top - total + 1 + number,
            )
        )
    Incident.objects.bulk_create(rows, batch_size=2000)


def test_ten_thousand_incidents_zoom_in_and_out_and_the_counts_match_the_api(map_page):
    make_incidents(10_000)
    open_map(map_page)
    expected = api_counts(view_bbox(map_page))
    assert sum(expected.values()) == 10_000
    for kind in KINDS:
        expect_count(map_page, kind, expected[kind])
    start_zoom = map_page.evaluate("alcabalaMap.map.getZoom()")
    drawn_out = int(map_page.locator("#map").get_attribute("data-drawn"))
    assert 0 < drawn_out < 1000  # clustered, not ten thousand marks

    zoom_to(map_page, 11, 10.2, -67.5)
    expected = api_counts(view_bbox(map_page))
    assert 0 < sum(expected.values()) < 10_000
    for kind in KINDS:
        expect_count(map_page, kind, expected[kind])

    zoom_to(map_page, start_zoom)
    expected = api_counts(view_bbox(map_page))
    for kind in KINDS:
        expect_count(map_page, kind, expected[kind])
    assert int(map_page.locator("#map").get_attribute("data-drawn")) > 0


def test_with_many_incidents_a_zoomed_in_link_fetches_only_its_viewport(map_page):
    make_incidents(3_000)
    open_map(map_page, "/?z=12&lat=10.20000&lon=-67.50000")
    lists = [url for url in map_page.requests if "/api/v1/incidents?" in url and "bbox=" in url]
    assert lists, "the list was fetched without a bbox"
    west, south, east, north = (float(v) for v in parse_qs(urlparse(lists[0]).query)["bbox"][0].split(","))
    assert east - west < 2 and north - south < 2  # the viewport and its margin, not the whole country
    expected = api_counts(view_bbox(map_page))
    for kind in KINDS:
        expect_count(map_page, kind, expected[kind])
    assert map_page.evaluate("alcabalaMap.store.size") < 3_000


def test_an_unchanged_poll_is_answered_304(fast_poll, map_page):
    incident_by_reports("checkpoint")
    polls = []
    map_page.on(
        "response",
        lambda response: (
            polls.append((response.status, response.request.headers.get("if-none-match")))
            if "/api/v1/incidents/changes" in response.url
            else None
        ),
    )
    open_map(map_page)
    expect(map_page.locator("#map")).to_have_attribute("data-not-modified", re.compile(r"^[1-9]"))
    not_modified = [tag for status, tag in polls if status == 304]
    assert not_modified and all(tag for tag in not_modified)  # each sent the ETag it had been given
    expect_count(map_page, "checkpoint", 1)  # and the map kept what it had


def test_a_moderator_moving_an_incident_and_writing_a_note_updates_the_open_popup_in_place(fast_poll, map_page):
    from django.contrib.auth.models import Group, User

    from moderation import services as moderation

    moderator = User.objects.create_user("mod", password="a long passphrase 1")
    moderator.groups.add(Group.objects.get_or_create(name="moderators")[0])
    incident = incident_by_reports("checkpoint")
    open_map(map_page)
    zoom_to(map_page, 14, CARACAS[1], CARACAS[0])
    click_incident(map_page, incident.pk)
    before = map_page.evaluate(f"[alcabalaMap.store.get({incident.pk}).lon, alcabalaMap.store.get({incident.pk}).lat]")

    moved = Point(CARACAS[0] + 0.01, CARACAS[1] + 0.01, srid=4326)
    moderation.incident_move(incident_id=incident.pk, moderator=moderator, point=moved)
    moderation.incident_note(incident_id=incident.pk, moderator=moderator, note="Desvío por la avenida")

    expect(map_page.locator(".pop .note")).to_have_text("Desvío por la avenida")  # the popup stayed open
    after = map_page.evaluate(f"[alcabalaMap.store.get({incident.pk}).lon, alcabalaMap.store.get({incident.pk}).lat]")
    assert after == list(snap_lon_lat(moved.x, moved.y, 50)) and after != before
    assert map_page.evaluate("alcabalaMap.store.size") == 1  # updated in place, not added twice


def test_the_indicator_says_how_fresh_the_map_is_or_that_it_is_offline(fast_poll, map_page):
    open_map(map_page)
    expect(map_page.locator("#live")).to_contain_text(re.compile(r"Actualizado hace \d+ s"))
    map_page.context.set_offline(True)
    # Offline, it still says how old what it shows is.
    expect(map_page.locator("#live")).to_have_text(
        re.compile(r"^Sin conexión: se muestra lo último que se cargó · Actualizado hace \d+ s$")
    )
    map_page.context.set_offline(False)
    expect(map_page.locator("#live")).to_contain_text("Actualizado hace")


def test_a_kind_toggled_off_leaves_the_map_but_keeps_its_count(map_page):
    incident_by_reports("checkpoint")
    incident_by_reports("roadblock", at=(-66.85, 10.50))
    open_map(map_page)
    expect(map_page.locator("#map")).to_have_attribute("data-shown", "2")
    map_page.locator("#layers summary").click()
    map_page.locator('input[name="kind"][value="roadblock"]').uncheck()
    expect(map_page.locator("#map")).to_have_attribute("data-shown", "1")
    expect_count(map_page, "roadblock", 1)  # the legend still says how many there are
    assert "kind=checkpoint%2Cmilitia%2Chazard" in map_page.url or "kind=checkpoint,militia,hazard" in map_page.url


def test_the_map_speaks_english_to_an_english_browser(browser, live_server):
    context = browser.new_context(**PHONE, locale="en-GB", base_url=live_server.url, service_workers="block")
    try:
        page = context.new_page()
        page.route(f"**://{TILE_HOST}/**", lambda route: route.abort())
        incident = incident_by_reports("militia")
        open_map(page)
        expect(page.locator("#layers summary")).to_have_text("Layers and filters")
        expect(page.locator("#live")).to_contain_text("Updated")
        zoom_to(page, 15, CARACAS[1], CARACAS[0])
        click_incident(page, incident.pk)
        expect(page.locator(".pop h3")).to_have_text("Armed group")
        expect(page.locator(".pop .st")).to_have_text("Unconfirmed")
        expect(page.locator(".pop .vote-yes")).to_have_text("Still there")
    finally:
        context.close()
