"""The embedded basemap: what the build writes (layers, bounds, towns per zoom) and how the archive is served."""

from __future__ import annotations

import gzip
from pathlib import Path

import mapbox_vector_tile
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from pmtiles.reader import MmapSource, Reader, all_tiles
from shapely.geometry import box

from geo import basemap

pytestmark = pytest.mark.backend_independent  # builds and serves a file; no row is read

CARACAS = (-66.9036, 10.4880)
# A small area around Caracas: the coast, the sea, and no border (Colombia is far).
AREA = (-67.4, 10.0, -66.4, 10.8)


@pytest.fixture(autouse=True)
def no_language_left_active():
    """A request leaves its language active in this thread (LocaleMiddleware); later tests expect the one before."""
    before = translation.get_language()
    yield
    if before is None:
        translation.deactivate_all()
    else:
        translation.activate(before)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("basemap") / "basemap.pmtiles"
    towns = [
        basemap.Town("Caracas", 3_000_000, *CARACAS),
        basemap.Town("Petare", 370_000, -66.8072, 10.4764),
        basemap.Town("Hamlet", 600, -66.95, 10.3),
    ]
    basemap.build(output=path, area_extent=AREA, source=Path(settings.BASEMAP_SOURCE), towns=towns)
    return path


def _tiles(path: Path) -> dict[tuple[int, int, int], dict]:
    with path.open("rb") as handle:
        get = MmapSource(handle)
        return {zxy: mapbox_vector_tile.decode(gzip.decompress(data)) for zxy, data in all_tiles(get)}


