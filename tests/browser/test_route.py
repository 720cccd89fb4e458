"""The route check on the live map, as a phone sees it: Chromium at 390×844, tiles blocked, the real API behind."""

from __future__ import annotations

import json

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import expect

from incidents.models import Incident
from tests.browser.conftest import PHONE
from tests.factories import IncidentFactory, offset

pytestmark = pytest.mark.django_db(transaction=True)

XSS = "<img src=x onerror=alert(1)>"
START = (-66.80, 10.45)
TILE_HOST = "tile.openstreetmap.org"


def at(east_m: float, north_m: float) -> tuple[float, float]:
    return offset(*START, east_m=east_m, north_m=north_m)


@pytest.fixture
def map_page(phone, alerts):
    page = phone.new_page()
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.route(f"**://{TILE_HOST}/**", lambda route: route.abort())
    return page


def open_route_panel(page) -> None:
    page.goto(f"/?z=12&lat={START[1]}&lon={START[0] + 0.05:.4f}")
    expect(page.locator("#map")).to_have_attribute("data-live", "ok")
    page.locator("#route-open").click()
    expect(page.locator("#route")).to_be_visible()
    expect(page.locator(".route-note")).to_contain_text("no hay un motor de rutas")  # straight legs, said plainly


def tap_map_at(page, lon: float, lat: float) -> None:
    x, y = page.evaluate(
        "([lat, lon]) => { const p = alcabalaMap.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    page.locator("#map").click(position={"x": x, "y": y})


def test_two_points_tapped_on_the_map_list_the_checkpoint_on_the_way_and_open_it(map_page, alerts):
    on_the_way = IncidentFactory(point=Point(*at(3_000, 150), srid=4326), place="Alcabala de Petare")
    IncidentFactory(point=Point(*at(3_000, 2_500), srid=4326))  # 2.5 km off the line
    page = map_page
    open_route_panel(page)
    # The map shows the incidents before the route is checked.
    page.wait_for_function("(id) => alcabalaMap.store.get(id) !== undefined", arg=on_the_way.pk)

    page.locator('.route-point[data-index="0"] .pick').click()
    expect(page.locator("#route")).to_have_class("route-panel picking")
    tap_map_at(page, *at(0, 0))
    page.locator('.route-point[data-index="1"] .pick').click()
    tap_map_at(page, *at(6_000, 0))

    hits = page.locator("#route-results .route-hit")
    expect(hits).to_have_count(1)
    hit = hits.first
    assert hit.get_attribute("data-id") == str(on_the_way.pk)
    expect(hit).to_contain_text("Alcabala de Petare")
    expect(hit).to_contain_text("Alcabala")  # the kind, in Spanish
    expect(hit).to_contain_text("Sin confirmar")  # status in words
    expect(hit).to_contain_text("km 3,0")  # along the route, Spanish decimals
    expect(page.locator("#route-status")).to_contain_text("300 m")

    hit.locator("button").click()
    expect(page.locator(f'.pop[data-id="{on_the_way.pk}"]')).to_be_visible()
    assert alerts == []


def test_a_via_point_and_a_wider_corridor(map_page):
    aside = IncidentFactory(point=Point(*at(3_000, 700), srid=4326), kind="roadblock")
    page = map_page
    open_route_panel(page)
    page.locator('.route-point[data-index="0"] .pick').click()
    tap_map_at(page, *at(0, 0))
    page.locator('.route-point[data-index="1"] .pick').click()
    tap_map_at(page, *at(6_000, 0))
    expect(page.locator("#route-status")).to_contain_text("Ningún incidente")
    page.locator("#route-corridor").select_option("1000")
    expect(page.locator("#route-results .route-hit")).to_have_count(1)
    assert page.locator("#route-results .route-hit").first.get_attribute("data-id") == str(aside.pk)
    page.locator("#route-corridor").select_option("300")
    expect(page.locator("#route-results .route-hit")).to_have_count(0)
    page.locator("#route-add").click()  # a stop between start and end, placed at once
    tap_map_at(page, *at(3_000, 700))
    expect(page.locator(".route-point")).to_have_count(3)
    expect(page.locator("#route-results .route-hit")).to_have_count(1)


def test_an_uploaded_gpx_track_is_drawn_and_checked(map_page):
    checkpoint = IncidentFactory(point=Point(*at(8_000, -100), srid=4326))
    track = "".join(
        f'<trkpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>900</ele></trkpt>'
        for lon, lat in (at(n * 500, 0) for n in range(25))
    )
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="OsmAnd" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>viaje</name><trkseg>{track}</trkseg></trk></gpx>"
    )
    page = map_page
    open_route_panel(page)
    page.locator(".route-file summary").click()
    page.set_input_files(
        "#route-file-input", files=[{"name": "viaje.gpx", "mimeType": "application/gpx+xml", "buffer": gpx.encode()}]
    )
    hits = page.locator("#route-results .route-hit")
    expect(hits).to_have_count(1)
    assert hits.first.get_attribute("data-id") == str(checkpoint.pk)
    expect(page.locator("#route-status")).to_contain_text("25")  # the line's points
    # The route and its corridor are drawn on the map.
    assert page.evaluate("document.querySelectorAll('#map path.leaflet-interactive, #map svg path').length") >= 2


