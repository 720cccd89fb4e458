"""OGC API – Features at /ogc/, read by GDAL's OAPIF driver, OWSLib and QGIS (when installed), and by hand.

Filters, sorting, datetime, extents and the definition in detail: test_ogc_filters.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CARACAS, IncidentFactory, offset

pytestmark = pytest.mark.django_db


KINDS = ("checkpoint", "roadblock", "militia", "hazard")


def spread(n: int, **extra):
    """n incidents on a grid around Caracas, the kinds in turn (7 checkpoints of 25)."""
    made = []
    for i in range(n):
        lon, lat = offset(*CARACAS, east_m=400 * (i % 50), north_m=400 * (i // 50))
        note = "" if i % 3 else f"nota {i}"
        fields = {"kind": KINDS[i % 4], **extra}
        made.append(IncidentFactory(point=f"POINT({lon} {lat})", place=f"Sitio {i} — ñ", note=note, **fields))
    return made


def test_landing_conformance_and_collection_describe_the_service(api):
    landing = api.get("/ogc/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    conformance = api.get("/ogc/conformance").json()["conformsTo"]
    for part in ("core", "geojson", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{part}" in conformance
    collections = api.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in collections] == ["incidents"]
    collection = api.get("/ogc/collections/incidents").json()
    assert collection["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    assert collection["extent"]["spatial"]["bbox"] == [[-73.4, 0.6, -59.7, 12.3]]  # no incidents yet


def test_items_page_with_next_and_prev_links_and_numbers(api):
    made = spread(7)
    first = api.get("/ogc/collections/incidents/items", {"limit": 3})
    assert first["Content-Type"] == "application/geo+json"
    body = first.json()
    assert body["numberMatched"] == 7 and body["numberReturned"] == 3
    assert [f["id"] for f in body["features"]] == [i.pk for i in made[:3]]
    next_link = next(link["href"] for link in body["links"] if link["rel"] == "next")
    second = api.get(next_link).json()
    assert [f["id"] for f in second["features"]] == [i.pk for i in made[3:6]]
    prev_link = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    assert [f["id"] for f in api.get(prev_link).json()["features"]] == [i.pk for i in made[:3]]
    assert all(link["rel"] != "prev" for link in body["links"])


def test_items_filter_by_bbox_and_datetime(api):
    now = timezone.now()
    old = IncidentFactory(
        first_reported_at=now - timedelta(hours=30), expires_at=now - timedelta(hours=24), status="expired"
    )
    live = IncidentFactory(point=f"POINT({offset(*CARACAS, east_m=3000)[0]} {CARACAS[1]})")

    def ids(**query):
        response = api.get("/ogc/collections/incidents/items", query)
        assert response.status_code == 200, response.content
        return [f["id"] for f in response.json()["features"]]

    assert ids() == [live.pk]
    instant = (now - timedelta(hours=27)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(datetime=instant) == [old.pk]
    assert ids(datetime=f"../{(now + timedelta(minutes=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}") == [old.pk, live.pk]
    assert ids(datetime=f"{(now - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}/..") == [live.pk]
    lon, lat = offset(*CARACAS, east_m=3000)
    assert ids(bbox=f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}") == [live.pk]


@pytest.mark.parametrize(
    "query",
    [
        {"bbox": "1,2,3"},
        {"datetime": "yesterday"},
        {"datetime": "../.."},
        {"limit": "0"},
        {"offset": "-1"},
        {"f": "xml"},
    ],
)
def test_bad_items_queries_are_a_clear_400(api, query):
    response = api.get("/ogc/collections/incidents/items", query)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail", "fields"}


def test_one_item_and_unknown_ones(api):
    incident = IncidentFactory()
    item = api.get(f"/ogc/collections/incidents/items/{incident.pk}").json()
    listed = api.get("/api/v1/incidents").json()["features"][0]
    assert {k: item[k] for k in ("type", "id", "geometry", "properties")} == listed
    for bad in ("999999", "abc"):
        response = api.get(f"/ogc/collections/incidents/items/{bad}")
        assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_html_views_for_people(api):
    IncidentFactory(place="<script>alert(1)</script>")
    for path in ("/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/incidents"):
        response = api.get(path, {"f": "html"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = api.get("/ogc/collections/incidents/items", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert page["Content-Type"].startswith("text/html")
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content and b"<script>" not in page.content


def api_features(live_server) -> dict:
    import urllib.request

    features, url = {}, f"{live_server.url}/api/v1/incidents?limit=1000"
    while url:
        with urllib.request.urlopen(url) as response:
            body = json.load(response)
        features.update({f["id"]: f for f in body["features"]})
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return features


@pytest.mark.django_db(transaction=True)
def test_gdal_reads_the_same_features_as_the_api(live_server):
    if shutil.which("ogrinfo") is None:
        pytest.fail("gdal-bin (ogrinfo) is not installed")
    spread(25)
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-oo", "PAGE_SIZE=10", f"OAPIF:{live_server.url}/ogc/", "incidents"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    expected = api_features(live_server)
    blocks = result.stdout.split("OGRFeature(incidents):")[1:]
    assert len(blocks) == len(expected) == 25
    seen = {}
    for block in blocks:
        lines = block.splitlines()
        fields = {"fid": int(lines[0].strip())}
        for line in lines[1:]:
            line = line.lstrip()
            match = re.fullmatch(r"(\w+) \([^)]*\) =(?: (.*))?", line)
            if line.startswith("POINT ("):
                fields["point"] = [float(v) for v in line.strip()[len("POINT (") : -1].split()]
            elif match:
                fields[match.group(1)] = match.group(2) or ""
        seen[fields["fid"]] = fields
    assert set(seen) == set(expected)
    for pk, fields in seen.items():
        want = expected[pk]
        assert fields["point"] == want["geometry"]["coordinates"]
        properties = want["properties"]
        for name in ("kind", "status", "place", "note"):
            assert fields[name] == properties[name]
        for name in ("reporters", "still_there", "gone"):
            assert int(fields[name]) == properties[name]
        for name in ("first_reported_at", "expires_at", "updated_at"):
            # GDAL prints 2026/11/27 04:35:00+00 for 2026-11-27T04:35:00Z
            assert fields[name] == properties[name].replace("-", "/").replace("T", " ").replace("Z", "+00")

    # A -where on a queryable goes to the server as ?kind=checkpoint (GDAL reads the parameter from /ogc/api),
    # with nothing on stderr: no "Unexpected Content-Type", no HTTP error.
    checkpoints = sorted(pk for pk, f in expected.items() if f["properties"]["kind"] == "checkpoint")
    assert len(checkpoints) == 7
    for where in ("kind = 'checkpoint'", "kind = 'checkpoint' AND reporters >= 1"):
        result = subprocess.run(
            ["ogrinfo", "-ro", "-al", "-q", "-where", where, f"OAPIF:{live_server.url}/ogc/", "incidents"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0 and result.stderr == "", result.stderr
        found = sorted(int(block.split()[0]) for block in result.stdout.split("OGRFeature(incidents):")[1:])
        assert found == checkpoints, where
    debug = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", "--debug", "on", "-where", "kind = 'checkpoint'"]
        + [f"OAPIF:{live_server.url}/ogc/", "incidents"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ERROR" not in debug.stderr and "&kind=checkpoint" in debug.stderr, debug.stderr


@pytest.mark.django_db(transaction=True)
def test_owslib_reads_the_same_features_as_the_api(live_server):
    from owslib.ogcapi.features import Features

    spread(12)
    service = Features(f"{live_server.url}/ogc/")
    assert {"service-desc", "service-doc", "conformance", "data"} <= {link["rel"] for link in service.links}
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables" in service.conformance()["conformsTo"]
    assert "incidents" in [c["id"] for c in service.collections()["collections"]]
    items = service.collection_items("incidents", limit=100)
    expected = api_features(live_server)
    assert items["numberMatched"] == 12
    assert {f["id"]: {k: f[k] for k in ("type", "id", "geometry", "properties")} for f in items["features"]} == expected

    queryables = service.collection_queryables("incidents")
    assert queryables["properties"]["kind"]["enum"] == list(KINDS)
    by_kind = service.collection_items("incidents", kind="roadblock", limit=100)
    assert sorted(f["id"] for f in by_kind["features"]) == sorted(
        pk for pk, f in expected.items() if f["properties"]["kind"] == "roadblock"
    )
    cql = service.collection_items(
        "incidents", filter="kind <> 'hazard' AND NOT kind = 'militia'", sortby=("kind", "desc"), limit=100
    )
    assert [f["properties"]["kind"] for f in cql["features"]] == ["roadblock"] * 3 + ["checkpoint"] * 3
    definition = service.api()  # follows the service-desc link and reads it as JSON
    assert "/collections/incidents/queryables" in definition["paths"]


@pytest.mark.django_db(transaction=True)
def test_qgis_reads_the_collection_and_a_filtered_subset(live_server):
    try:
        from qgis.core import QgsApplication, QgsVectorLayer
    except ImportError:
        pytest.skip(
            "QGIS is not installed: Debian's python3-qgis needs about 1 GB with its Qt dependencies (too much for "
            "this machine) and is built for Debian's /usr/bin/python3, not this virtualenv."
        )
    spread(8)
    app = QgsApplication([], False)
    app.initQgis()
    try:
        uri = f"url='{live_server.url}/ogc/' typename='incidents' restrictToRequestBBOX='0'"
        layer = QgsVectorLayer(uri, "incidents", "OAPIF")
        assert layer.isValid()
        assert layer.featureCount() == 8
        assert layer.setSubsetString("kind = 'checkpoint'")
        assert sorted(f["kind"] for f in layer.getFeatures()) == ["checkpoint"] * 2
    finally:
        app.exitQgis()


def test_the_html_view_speaks_spanish_and_english(api):
    IncidentFactory()
    spanish = api.get("/ogc/collections/incidents/items", {"f": "html"}, HTTP_ACCEPT_LANGUAGE="es")
    english = api.get("/ogc/collections/incidents/items", {"f": "html"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "1 de 1 incidentes." in spanish.content.decode()
    assert "1 of 1 incidents." in english.content.decode()
    assert spanish["ETag"] != english["ETag"]
