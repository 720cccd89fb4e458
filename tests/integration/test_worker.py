"""The report flow through real processes: a Celery worker and beat against a private Redis."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from incidents import conf
from incidents.models import Incident, Report
from tests.conftest import wait_until
from tests.factories import CARACAS, IncidentFactory, address, offset

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# For beat (the intervals) and for the worker (the sweeper's minimum age), so tests wait seconds, not minutes.
FAST_BEAT = {"SWEEP_INTERVAL_S": "1", "SWEEP_MIN_AGE_S": "1", "EXPIRE_INTERVAL_S": "1"}


def post_report(api: APIClient, lon: float, lat: float, device: str, kind: str = "checkpoint", ip: str = "127.0.0.1"):
    body = {
        "client_id": str(uuid.uuid4()),
        "kind": kind,
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "device": device,
    }
    return api.post("/api/v1/reports", data=json.dumps(body), content_type="application/json", REMOTE_ADDR=ip)


def report_state(report_id: str) -> str:
    return Report.objects.get(pk=report_id).state


def test_reports_become_a_public_incident_through_a_running_worker(start_worker):
    start_worker()
    api = APIClient()
    first = post_report(api, *CARACAS, device="phone-1", ip=address(1)).json()
    wait_until(lambda: report_state(first["id"]) == "processed")
    assert api.get("/api/v1/incidents").json()["features"] == []  # one reporter is not public yet
    # A second phone on the same network is no second source.
    same = post_report(api, *offset(*CARACAS, east_m=40), device="phone-1b", ip=address(1)).json()
    wait_until(lambda: report_state(same["id"]) == "processed")
    assert api.get("/api/v1/incidents").json()["features"] == []

    second = post_report(api, *offset(*CARACAS, east_m=80), device="phone-2", ip=address(2)).json()
    wait_until(lambda: report_state(second["id"]) == "processed")
    features = api.get("/api/v1/incidents").json()["features"]
    assert len(features) == 1
    assert features[0]["properties"]["reporters"] == 3
    assert features[0]["properties"]["sources"] == 2
    assert api.get(first["status_url"]).json()["incident"] == features[0]["id"]


def test_a_report_sent_while_redis_is_down_is_accepted_and_processed_once_redis_is_back(
    start_worker, start_beat, redis_server
):
    start_worker(**FAST_BEAT)
    api = APIClient()
    redis_server.stop()
    try:
        started = time.monotonic()
        response = post_report(api, *CARACAS, device="phone-1")
        elapsed = time.monotonic() - started
        assert response.status_code == 201
        assert elapsed < 2, f"the request took {elapsed:.1f} s with Redis down"
        report_id = response.json()["id"]
        time.sleep(1.5)
        assert report_state(report_id) == "received"
    finally:
        redis_server.start()
    start_beat(**FAST_BEAT)
    wait_until(lambda: report_state(report_id) == "processed", timeout=60)
    assert Incident.objects.count() == 1


class MergeLock:
    """Holds the lock that report processing takes, from outside the worker, so that a task blocks
    in the middle of its transaction."""

    def __init__(self, kind: str):
        self.kind = kind
        self.handle = None

    def acquire(self) -> None:
        settings = connection.settings_dict
        if connection.vendor == "postgresql":
            self.handle = psycopg.connect(
                dbname=settings["NAME"],
                user=settings.get("USER") or "postgres",
                password=settings.get("PASSWORD") or None,
                host=settings.get("HOST") or "127.0.0.1",
                port=settings.get("PORT") or 5432,
                autocommit=True,
            )
            self.handle.execute("SELECT pg_advisory_lock(%s, %s)", [0x414C, conf.KINDS.index(self.kind)])
        else:
            self.handle = sqlite3.connect(settings["NAME"], isolation_level=None)
            self.handle.execute("BEGIN IMMEDIATE")

    def someone_waits(self) -> bool:
        if connection.vendor == "postgresql":
            row = self.handle.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            return row[0] > 0
        time.sleep(2)  # SQLite has no lock table to look at; the worker is blocked on BEGIN IMMEDIATE by now
        return True

    def release(self) -> None:
        if self.handle is None:
            return
        if connection.vendor == "postgresql":
            self.handle.execute("SELECT pg_advisory_unlock_all()")
        else:
            self.handle.execute("ROLLBACK")
        self.handle.close()
        self.handle = None


def test_a_worker_killed_mid_task_leaves_the_report_to_be_processed_exactly_once(start_worker, start_beat):
    api = APIClient()
    report_id = post_report(api, *CARACAS, device="phone-1").json()["id"]
    lock = MergeLock("checkpoint")
    lock.acquire()
    try:
        worker = start_worker()
        worker.wait_for_log("incidents.process_report")
        wait_until(lock.someone_waits, timeout=30)
        worker.kill()
    finally:
        lock.release()
    assert report_state(report_id) == "received"

    start_worker(BROKER_VISIBILITY_TIMEOUT_S="10", **FAST_BEAT)
    start_beat(**FAST_BEAT)
    wait_until(lambda: report_state(report_id) == "processed", timeout=60)
    time.sleep(3)  # give a redelivered or re-swept duplicate the chance to run
    incident = Incident.objects.get()
    assert incident.reporters == 1
    assert list(incident.reports.values_list("pk", flat=True)) == [uuid.UUID(report_id)]


def test_beat_records_the_expiry_that_reads_already_show(start_worker, start_beat):
    api = APIClient()
    now = timezone.now()
    incident = IncidentFactory(
        kind="militia",
        first_reported_at=now - timedelta(hours=3),
        last_confirmed_at=now - timedelta(hours=3),
        expires_at=now - timedelta(hours=1),
        updated_at=now - timedelta(hours=3),
    )
    assert api.get("/api/v1/incidents").json()["features"] == []
    start_worker()
    start_beat(**FAST_BEAT)
    wait_until(lambda: Incident.objects.get(pk=incident.pk).status == "expired", timeout=60)
    since = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    features = api.get(f"/api/v1/incidents?updated_since={since}").json()["features"]
    assert [(f["id"], f["properties"]["status"]) for f in features] == [(incident.pk, "expired")]


def test_a_worker_names_the_place_of_an_incident_a_moderator_moved(start_worker):
    from django.contrib.auth.models import Group, User
    from django.contrib.gis.geos import Point

    from moderation import services as moderation_services

    moderator = User.objects.create_user("mod", password="a long passphrase 1")
    moderator.groups.add(Group.objects.get_or_create(name="moderators")[0])
    incident = IncidentFactory(point=Point(*CARACAS, srid=4326), place="Caracas, Distrito Capital")
    start_worker()
    moderation_services.incident_move(
        incident_id=incident.pk, moderator=moderator, point=Point(-67.595, 10.247, srid=4326)
    )
    wait_until(lambda: Incident.objects.get(pk=incident.pk).place == "Maracay, Aragua")


def test_an_archive_export_is_built_by_a_running_worker_and_gdal_reads_it(start_worker, tmp_path, settings):
    from django.contrib.gis.gdal import DataSource

    from consumers.services import api_key_create

    # The worker writes under its VAR_DIR; this process reads the same directory.
    settings.EXPORT_DIR = tmp_path / "var" / "exports"
    start_worker(VAR_DIR=str(tmp_path / "var"))
    now = timezone.now()
    ended = IncidentFactory(
        first_reported_at=now - timedelta(days=2), status="cleared", expires_at=now - timedelta(days=1)
    )
    live = IncidentFactory(first_reported_at=now - timedelta(hours=1))
    _, key = api_key_create(name="Newsroom")
    api = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    day = (now - timedelta(days=3)).strftime("%Y-%m-%d")
    created = api.post(
        "/api/v1/exports", data={"from": day, "to": now.strftime("%Y-%m-%d"), "format": "gpkg"}, format="json"
    )
    assert created.status_code == 202, created.content
    status = wait_until(lambda: (body := api.get(created["Location"]).json())["state"] == "ready" and body)
    assert status["progress"] == 100 and status["count"] == 2
    download = api.get(status["file_url"])
    path = tmp_path / "archive.gpkg"
    path.write_bytes(b"".join(download.streaming_content))
    assert {feature.get("id"): feature.get("status") for feature in DataSource(str(path))[0]} == {
        ended.pk: "cleared",
        live.pk: live.status,
    }
