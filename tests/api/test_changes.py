"""The changes feed and the ETags: what a polling map relies on."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import redis
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.redis import get_redis
from incidents import mapversion, services
from incidents.models import Counter, Incident, Status
from tests.factories import CARACAS, IncidentFactory, offset

pytestmark = pytest.mark.django_db


def bump(incident: Incident, **changes) -> Incident:
    """A public change as the services make it: a new version from the counter row, after commit in Redis."""
    with transaction.atomic():
        for name, value in changes.items():
            setattr(incident, name, value)
        incident.updated_at = timezone.now()
        incident.version = services.next_versions()
        incident.save()
    return incident


def changes(api, since=None, **extra):
    query = {"since": since} if since else {}
    query.update(extra)
    response = api.get("/api/v1/incidents/changes", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_changes_since_a_cursor_bring_updates_as_features_and_ends_as_tombstones(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        a, b, c = (bump(IncidentFactory(point=f"POINT({lon} {lat})")) for lon, lat in (
            offset(*CARACAS, east_m=0), offset(*CARACAS, east_m=2000), offset(*CARACAS, east_m=4000)))  # fmt: skip
    first = changes(api)
    assert [f["id"] for f in first["features"]] == [a.pk, b.pk, c.pk]
    assert first["tombstones"] == [] and first["more"] is False
    assert first["features"][0]["properties"]["kind"] == "checkpoint"
    with django_capture_on_commit_callbacks(execute=True):
        bump(b, status=Status.CLEARED)
        bump(a, note="Sigue ahí")
    second = changes(api, first["next"])
    assert [f["id"] for f in second["features"]] == [a.pk]
    assert second["features"][0]["properties"]["note"] == "Sigue ahí"
    assert [t["id"] for t in second["tombstones"]] == [b.pk]
    assert set(second["tombstones"][0]) == {"id", "status", "updated_at"}
    assert second["tombstones"][0]["status"] == "cleared"
    third = changes(api, second["next"])
    assert third["features"] == [] and third["tombstones"] == [] and third["next"] == second["next"]


def test_an_incident_that_stops_being_public_becomes_a_tombstone(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = bump(IncidentFactory(reporters=2))
    cursor = changes(api)["next"]
    with django_capture_on_commit_callbacks(execute=True):
        bump(incident, reporters=1, sources=1)  # below the corroboration threshold: no longer public
    body = changes(api, cursor)
    assert body["features"] == []
    assert body["tombstones"] == [
        {"id": incident.pk, "status": "unpublished", "updated_at": body["tombstones"][0]["updated_at"]}
    ]


def test_under_the_open_policy_one_reporter_is_enough_for_the_feed(api, settings, django_capture_on_commit_callbacks):
    settings.PUBLISH_POLICY = "open"
    with django_capture_on_commit_callbacks(execute=True):
        incident = bump(IncidentFactory(reporters=1))
    first = changes(api)
    assert [f["id"] for f in first["features"]] == [incident.pk]
    with django_capture_on_commit_callbacks(execute=True):
        bump(incident, note="Sigue ahí")
    assert [f["id"] for f in changes(api, first["next"])["features"]] == [incident.pk]


def test_changes_page_by_limit_with_a_next_link(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        made = [bump(IncidentFactory(point=f"POINT({offset(*CARACAS, east_m=500 * i)[0]} {CARACAS[1]})"))
                for i in range(5)]  # fmt: skip
    seen, cursor = [], None
    for _ in range(10):
        body = changes(api, cursor, limit=2)
        seen += [f["id"] for f in body["features"]]
        cursor = body["next"]
        if not body["more"]:
            break
    assert seen == [i.pk for i in made]


@pytest.mark.parametrize("since", ["garbage", "aWQ6MTI", "djotMQ", "v:1"])
def test_a_cursor_the_server_did_not_give_is_a_clear_400(api, since):
    response = api.get("/api/v1/incidents/changes", {"since": since})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_since"


def test_an_unchanged_poll_is_304_without_any_sql(api, django_assert_num_queries, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bump(IncidentFactory())
    for path in ("/api/v1/incidents/changes", "/api/v1/incidents", "/api/v1/incidents?kind=checkpoint&limit=5"):
        first = api.get(path)
        assert first.status_code == 200
        tag = first["ETag"]
        with django_assert_num_queries(0):
            again = api.get(path, HTTP_IF_NONE_MATCH=tag)
        assert again.status_code == 304
        assert again["ETag"] == tag
        assert again.content == b""


def test_a_public_change_changes_the_etag(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = bump(IncidentFactory())
    tag = api.get("/api/v1/incidents")["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        bump(incident, note="moved")
    response = api.get("/api/v1/incidents", HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 200
    assert response["ETag"] != tag
    assert response.json()["features"][0]["properties"]["note"] == "moved"


def test_another_query_has_another_etag(api):
    IncidentFactory()
    assert api.get("/api/v1/incidents")["ETag"] != api.get("/api/v1/incidents?kind=hazard")["ETag"]
    assert api.get("/api/v1/incidents")["ETag"] != api.get("/api/v1/incidents?format=csv")["ETag"]


def test_the_map_version_in_redis_never_moves_back(redis_server):
    mapversion.publish(7)
    mapversion.publish(5)
    assert mapversion.current() == 7


def test_a_bump_that_times_out_makes_the_next_read_ask_the_database(
    redis_server, monkeypatch, django_capture_on_commit_callbacks
):
    before = mapversion.current()  # cached in Redis now
    client = get_redis()

    def times_out(*args, **kwargs):
        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(client, "eval", times_out)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.next_versions()
    monkeypatch.undo()
    assert version > before
    assert mapversion.current() == version


def test_without_redis_the_map_version_comes_from_the_database(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        version = services.next_versions()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert mapversion.current() == version


def test_the_expiry_job_bumps_the_map_version(redis_server, django_capture_on_commit_callbacks):
    IncidentFactory(expires_at=timezone.now() - timedelta(minutes=1))
    before = mapversion.current()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.incidents_expire() == 1
    assert mapversion.current() > before


@pytest.mark.django_db(transaction=True)
def test_the_feed_misses_nothing_when_writers_commit_out_of_order(api):
    """Writers that take versions and commit at different speeds, a reader polling all along: the reader's
    cursor sees every change exactly once in the end, and never a version before a smaller one commits."""
    if connection.vendor != "postgresql":
        pytest.skip("SpatiaLite serialises whole write transactions; the race needs concurrent writers")
    incidents = [IncidentFactory(point=f"POINT({offset(*CARACAS, east_m=300 * i)[0]} {CARACAS[1]})") for i in range(40)]
    # The counter is ahead of every version the factory gave, as it is in a real database.
    Counter.objects.update_or_create(name="map", defaults={"value": 2_000_000})
    errors: list[BaseException] = []

    def writer(mine: list[Incident], seed: int) -> None:
        import random

        rng = random.Random(seed)
        try:
            for incident in mine:
                with transaction.atomic():
                    version = services.next_versions()
                    time.sleep(rng.uniform(0, 0.02))  # hold the version a while before committing
                    Incident.objects.filter(pk=incident.pk).update(
                        version=version, note=f"v{version}", updated_at=timezone.now()
                    )
        except BaseException as exc:  # noqa: BLE001 -- reported by the main thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=writer, args=(incidents[i::4], i)) for i in range(4)]
    cursor = changes(api)["next"]  # the start: everything as it was
    for thread in threads:
        thread.start()
    seen: dict[int, str] = {}
    while any(t.is_alive() for t in threads):
        body = changes(api, cursor)
        for item in body["features"]:
            seen[item["id"]] = item["properties"]["note"]
        cursor = body["next"]
    for thread in threads:
        thread.join()
    body = changes(api, cursor)
    for item in body["features"]:
        seen[item["id"]] = item["properties"]["note"]
    assert errors == []
    final = dict(Incident.objects.values_list("pk", "note"))
    assert seen == final
    assert all(note.startswith("v") for note in final.values())


def test_csv_has_a_header_and_a_row_per_incident(api):
    a = IncidentFactory(place="Peaje de Tazón")
    b = IncidentFactory(point=f"POINT({offset(*CARACAS, east_m=900)[0]} {CARACAS[1]})", note='dijo "alto", luego')
    response = api.get("/api/v1/incidents", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    geojson = api.get("/api/v1/incidents").json()["features"]
    assert [int(r["id"]) for r in rows] == [a.pk, b.pk]
    assert rows[0]["place"] == "Peaje de Tazón" and rows[1]["note"] == 'dijo "alto", luego'
    for row, item in zip(rows, geojson, strict=True):
        assert [float(row["lon"]), float(row["lat"])] == item["geometry"]["coordinates"]
        assert row["status"] == item["properties"]["status"]
        assert row["verified"] == "false"
    assert list(rows[0]) == ["id", "lon", "lat", "kind", "status", "place", "first_reported_at",
                             "last_confirmed_at", "expires_at", "reporters", "sources", "still_there", "gone",
                             "confidence", "verified", "flags", "note", "updated_at",
                             "_WKTgeom_EPSG_4326_POINT"]  # fmt: skip


def test_responses_are_gzipped_for_clients_that_ask(api):
    for i in range(30):
        IncidentFactory(point=f"POINT({offset(*CARACAS, east_m=300 * i)[0]} {CARACAS[1]})")
    response = api.get("/api/v1/incidents", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    import gzip
    import json

    assert len(json.loads(gzip.decompress(response.content))["features"]) == 30


def test_the_whole_map_is_built_once_per_map_version(
    api, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = bump(IncidentFactory())
    first = api.get("/api/v1/incidents")
    with django_assert_num_queries(0):
        again = api.get("/api/v1/incidents")
    assert again.status_code == 200 and again.content == first.content and again["ETag"] == first["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        bump(incident, note="otra vez")
    assert api.get("/api/v1/incidents").json()["features"][0]["properties"]["note"] == "otra vez"
    # A viewport (bbox) is not kept: each is built from the database (SpatiaLite first snaps the candidates'
    # points in Python, in a query of its own).
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/incidents", {"bbox": "-68,10,-66,11"}).status_code == 200
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)


def test_a_first_call_on_an_empty_map_gives_a_cursor_at_the_current_version(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ended = bump(IncidentFactory(status=Status.CLEARED))
    first = changes(api)
    assert first["features"] == [] and first["tombstones"] == []
    # Nothing before the cursor comes back: the client had no copy of the ended incident.
    assert changes(api, first["next"])["tombstones"] == []
    with django_capture_on_commit_callbacks(execute=True):
        bump(ended, note="x")
    assert [t["id"] for t in changes(api, first["next"])["tombstones"]] == [ended.pk]
