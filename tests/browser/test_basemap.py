"""The live map's own basemap with the default settings: drawn from our archive, with no other host asked.

The archive is built by the test from the same packaged data as the real one (Natural Earth from world-atlas,
GeoNames towns from the gazetteer) over the test deployment area, to zoom 8 only, to keep it fast.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from django.contrib.gis.geos import Point
from playwright.sync_api import expect
from pmtiles.tile import zxy_to_tileid

from geo import basemap
from geo.area import parse_area
from geo.gazetteer import Gazetteer
from tests.browser.conftest import PHONE, Network
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.backend_independent]

WATER, EARTH = (0x80, 0xDE, 0xEA), (0xE2, 0xDF, 0xDA)  # protomaps-leaflet's "light" flavour
BORDER = "#adadad"
OFFLINE_BYTES = 16_384 + 2_048  # the archive's header and directory, and a tile or two of the test archive
# Every text and stroke colour drawn on a canvas, so the test can tell what the basemap painted.
SPY = """
window.__drawn = { texts: [], strokes: [] };
const proto = CanvasRenderingContext2D.prototype;
const fillText = proto.fillText, strokeText = proto.strokeText, stroke = proto.stroke;
proto.fillText = function (text, ...rest) {
  window.__drawn.texts.push(String(text));
  return fillText.call(this, text, ...rest);
};
proto.strokeText = function (text, ...rest) {
  window.__drawn.texts.push(String(text));
  return strokeText.call(this, text, ...rest);
};
proto.stroke = function (...args) {
  window.__drawn.strokes.push(String(this.strokeStyle));
  return stroke.apply(this, args);
};
"""
COLOURS = """
([water, earth]) => {
  const near = (d, c) => Math.abs(d[0] - c[0]) < 4 && Math.abs(d[1] - c[1]) < 4 && Math.abs(d[2] - c[2]) < 4;
  let w = 0, e = 0;
  for (const canvas of document.querySelectorAll(".leaflet-tile-pane canvas")) {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) {
      const px = [data[i], data[i + 1], data[i + 2]];
      if (near(px, water)) w += 1; else if (near(px, earth)) e += 1;
    }
  }
  return { water: w, earth: e };
}
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    area = parse_area(django_settings.DEPLOYMENT_AREA)
    towns = [basemap.Town(p.name, p.population, p.lon, p.lat) for p in Gazetteer(area).places]
    path = tmp_path_factory.mktemp("basemap") / "basemap.pmtiles"
    basemap.build(
        output=path, area_extent=area.extent, source=Path(django_settings.BASEMAP_SOURCE), towns=towns, max_zoom=8
    )
    return path


@pytest.fixture
def basemap_page(phone, archive, settings):
    settings.BASEMAP_FILE = archive
    settings.BASEMAP_MAX_ZOOM = 8
    assert settings.MAP_TILE_URL == ""  # the default: no tile server
    page = phone.new_page()
    page.add_init_script(SPY)
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    return page


def drawn(page) -> dict:
    return page.evaluate("window.__drawn")


def colours(page) -> dict:
    return page.evaluate(f"({COLOURS})([{list(WATER)}, {list(EARTH)}])")