def test_a_place_name_holding_markup_shows_as_text(map_page, alerts):
    page = map_page
    open_route_panel(page)
    field = page.locator('.route-point[data-index="0"] input[type="search"]')
    field.fill(XSS)
    field.press("Enter")
    expect(page.locator("#route-status")).to_have_text(f"No se encontró ningún lugar para “{XSS}”.")
    assert page.locator("#route img").count() == 0
    assert alerts == []


def test_a_place_found_by_name_becomes_the_start(map_page):
    page = map_page
    open_route_panel(page)
    field = page.locator('.route-point[data-index="0"] input[type="search"]')
    field.fill("Maiquetía")
    field.press("Enter")
    choice = page.locator('.route-point[data-index="0"] .route-found button').filter(has_text="La Guaira").first
    if choice.count():  # several places share the name: pick the one in La Guaira
        choice.click()
    expect(page.locator('.route-point[data-index="0"] .chosen')).to_have_text("Maiquetía, La Guaira")


def test_locate_me_sets_the_start(browser, live_server):
    lon, lat = at(0, 0)
    context = browser.new_context(
        **PHONE, locale="en-GB", base_url=live_server.url, service_workers="block",
        geolocation={"latitude": lat, "longitude": lon}, permissions=["geolocation"],
    )  # fmt: skip
    try:
        page = context.new_page()
        page.route(f"**://{TILE_HOST}/**", lambda route: route.abort())
        page.goto("/")
        page.locator("#route-open").click()
        page.locator('.route-point[data-index="0"] .locate-start').click()
        expect(page.locator('.route-point[data-index="0"] .chosen')).to_have_text("Your position")
        assert Incident.objects.count() == 0
    finally:
        context.close()


def test_a_pasted_line_is_checked_and_a_broken_one_says_why(map_page):
    checkpoint = IncidentFactory(point=Point(*at(2_000, 50), srid=4326))
    page = map_page
    open_route_panel(page)
    page.locator(".route-file summary").click()
    page.locator("#route-text").fill('{"type": "LineString", "coordinates": [[-66.8, 10.45]]}')
    page.locator("#route-use-text").click()
    expect(page.locator("#route-status")).to_contain_text("La ruta necesita al menos dos puntos distintos")
    line = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "LineString", "coordinates": [list(at(0, 0)), list(at(4_000, 0))]},
    }
    page.locator("#route-text").fill(json.dumps(line))
    page.locator("#route-use-text").click()
    expect(page.locator("#route-results .route-hit")).to_have_count(1)
    assert page.locator("#route-results .route-hit").first.get_attribute("data-id") == str(checkpoint.pk)


def test_a_tap_on_an_incident_while_picking_takes_the_point_and_opens_no_popup(map_page):
    incident = IncidentFactory(point=Point(*at(3_000, 0), srid=4326), place="Alcabala del peaje")
    page = map_page
    open_route_panel(page)
    page.wait_for_function("(id) => alcabalaMap.store.get(id) !== undefined", arg=incident.pk)
    page.locator('.route-point[data-index="0"] .pick').click()
    lon, lat = page.evaluate("(id) => { const i = alcabalaMap.store.get(id); return [i.lon, i.lat]; }", incident.pk)
    tap_map_at(page, lon, lat)
    expect(page.locator('.route-point[data-index="0"]')).to_contain_text(f"({lat:.2f}")  # to the pixel
    expect(page.locator("#route")).not_to_have_class("route-panel picking")
    assert page.locator(".pop").count() == 0


def test_the_route_check_is_fetched_only_on_the_first_tap_on_route(map_page):
    page = map_page
    scripts = []
    page.on("request", lambda request: scripts.append(request.url) if request.url.endswith("/route.js") else None)
    page.goto("/")
    expect(page.locator("#map")).to_have_attribute("data-live", "ok")
    assert scripts == []  # the map is live without it
    page.locator("#route-open").click()
    expect(page.locator("#route")).to_be_visible()
    expect(page.locator("#route-open")).to_have_attribute("aria-expanded", "true")
    page.locator("#route-close").click()
    expect(page.locator("#route")).to_be_hidden()
    page.locator("#route-open").click()  # opens again, from the module already loaded
    expect(page.locator("#route")).to_be_visible()
    expect(page.locator('.route-point[data-index="0"]')).to_have_count(1)  # set up once, not twice
    assert len(scripts) == 1


def test_a_cancelled_pick_gives_the_taps_back_to_the_incidents(map_page):
    # North of the view's centre, clear of the open panel (a sheet over the bottom of a phone's map).
    incident = IncidentFactory(point=Point(*at(3_000, 9_000), srid=4326), place="Alcabala del peaje")
    page = map_page
    open_route_panel(page)
    page.wait_for_function("(id) => alcabalaMap.store.get(id) !== undefined", arg=incident.pk)
    page.locator('.route-point[data-index="0"] .pick').click()
    page.locator("#route .cancel").click()
    expect(page.locator("#route")).not_to_have_class("route-panel picking")
    lon, lat = page.evaluate("(id) => { const i = alcabalaMap.store.get(id); return [i.lon, i.lat]; }", incident.pk)
    tap_map_at(page, lon, lat)
    expect(page.locator(f'.pop[data-id="{incident.pk}"]')).to_be_visible()
    expect(page.locator('.route-point[data-index="0"] .chosen')).to_have_text("Aún sin elegir")
