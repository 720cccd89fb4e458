"""Files for GIS, spreadsheets and offline navigation: CSV with WKT, the Excel variant, GPX and KML, read by GDAL
(one run per format) and by an XML parser."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import urllib.request

import pytest
from defusedxml import ElementTree as SafeET
from django.contrib.gis.geos import Point
from django.utils import timezone

from incidents.public import fields
from tests.factories import CARACAS, IncidentFactory, offset

pytestmark = pytest.mark.django_db

GPX = "{http://www.topografix.com/GPX/1/1}"
KML = "{http://www.opengis.net/kml/2.2}"
HOSTILE = '<b>Tazón & "Maiquetía"</b>\x01\x0b'  # markup, an ampersand, quotes, and characters XML cannot hold
ROUTE = {"type": "LineString", "coordinates": [[CARACAS[0] - 0.05, CARACAS[1]], [CARACAS[0] + 0.05, CARACAS[1]]]}


@pytest.fixture
def two():
    west = IncidentFactory(place=HOSTILE, note="=HYPERLINK(1)", point=Point(*offset(*CARACAS, east_m=-2000), srid=4326))
    east = IncidentFactory(kind="roadblock", place="Petare", point=Point(*offset(*CARACAS, east_m=1500), srid=4326))
    return west, east


def ogrinfo(source: str) -> str:
    if shutil.which("ogrinfo") is None:
        pytest.fail("gdal-bin (ogrinfo) is not installed")
    done = subprocess.run(["ogrinfo", "-ro", "-al", source], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    return done.stdout


def test_downloads_are_named_attachments_of_the_day(api, two):
    day = timezone.now().strftime("%Y%m%d")
    for wanted, media, extension in [
        ("csv", "text/csv", "csv"),
        ("excel", "text/csv", "csv"),
        ("gpx", "application/gpx+xml", "gpx"),
        ("kml", "kml+xml", "kml"),
    ]:
        response = api.get("/api/v1/incidents", {"format": wanted})
        assert response.status_code == 200 and media in response["Content-Type"]
        assert response["Content-Disposition"] == f'attachment; filename="alcabala-incidents-{day}.{extension}"'
    assert "Content-Disposition" not in api.get("/api/v1/incidents")  # GeoJSON stays what a page reads


def test_the_csv_carries_its_point_as_wkt_and_the_excel_variant_only_adds_a_byte_order_mark(api, two):
    plain = api.get("/api/v1/incidents", {"format": "csv"}).content
    excel = api.get("/api/v1/incidents", {"format": "excel"}).content
    assert excel == b"\xef\xbb\xbf" + plain and not plain.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(plain.decode(), newline="")))
    header = next(csv.reader(io.StringIO(plain.decode())))
    assert header == ["id", "lon", "lat", *(f.name for f in fields.FIELDS), "_WKTgeom_EPSG_4326_POINT"]
    for row in rows:
        assert row["_WKTgeom_EPSG_4326_POINT"] == f"POINT ({row['lon']} {row['lat']})"
    assert rows[0]["place"] == HOSTILE  # a CSV holds any text
    assert rows[0]["note"] == "'=HYPERLINK(1)"  # formula-safe, as every CSV (tests/api/test_csv_cells.py)


def test_gpx_and_kml_escape_user_text_and_hold_only_public_fields(api, two):
    west, _east = two
    features = {f["id"]: f for f in api.get("/api/v1/incidents").json()["features"]}
    gpx = SafeET.fromstring(api.get("/api/v1/incidents", {"format": "gpx"}).content)
    points = gpx.findall(f"{GPX}wpt")
    assert [p.findtext(f"{GPX}type") for p in points] == ["checkpoint", "roadblock"]
    first = points[0]
    assert first.findtext(f"{GPX}name") == 'Checkpoint: <b>Tazón & "Maiquetía"</b>'
    assert first.findtext(f"{GPX}time") == features[west.pk]["properties"]["last_confirmed_at"]
    assert [float(first.get("lon")), float(first.get("lat"))] == features[west.pk]["geometry"]["coordinates"]
    assert first.findtext(f"{GPX}desc").startswith("Last confirmed: ")
    kml = SafeET.fromstring(api.get("/api/v1/incidents", {"format": "kml"}).content)
    placemark = kml.find(f"{KML}Document/{KML}Placemark")
    # KML viewers read the description as HTML: the place's markup must arrive there as text.
    description = placemark.findtext(f"{KML}description")
    assert "&lt;b&gt;Tazón &amp; &quot;Maiquetía&quot;&lt;/b&gt;" in description and "<b>" not in description
    names = [d.get("name") for d in placemark.findall(f"{KML}ExtendedData/{KML}Data")]
    assert names == ["id", *(f.name for f in fields.FIELDS)]
    assert placemark.findtext(f"{KML}TimeStamp/{KML}when") == features[west.pk]["properties"]["last_confirmed_at"]


def test_waypoints_speak_the_language_asked_for_even_from_the_cached_whole_map(api, two):
    def names(language: str) -> tuple[list[str], str]:
        response = api.get("/api/v1/incidents", {"format": "gpx"}, HTTP_ACCEPT_LANGUAGE=language)
        root = SafeET.fromstring(response.content)
        return [p.findtext(f"{GPX}name") for p in root.findall(f"{GPX}wpt")], response["ETag"]

    spanish, spanish_tag = names("es")
    english, english_tag = names("en")
    assert spanish[1] == "Barricada: Petare" and english[1] == "Roadblock: Petare"
    assert spanish_tag != english_tag
    assert names("es") == (spanish, spanish_tag)


def test_the_route_check_gives_the_incidents_along_the_route_as_gpx_and_kml_in_order(api, two):
    west, east = two
    for wanted in ("gpx", "kml"):
        response = api.post(
            f"/api/v1/route-check?format={wanted}", data={"route": ROUTE}, format="json", HTTP_ACCEPT_LANGUAGE="es"
        )
        assert response.status_code == 200, response.content
        assert response["Content-Disposition"].startswith('attachment; filename="alcabala-route-')
        root = SafeET.fromstring(response.content)
        if wanted == "gpx":
            names = [p.findtext(f"{GPX}name") for p in root.findall(f"{GPX}wpt")]
            assert "A lo largo de la ruta: " in root.find(f"{GPX}wpt").findtext(f"{GPX}desc")
        else:
            names = [p.findtext(f"{KML}name") for p in root.iter(f"{KML}Placemark")]
        assert names == ['Alcabala: <b>Tazón & "Maiquetía"</b>', "Barricada: Petare"]


@pytest.mark.django_db(transaction=True)
def test_gdal_reads_the_csv_gpx_and_kml_as_points_in_wgs84_without_options(live_server, two):
    west, east = two
    base = f"{live_server.url}/api/v1/incidents"
    # GDAL's CSV driver knows a CSV by its extension, which a query string hides: the CSV: prefix names it.
    out = ogrinfo(f"CSV:/vsicurl/{base}?format=csv")
    assert "Geometry: Point" in out and 'GEOGCRS["WGS 84"' in out and "Feature Count: 2" in out
    csv_points = re.findall(r"^  POINT \((\S+) (\S+)\)$", out, re.M)
    features = {f["id"]: f["geometry"]["coordinates"] for f in _features(live_server)}
    assert [[float(x), float(y)] for x, y in csv_points] == [features[west.pk], features[east.pk]]

    out = ogrinfo(f"/vsicurl/{base}?format=gpx")
    waypoints = out.split("Layer name: waypoints")[1].split("Layer name:")[0]
    assert "Feature Count: 2" in waypoints and 'GEOGCRS["WGS 84"' in waypoints
    assert "  name (String) = Roadblock: Petare" in waypoints and "  type (String) = roadblock" in waypoints
    assert "  desc (String) = Last confirmed: " in waypoints and re.search(r"  time \(DateTime\) = 20\d\d/", waypoints)

    out = ogrinfo(f"/vsicurl/{base}?format=kml")
    assert "Feature Count: 2" in out and 'GEOGCRS["WGS 84"' in out
    assert "  Name (String) = Roadblock: Petare" in out and "  kind (String) = roadblock" in out
    kml_points = re.findall(r"^  POINT \((\S+) ([^\s)]+)", out, re.M)
    assert [[float(x), float(y)] for x, y in kml_points] == [features[west.pk], features[east.pk]]


def _features(live_server) -> list[dict]:
    with urllib.request.urlopen(f"{live_server.url}/api/v1/incidents") as response:
        return json.load(response)["features"]