def wait_until(page, check, timeout_ms: int = 15_000) -> None:
    """Poll from here: wait_for_function evaluates strings, which a page's CSP (no 'unsafe-eval') refuses."""
    for _ in range(timeout_ms // 100):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"not drawn within {timeout_ms} ms: {colours(page)}, {drawn(page)['texts'][:20]}")


def test_the_default_map_draws_our_basemap_and_asks_no_other_host(basemap_page, live_server):
    page = basemap_page
    page.goto("/")
    expect(page.locator("#map")).to_have_attribute("data-live", "ok")
    # The Caribbean and the land differ, the border with Colombia is stroked, Caracas is labelled.
    wait_until(page, lambda: colours(page)["water"] > 1000 and colours(page)["earth"] > 1000)
    wait_until(page, lambda: BORDER in drawn(page)["strokes"])
    wait_until(page, lambda: "Caracas" in drawn(page)["texts"])
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Natural Earth")
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("GeoNames")

    # At a town's zoom, the towns around Caracas are labelled.
    page.goto("/?z=12&lat=10.47&lon=-66.86")
    expect(page.locator("#map")).to_have_attribute("data-live", "ok")
    wait_until(page, lambda: "Petare" in drawn(page)["texts"])
    assert "Baruta" in drawn(page)["texts"] or "Chacao" in drawn(page)["texts"]

    ours = urlparse(live_server.url).netloc
    hosts = {urlparse(url).netloc for url in page.requests if not url.startswith(("data:", "blob:"))}
    assert hosts == {ours}, hosts
    assert any(urlparse(url).path == "/basemap.pmtiles" for url in page.requests)
    assert not page.locator("#tiles-note").is_visible()


def test_without_an_archive_the_map_says_the_background_is_missing(basemap_page, settings, tmp_path):
    settings.BASEMAP_FILE = tmp_path / "missing.pmtiles"
    basemap_page.goto("/")
    expect(basemap_page.locator("#tiles-note")).to_be_visible()


def test_the_report_pin_map_and_the_moderators_map_draw_the_same_basemap_from_our_origin(basemap_page, live_server):
    import base64

    import pyotp
    from django.contrib.auth.models import Group, User
    from django_otp.plugins.otp_totp.models import TOTPDevice

    page = basemap_page
    page.goto("/report?lat=10.488&lon=-66.879")  # GeoNames' point for Caracas
    page.locator("#pick").click()
    expect(page.locator("#map .leaflet-marker-icon")).to_be_visible()
    wait_until(page, lambda: colours(page)["earth"] > 1000)
    wait_until(page, lambda: "Caracas" in drawn(page)["texts"])
    expect(page.locator("#map .leaflet-control-attribution")).to_contain_text("GeoNames")

    user = User.objects.create_user("mod", password="a long passphrase for tests")
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    IncidentFactory(point=Point(-66.90, 10.50, srid=4326))
    page.goto("/moderate/login")
    page.fill("#id_username", "mod")
    page.fill("#id_password", "a long passphrase for tests")
    page.fill("#id_otp_token", pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now())
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#map.leaflet-container")).to_be_visible()
    wait_until(page, lambda: colours(page)["earth"] > 1000)
    expect(page.locator("#map .leaflet-control-attribution")).to_contain_text("Natural Earth")
    ours = urlparse(live_server.url).netloc
    assert {urlparse(url).netloc for url in page.requests if not url.startswith(("data:", "blob:"))} == {ours}


CACHED_RANGES = """caches.open("alc-basemap").then(cache => cache.keys().then(keys => Promise.all(keys.map(key =>
  cache.match(key).then(r => [new URL(key.url).searchParams.get("bytes"), Number(r.headers.get("X-Alc-Size"))])))))"""

CACHED_KEYS = """caches.keys().then(names => Promise.all(names.map(name => caches.open(name).then(cache => cache.keys())
  .then(requests => requests.map(r => new URL(r.url).pathname))))).then(lists => lists.flat())"""


def test_offline_after_a_visit_the_map_draws_the_basemap_seen_with_its_last_incidents(
    browser, live_server, archive, settings
):
    settings.BASEMAP_FILE = archive
    settings.BASEMAP_MAX_ZOOM = 8
    settings.BASEMAP_OFFLINE_BYTES = OFFLINE_BYTES
    IncidentFactory(point=Point(-66.90, 10.50, srid=4326))
    context = browser.new_context(**PHONE, locale="es-VE", base_url=live_server.url, service_workers="allow")
    try:
        page = context.new_page()
        page.add_init_script(SPY)
        ranges: list[tuple[str, str]] = []  # (phase, range) of every basemap read the page made
        phase = ["whole"]
        page.on(
            "request",
            lambda r: (
                urlparse(r.url).path == "/basemap.pmtiles"
                and r.headers.get("range")
                and ranges.append((phase[0], r.headers["range"].removeprefix("bytes=")))
            ),
        )
        page.goto("/")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now under the worker: every read goes through it
        expect(page.locator("#map")).to_have_attribute("data-live", "ok")
        wait_until(page, lambda: colours(page)["earth"] > 1000)
        # Pan and zoom to the coast by Caracas: what the phone last saw.
        phase[0] = "coast"
        page.evaluate("window.alcabalaMap.map.setView([10.55, -66.9], 11)")
        wait_until(page, lambda: "Caracas" in drawn(page)["texts"])

        # The worker keeps what fits, newest first, the header always: the whole area's tiles went first.
        seen = {r for _, r in ranges}
        coast = {r for p, r in ranges if p == "coast"}
        wait_until(page, lambda: coast <= {r for r, _ in page.evaluate(CACHED_RANGES)})
        wait_until(page, lambda: sum(size for _, size in page.evaluate(CACHED_RANGES)) <= OFFLINE_BYTES)
        cached = dict(page.evaluate(CACHED_RANGES))
        assert "0-16383" in cached and coast <= cached.keys()
        assert sum(int(r.split("-")[1]) - int(r.split("-")[0]) + 1 for r in seen) > OFFLINE_BYTES
        assert len(seen - cached.keys()) >= 2, cached

        Network(context).set(offline=True)
        page.reload()
        expect(page.locator("#map")).to_have_attribute("data-live", "offline")
        # The sea, the land and Caracas, from the phone's cache; the incident it last had, and how old it is.
        wait_until(page, lambda: colours(page)["water"] > 1000 and colours(page)["earth"] > 1000)
        wait_until(page, lambda: "Caracas" in drawn(page)["texts"])
        expect(page.locator("#map")).to_have_attribute("data-shown", "1")
        expect(page.locator("#live")).to_have_text(re.compile(r"^Sin conexión: .+ · Actualizado hace \d+ (s|min)$"))
        assert not page.locator("#tiles-note").is_visible()

        # The quick exit erases it: a seized phone no longer shows the area looked at.
        page.get_by_role("link", name="Salida rápida").click()
        expect(page.locator("h1")).to_have_text("Arepas de queso")
        wait_until(page, lambda: page.evaluate(CACHED_RANGES) == [])
        assert page.evaluate(CACHED_KEYS) == ["/exit"]
    finally:
        context.close()


# --- an OpenStreetMap extract in the Protomaps schema, made here: a highway with its name, a town with names --------
ROAD = [(-66.96, 10.49), (-66.84, 10.49)]  # lon, lat
TOWN = (-66.90, 10.46)
ROADS_BOUNDS = (-67.0, 10.4, -66.8, 10.6)
ROADS_ZOOM = 14
ROAD_WHITE = (0xFF, 0xFF, 0xFF)  # the "light" flavour's highway
PIXELS_AT = """
(points) => points.map(([lat, lon]) => {
  const pt = window.alcabalaMap.map.latLngToContainerPoint([lat, lon]);
  const frame = document.getElementById("map").getBoundingClientRect();
  const x = frame.left + pt.x, y = frame.top + pt.y;
  for (const canvas of document.querySelectorAll(".leaflet-tile-pane canvas")) {
    const r = canvas.getBoundingClientRect();
    if (x < r.left || x >= r.right || y < r.top || y >= r.bottom) continue;
    const d = canvas.getContext("2d").getImageData(
      Math.floor((x - r.left) * canvas.width / r.width), Math.floor((y - r.top) * canvas.height / r.height), 1, 1).data;
    return [d[0], d[1], d[2]];
  }
  return null;
})
"""


@pytest.fixture(scope="module")
def roads_archive(tmp_path_factory) -> Path:
    import shapely

    layers = {
        "earth": (shapely.box(*ROADS_BOUNDS), {"kind": "earth"}),
        "roads": (
            shapely.LineString(ROAD),
            {"kind": "highway", "name": "Autopista de Prueba", "name:es": "Autopista de Prueba", "min_zoom": 5},
        ),
        "places": (
            shapely.Point(TOWN),
            {
                "kind": "locality",
                "name": "Testville",
                "name:es": "Villa de Prueba",
                "name:en": "Testville",
                "population_rank": 12,
                "min_zoom": 5,
            },
        ),
    }
    edge = (-basemap.BUFFER, -basemap.BUFFER, basemap.EXTENT + basemap.BUFFER, basemap.EXTENT + basemap.BUFFER)
    tiles = []
    for zoom in range(ROADS_ZOOM + 1):
        for x, y in basemap.tiles_covering(ROADS_BOUNDS, zoom):
            content = {}
            for name, (geometry, properties) in layers.items():
                part = shapely.clip_by_rect(basemap.to_tile(geometry, zoom, x, y), *edge)
                if name == "places":
                    part = basemap.to_tile(geometry, zoom, x, y)
                    inside = 0 <= part.x < basemap.EXTENT and 0 <= part.y < basemap.EXTENT
                    part = part if inside else shapely.Point()
                if not part.is_empty:
                    content[name] = [{"geometry": part, "properties": properties}]
            tiles.append((zxy_to_tileid(zoom, x, y), basemap.encode_tile(content)))
    path = tmp_path_factory.mktemp("osm") / "osm.pmtiles"
    basemap.write_archive(
        output=path,
        tiles=tiles,
        bounds=ROADS_BOUNDS,
        center=TOWN,
        layers=("earth", "roads", "places"),
        attribution="© OpenStreetMap",
    )
    return path


def test_an_openstreetmap_archive_draws_its_roads_and_labels_in_the_page_language(
    basemap_page, roads_archive, settings
):
    settings.BASEMAP_FILE = roads_archive
    settings.BASEMAP_MAX_ZOOM = ROADS_ZOOM
    settings.BASEMAP_ATTRIBUTION = '<a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    page = basemap_page
    page.goto(f"/?z=14&lat={ROAD[0][1]}&lon={TOWN[0]}")
    expect(page.locator("#map")).to_have_attribute("data-live", "ok")
    wait_until(page, lambda: colours(page)["earth"] > 1000)
    # Along the highway the canvas is the road's colour; a little north of it, the land's.
    along = [(ROAD[0][1], lon) for lon in (-66.92, -66.915, -66.91, -66.89, -66.885, -66.88)]
    wait_until(page, lambda: sum(p == list(ROAD_WHITE) for p in page.evaluate(PIXELS_AT, along)) >= 4)
    north = page.evaluate(PIXELS_AT, [(ROAD[0][1] + 0.004, -66.91)])[0]
    assert all(abs(a - b) < 4 for a, b in zip(north, EARTH, strict=True)), north
    wait_until(page, lambda: "Autopista de Prueba" in drawn(page)["texts"])
    wait_until(page, lambda: "Villa de Prueba" in drawn(page)["texts"])  # the page is in Spanish: name:es
    assert "Testville" not in drawn(page)["texts"]
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")

    page.goto(f"/lang/en?next=/%3Fz%3D14%26lat%3D{ROAD[0][1]}%26lon%3D{TOWN[0]}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    wait_until(page, lambda: "Testville" in drawn(page)["texts"])
    assert "Villa de Prueba" not in drawn(page)["texts"]
