"""No sequence of public queries learns more than the public Feature shows (issue 14, finding 1).

An attacker bisects a filter's bound: the bbox edges of the list, OGC items and the Atom feed, OGC's
`datetime` and the list's `updated_since`. Each bisection here runs over HTTP until the bound is pinned to
well under a millimetre or a microsecond, and must land on the public value (the snapped coordinate, the
floored time), never on the exact point or moment stored for the incident.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import Point
from django.utils import timezone

from geo.spatial import floor_time, snap_lon_lat
from incidents.models import IncidentEvent
from moderation import services as moderation
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

STEPS = 34  # 0.02° / 2**34 is about 1e-12°; an hour / 2**34 is about 0.2 µs
GRID_M = 50
STEP_S = 300


@pytest.fixture(autouse=True)
def generous_reads(settings):
    settings.API_READ_RATE_ANON = ((1_000_000, 60),)


def bisect(low: float, high: float, inside_at_low: bool, inside: Callable[[float], bool]) -> float:
    """The point between low and high where `inside` changes; `inside(low)` is `inside_at_low`."""
    assert inside(low) == inside_at_low and inside(high) != inside_at_low
    for _ in range(STEPS):
        middle = (low + high) / 2
        if inside(middle) == inside_at_low:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def random_incidents(count: int, **extra) -> list:
    rng = random.Random(20261201)
    now = timezone.now()
    made = []
    for _ in range(count):
        # Exact, reporter-grade positions and times: micro-degrees and microseconds.
        first = now - timedelta(minutes=rng.uniform(20, 200), microseconds=rng.randint(1, 999_999))
        made.append(
            IncidentFactory(
                point=Point(rng.uniform(-67.2, -66.6), rng.uniform(10.3, 10.6), srid=4326),
                first_reported_at=first,
                last_confirmed_at=first,
                updated_at=now - timedelta(seconds=rng.uniform(30, 3000)),
                reporters=3,
                **extra,
            )
        )
    return made


def ids_in(client, path: str, key: str = "features") -> set[int]:
    answer = client.get(path)
    assert answer.status_code == 200, answer.content
    return {feature["id"] for feature in answer.json()[key]}


def bbox_edges_converge_on_the_public_point(incident, contains: Callable[[tuple[float, ...]], bool]) -> None:
    lon, lat = incident.point.x, incident.point.y
    public_lon, public_lat = snap_lon_lat(lon, lat, GRID_M)
    wide = (lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05)

    def edge(index: int, value: float) -> bool:
        box = list(wide)
        box[index] = value
        return contains(tuple(box))

    found = [
        bisect(lon - 0.01, lon + 0.01, True, lambda v: edge(0, v)),  # min lon: inside while below the point
        bisect(lon - 0.01, lon + 0.01, False, lambda v: edge(2, v)),  # max lon: outside while below it
        bisect(lat - 0.01, lat + 0.01, True, lambda v: edge(1, v)),
        bisect(lat - 0.01, lat + 0.01, False, lambda v: edge(3, v)),
    ]
    want = [public_lon, public_lon, public_lat, public_lat]
    assert found == pytest.approx(want, abs=1e-9)
    exact = [lon, lon, lat, lat]
    assert all(abs(f - e) > 1e-7 for f, e, w in zip(found, exact, want, strict=True) if abs(w - e) > 1e-6)


def test_bisecting_the_list_bbox_finds_only_the_public_point(client):
    for incident in random_incidents(3):

        def contains(box, incident=incident):
            return incident.pk in ids_in(client, "/api/v1/incidents?bbox=" + ",".join(repr(v) for v in box))

        bbox_edges_converge_on_the_public_point(incident, contains)


def test_bisecting_the_ogc_bbox_finds_only_the_public_point(client):
    for incident in random_incidents(2):

        def contains(box, incident=incident):
            path = "/ogc/collections/incidents/items?f=json&bbox=" + ",".join(repr(v) for v in box)
            return incident.pk in ids_in(client, path)

        bbox_edges_converge_on_the_public_point(incident, contains)


def test_bisecting_the_feed_area_finds_only_the_public_point(client):
    moderator = User.objects.create_user("mod", password="a long passphrase 1")
    moderator.groups.add(Group.objects.get_or_create(name="moderators")[0])
    for incident in random_incidents(2):
        moderation.incident_verify(incident_id=incident.pk, moderator=moderator)  # an event for the feed

        guids = {
            f"alcabala/event/{pk}"
            for pk in IncidentEvent.objects.filter(incident=incident).values_list("pk", flat=True)
        }

        def contains(box, guids=guids):
            body = client.get("/feeds/incidents.atom?bbox=" + ",".join(repr(v) for v in box)).content
            return any(entry.id.endswith(tuple(guids)) for entry in feedparser.parse(body).entries)

        bbox_edges_converge_on_the_public_point(incident, contains)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_bisecting_the_ogc_datetime_finds_only_the_public_first_report(client):
    for incident in random_incidents(3):
        exact = incident.first_reported_at
        base = exact - timedelta(hours=1)

        def shown_until(offset_s: float, incident=incident, base=base) -> bool:
            # Incidents on the map at some moment up to base + offset.
            path = f"/ogc/collections/incidents/items?f=json&datetime=../{iso(base + timedelta(seconds=offset_s))}"
            return incident.pk in ids_in(client, path)

        boundary = base + timedelta(seconds=bisect(0, 7200, False, shown_until))
        public = floor_time(exact, STEP_S)
        assert abs((boundary - public).total_seconds()) < 1e-3
        assert abs((boundary - exact).total_seconds()) > 1e-3


def test_bisecting_updated_since_finds_only_the_public_update_time(client):
    for incident in random_incidents(3):
        exact = incident.updated_at
        base = exact - timedelta(hours=1)

        def listed_since(offset_s: float, incident=incident, base=base) -> bool:
            path = f"/api/v1/incidents?updated_since={iso(base + timedelta(seconds=offset_s))}"
            return incident.pk in ids_in(client, path)

        boundary = base + timedelta(seconds=bisect(0, 7200, True, listed_since))
        # Listed while `updated_since` is in its public step or before: the edge is the step's end.
        public_end = floor_time(exact, STEP_S) + timedelta(seconds=STEP_S)
        assert abs((boundary - public_end).total_seconds()) < 1e-3
        assert abs((boundary - exact).total_seconds()) > 1e-3


def test_a_change_in_the_same_step_as_updated_since_is_never_missed(client):
    (incident,) = random_incidents(1)
    since = incident.updated_at + timedelta(microseconds=1)  # a client's clock just after the change
    assert incident.pk in ids_in(client, f"/api/v1/incidents?updated_since={iso(since)}")