def test_the_archive_covers_the_area_with_a_margin_in_vector_tiles(archive):
    with archive.open("rb") as handle:
        reader = Reader(MmapSource(handle))
        header, metadata = reader.header(), reader.metadata()
    assert header["tile_type"].name == "MVT" and header["tile_compression"].name == "GZIP"
    assert (header["min_zoom"], header["max_zoom"]) == (0, basemap.MAX_ZOOM)
    west, south, east, north = (header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7"))
    assert west < AREA[0] - 0.4 and south < AREA[1] - 0.3 and east > AREA[2] + 0.4 and north > AREA[3] + 0.3
    assert [layer["id"] for layer in metadata["vector_layers"]] == list(basemap.LAYERS)
    assert "Natural Earth" in metadata["attribution"] and "GeoNames" in metadata["attribution"]


def test_the_coast_tile_has_land_and_sea_and_caracas_is_labelled_from_its_zoom(archive):
    tiles = _tiles(archive)
    z10 = tiles[(10, *basemap.tile_of(*CARACAS, 10))]
    assert z10["earth"]["features"] and z10["earth"]["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    names = {f["properties"]["name"] for f in z10["places"]["features"]}
    assert "Caracas" in names
    coast = tiles[(8, *basemap.tile_of(*CARACAS, 8))]
    assert coast["earth"]["features"] and coast["water"]["features"]
    # A town appears from the zoom its population earns: Caracas at 4, Petare at 5, a hamlet only at the last.
    z4 = tiles[(4, *basemap.tile_of(*CARACAS, 4))]
    assert {f["properties"]["name"] for f in z4["places"]["features"]} == {"Caracas"}
    z5 = tiles[(5, *basemap.tile_of(*CARACAS, 5))]
    assert "Petare" in {f["properties"]["name"] for f in z5["places"]["features"]}
    hamlet_at = {
        z
        for (z, _x, _y), t in tiles.items()
        for f in t.get("places", {}).get("features", [])
        if f["properties"]["name"] == "Hamlet"
    }
    assert hamlet_at == {basemap.MAX_ZOOM}


def test_country_borders_come_from_arcs_shared_by_two_countries(tmp_path):
    path = tmp_path / "border.pmtiles"
    # Cúcuta and San Antonio del Táchira: the border between Colombia and Venezuela runs through this box.
    basemap.build(output=path, area_extent=(-72.6, 7.7, -72.3, 8.0), source=Path(settings.BASEMAP_SOURCE), towns=[])
    tiles = _tiles(path)
    lines = tiles[(8, *basemap.tile_of(-72.45, 7.85, 8))]["boundaries"]["features"]
    assert lines and lines[0]["properties"] == {"kind": "country", "kind_detail": 2}
    assert lines[0]["geometry"]["type"] in ("LineString", "MultiLineString")


def test_the_command_builds_the_deployment_areas_archive_once(tmp_path, settings):
    settings.DEPLOYMENT_AREA = "-67.2,10.3,-66.6,10.7"
    target = tmp_path / "area.pmtiles"
    settings.BASEMAP_FILE = target
    call_command("build_basemap", "--if-missing")
    built = target.stat().st_mtime_ns
    names = {f["properties"]["name"] for t in _tiles(target).values() for f in t.get("places", {}).get("features", [])}
    assert {"Caracas", "Petare"} <= names
    call_command("build_basemap", "--if-missing")
    assert target.stat().st_mtime_ns == built
    call_command("build_basemap", "--if-stale")
    call_command("build_basemap", "--check")  # returns: nothing to build
    assert target.stat().st_mtime_ns == built


def test_a_change_of_area_rebuilds_the_archive_but_never_an_extract_put_there(tmp_path, settings, capsys):
    settings.DEPLOYMENT_AREA = "-67.2,10.3,-66.6,10.7"
    target = tmp_path / "area.pmtiles"
    settings.BASEMAP_FILE = target
    with pytest.raises(SystemExit) as missing:
        call_command("build_basemap", "--check")
    assert missing.value.code == 1 and "does not exist" in capsys.readouterr().err
    call_command("build_basemap", "--if-stale")
    settings.DEPLOYMENT_AREA = "-64.3,10.1,-63.7,10.7"  # Cumaná's coast instead of Caracas's
    with pytest.raises(SystemExit):
        call_command("build_basemap", "--check")
    assert "was built for the area [-67.2, 10.3, -66.6, 10.7]" in capsys.readouterr().err
    call_command("build_basemap", "--if-stale")
    names = {f["properties"]["name"] for t in _tiles(target).values() for f in t.get("places", {}).get("features", [])}
    assert "Cumaná" in names and "Caracas" not in names
    call_command("build_basemap", "--check")

    extract = tmp_path / "osm.pmtiles"  # an archive made elsewhere: no area of ours in its metadata
    tile = basemap.encode_tile({"earth": [{"geometry": basemap.to_tile(box(*AREA), 0, 0, 0), "properties": {}}]})
    basemap.write_archive(output=extract, tiles=[(0, tile)], bounds=AREA, center=CARACAS, name="OSM extract")
    settings.BASEMAP_FILE = extract
    before = extract.read_bytes()
    call_command("build_basemap", "--check")
    call_command("build_basemap", "--if-stale")
    assert extract.read_bytes() == before


def test_the_command_prints_the_extract_of_the_area_from_a_protomaps_build(tmp_path, settings):
    from io import StringIO

    settings.DEPLOYMENT_AREA = "-67.2,10.3,-66.6,10.7"
    settings.BASEMAP_FILE = tmp_path / "basemap.pmtiles"
    out = StringIO()
    call_command("build_basemap", "--osm-command", stdout=out)
    assert out.getvalue().split() == [
        "pmtiles",
        "extract",
        "https://build.protomaps.com/YYYYMMDD.pmtiles",
        str(tmp_path / "osm.pmtiles"),
        "--bbox=-67.5,10.1,-66.3,10.9",  # the area and half its size each side: the map's panning limit
        "--maxzoom=15",
    ]
    assert not settings.BASEMAP_FILE.exists()


def test_an_openstreetmap_archive_without_its_credit_is_flagged_at_start(tmp_path, settings):
    from django.core.checks import run_checks

    path = tmp_path / "osm.pmtiles"
    tile = basemap.encode_tile({"earth": [{"geometry": basemap.to_tile(box(*AREA), 0, 0, 0), "properties": {}}]})
    basemap.write_archive(
        output=path, tiles=[(0, tile)], bounds=AREA, center=CARACAS, attribution="© OpenStreetMap contributors"
    )
    settings.BASEMAP_FILE = path
    settings.BASEMAP_ATTRIBUTION = basemap.ATTRIBUTION  # Natural Earth and GeoNames only

    def ours():
        return [w.id for w in run_checks() if w.id.startswith("geo.")]

    assert ours() == ["geo.W001"]
    settings.BASEMAP_ATTRIBUTION = '<a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    assert ours() == []
    settings.BASEMAP_FILE = tmp_path / "missing.pmtiles"
    settings.BASEMAP_ATTRIBUTION = basemap.ATTRIBUTION
    assert ours() == []


@pytest.fixture
def served(archive, settings):
    settings.BASEMAP_FILE = archive
    return archive.read_bytes()


def test_the_archive_is_served_in_ranges_with_caching_headers(client, served):
    response = client.get("/basemap.pmtiles", HTTP_RANGE="bytes=0-126")
    assert response.status_code == 206
    assert response.content == served[:127]
    assert response["Content-Range"] == f"bytes 0-126/{len(served)}"
    assert response["Accept-Ranges"] == "bytes" and "max-age" in response["Cache-Control"]
    assert client.get("/basemap.pmtiles", HTTP_RANGE="bytes=-10").content == served[-10:]
    whole = client.get("/basemap.pmtiles")
    assert whole.status_code == 200 and whole.content == served
    assert client.get("/basemap.pmtiles", HTTP_IF_NONE_MATCH=whole["ETag"]).status_code == 304
    assert client.get("/basemap.pmtiles", HTTP_RANGE=f"bytes={len(served)}-").status_code == 416


def test_without_an_archive_the_basemap_is_not_found(client, settings, tmp_path):
    settings.BASEMAP_FILE = tmp_path / "none.pmtiles"
    assert client.get("/basemap.pmtiles").status_code == 404


@pytest.mark.django_db
def test_by_default_the_map_page_uses_our_basemap_and_its_policy_allows_only_our_origin(client):
    response = client.get("/")
    page = response.content.decode()
    assert 'data-basemap="/basemap.pmtiles"' in page and "protomaps-leaflet" in page
    assert 'data-tiles=""' in page
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip())
    assert policy["img-src"] == "'self' data: blob:"
    assert policy["connect-src"] == "'self'"
    assert "http" not in response["Content-Security-Policy"]
