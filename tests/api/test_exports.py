"""The archive: exports of public incidents over a date range, for API keys, as GeoPackage and CSV.

The build runs here by calling the task function itself; tests/integration/test_worker.py runs one through a
real worker. GDAL (ogrinfo, and GeoDjango's reader) opens the GeoPackage.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.geos import Point

from archive import services, tasks
from archive.models import Export
from consumers.services import api_key_create
from incidents.models import Status
from tests.factories import CARACAS, IncidentFactory, offset

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.PUBLISH_POLICY = "corroborated"


@pytest.fixture
def key() -> str:
    return api_key_create(name="Newsroom")[1]


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, 7, tzinfo=UTC)


@pytest.fixture
def november():
    """Public incidents of November in several end states, and some that must stay out of its archive."""
    point = Point(*offset(*CARACAS, east_m=33, north_m=17), srid=4326)
    kept = {
        "expired": IncidentFactory(point=point, first_reported_at=at(3), status=Status.EXPIRED, place="Maiquetía"),
        "cleared": IncidentFactory(first_reported_at=at(10), status=Status.CLEARED, kind="roadblock"),
        # Stored as active, past its expiry: read as expired, as everywhere.
        "unrecorded": IncidentFactory(first_reported_at=at(20), status=Status.UNVERIFIED, note="=HYPERLINK()"),
        "verified_rejected": IncidentFactory(first_reported_at=at(25), status=Status.REJECTED, kind="militia"),
    }
    left_out = {
        "never_public": IncidentFactory(first_reported_at=at(12), reporters=1, status=Status.EXPIRED),
        "october": IncidentFactory(first_reported_at=datetime(2026, 10, 2, tzinfo=UTC), status=Status.EXPIRED),
        "december": IncidentFactory(first_reported_at=NOW, status=Status.UNVERIFIED),
    }
    return kept, left_out


def ask(api, key: str, **body):
    return api.post("/api/v1/exports", data={**NOVEMBER, "format": "gpkg", **body}, format="json", **auth(key))


def build(api, key: str, **body) -> dict:
    created = ask(api, key, **body)
    assert created.status_code == 202, created.content
    assert tasks.build_export(created.json()["id"]) == "ready"
    return api.get(created["Location"], **auth(key)).json()


def download(api, key: str, status: dict) -> bytes:
    response = api.get(status["file_url"], **auth(key))
    assert response.status_code == 200
    return b"".join(response.streaming_content), response


@time_machine.travel(NOW, tick=False)
def test_a_geopackage_holds_the_public_features_of_the_range_ended_ones_included(api, key, november, tmp_path):
    kept, left_out = november
    created = ask(api, key)
    assert created.status_code == 202
    queued = created.json()
    assert queued["state"] == "queued" and queued["progress"] == 0 and queued["file_url"] is None
    assert created["Location"].endswith(f"/api/v1/exports/{queued['id']}")
    assert queued["from"] == "2026-11-01T00:00:00Z" and queued["to"] == "2026-12-01T00:00:00Z"  # all of the 30th

    assert tasks.build_export(queued["id"]) == "ready"
    assert tasks.build_export(queued["id"]) == "ready"  # a second run builds nothing twice
    status = api.get(created["Location"], **auth(key)).json()
    assert status["state"] == "ready" and status["progress"] == 100 and status["count"] == len(kept)
    content, response = download(api, key, status)
    assert response["Content-Type"] == "application/geopackage+sqlite3"
    assert 'filename="alcabala-incidents-20261101-20261201.gpkg"' in response["Content-Disposition"]
    path = tmp_path / "got.gpkg"
    path.write_bytes(content)

    info = subprocess.run(["ogrinfo", "-ro", "-al", str(path)], capture_output=True, text=True, check=True)
    assert "ERROR" not in info.stderr and "Geometry: Point" in info.stdout
    assert f"Feature Count: {len(kept)}" in info.stdout
    assert 'ID["EPSG",4326]' in info.stdout
    for declared in ("kind: String", "first_reported_at: DateTime", "reporters: Integer", "verified: Integer(Boolean)"):
        assert declared in info.stdout
    assert "description" not in info.stdout and "device" not in info.stdout  # no report data

    layer = DataSource(str(path))[0]
    assert layer.name == "incidents" and layer.srs.srid == 4326
    got = {feature.get("id"): feature for feature in layer}
    assert set(got) == {incident.pk for incident in kept.values()}
    for incident in kept.values():
        # Exactly the public API's Feature: the same snapped point, floored times and read-time status.
        public = api.get(f"/api/v1/incidents/{incident.pk}").json()
        row = got[incident.pk]
        assert [round(c, 9) for c in row.geom.coords] == public["geometry"]["coordinates"]
        assert row.get("status") == public["properties"]["status"]
        assert row.get("place") == public["properties"]["place"]
        assert row.get("first_reported_at").strftime("%Y-%m-%dT%H:%M:%SZ") == public["properties"]["first_reported_at"]
        assert row.get("confidence") == public["properties"]["confidence"]
    assert got[kept["unrecorded"].pk].get("status") == "expired"
    assert got[kept["verified_rejected"].pk].get("status") == "rejected"
    assert got[kept["expired"].pk].get("place") == "Maiquetía"


@time_machine.travel(NOW, tick=False)
def test_a_csv_export_is_the_apis_csv_over_the_range(api, key, november):
    kept, _left_out = november
    status = build(api, key, format="csv")
    content, response = download(api, key, status)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert sorted(int(row["id"]) for row in rows) == sorted(incident.pk for incident in kept.values())
    api_header = api.get("/api/v1/incidents?format=csv").content.decode("utf-8-sig").splitlines()[0]
    assert content.decode("utf-8-sig").splitlines()[0] == api_header
    by_id = {int(row["id"]): row for row in rows}
    assert by_id[kept["unrecorded"].pk]["note"] == "'=HYPERLINK()"  # formula-safe, as the API's CSV


@time_machine.travel(NOW, tick=False)
def test_a_range_without_incidents_still_gives_a_geopackage_with_every_field(api, key, tmp_path):
    status = build(api, key, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert status["count"] == 0
    path = tmp_path / "empty.gpkg"
    path.write_bytes(download(api, key, status)[0])
    layer = DataSource(str(path))[0]
    assert len(layer) == 0 and {"kind", "status", "expires_at", "flags", "note"} <= set(layer.fields)


def test_exports_are_for_key_holders_only(api, key, settings):
    assert api.post("/api/v1/exports", data={**NOVEMBER, "format": "csv"}, format="json").status_code == 401
    refused = ask(api, "alc_not-a-key")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_key"
    created = ask(api, key)
    anonymous = api.get(created["Location"])
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token"
    assert api.get(f"{created['Location']}/file").status_code == 401


@time_machine.travel(NOW, tick=False)
def test_another_key_cannot_see_or_download_an_export(api, key, november):
    status = build(api, key)
    other = api_key_create(name="Someone else")[1]
    assert api.get(status["url"], **auth(other)).status_code == 404
    assert api.get(status["file_url"], **auth(other)).status_code == 404
    assert api.get("/api/v1/exports/not-a-uuid", **auth(key)).status_code == 404


def test_one_export_at_a_time_per_key(api, key):
    first = ask(api, key)
    assert first.status_code == 202
    again = ask(api, key, format="csv")
    assert again.status_code == 409 and first.json()["id"] in again.json()["detail"]
    # Not ready yet: the file is a 409, not an empty download.
    assert api.get(f"{first['Location']}/file", **auth(key)).status_code == 409
    assert ask(api, api_key_create(name="Another newsroom")[1]).status_code == 202


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": ""}, "format"),
        ({"format": "shp"}, "format"),
        ({"from": ""}, "from"),
        ({"to": "last month"}, "to"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "to"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "to"),
    ],
)
def test_a_bad_export_request_is_a_400_naming_the_field(api, key, settings, body, field):
    settings.EXPORT_MAX_DAYS = 366
    refused = ask(api, key, **body)
    assert refused.status_code == 400
    assert field in refused.json()["fields"] and refused.json()["detail"]
    assert not Export.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_an_export_and_its_file_are_purged_after_retention(api, key, november, settings):
    settings.EXPORT_RETENTION_HOURS = 24
    status = build(api, key)
    path = services.file_path(Export.objects.get())
    assert path.exists()
    assert services.exports_purge(now=NOW + timedelta(hours=23)) == 0
    assert services.exports_purge(now=NOW + timedelta(hours=25)) == 1
    assert not path.exists() and not Export.objects.exists()
    assert api.get(status["url"], **auth(key)).status_code == 404


def test_an_export_lost_by_the_broker_is_failed_so_the_key_may_ask_again(api, key):
    first = ask(api, key)
    assert services.exports_purge(now=datetime.now(UTC) + timedelta(hours=2)) == 0
    assert api.get(first["Location"], **auth(key)).json()["state"] == "failed"
    assert ask(api, key).status_code == 202


@time_machine.travel(NOW, tick=False)
def test_a_build_reports_its_progress_batch_by_batch(api, key, monkeypatch):
    from archive import conf, writers

    monkeypatch.setattr(conf, "BATCH", 2)
    for day in range(1, 6):
        IncidentFactory(first_reported_at=at(day), status=Status.EXPIRED)
    seen = []
    add = writers.CsvWriter.add

    def add_and_look(self, body):
        seen.append(Export.objects.get().progress)
        add(self, body)

    monkeypatch.setattr(writers.CsvWriter, "add", add_and_look)
    status = build(api, key, format="csv")
    assert seen == [0, 38, 76] and status["progress"] == 100 and status["count"] == 5


def test_the_purge_also_removes_old_files_no_export_names(api, key, settings):
    directory = settings.EXPORT_DIR
    directory.mkdir(parents=True)
    stray, work, fresh = directory / "deleted-key.gpkg", directory / "export-killed", directory / "new.csv"
    stray.write_text("x")
    work.mkdir()
    fresh.write_text("x")
    old = (datetime.now(UTC) - timedelta(days=10)).timestamp()
    for path in (stray, work):
        os.utime(path, (old, old))
    services.exports_purge()
    assert not stray.exists() and not work.exists() and fresh.exists()
