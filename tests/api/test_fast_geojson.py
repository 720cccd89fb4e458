"""The fast path's Features are the Python `feature()` byte for byte once parsed, on both backends."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from geo.spatial import snap_lon_lat
from incidents.models import Incident
from incidents.public import sql
from incidents.public.features import feature, features_page
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def fast_features(queryset, now, limit=10_000):
    page = features_page(queryset, limit=limit, now=now)
    return json.loads(f"[{page.body}]"), page


def test_fast_features_equal_python_features_on_random_incidents(settings):
    rng = random.Random(20261127)
    now = timezone.now()
    for _ in range(300):
        first = now - timedelta(seconds=rng.randint(0, 20 * 3600), microseconds=rng.randint(0, 999_999))
        IncidentFactory(
            kind=rng.choice(["checkpoint", "roadblock", "militia", "hazard"]),
            point=Point(rng.uniform(-73.3, -59.8), rng.uniform(0.7, 12.2), srid=4326),
            status=rng.choice(["unverified", "verified", "cleared", "expired", "rejected"]),
            place=rng.choice(["", "Peaje de Tazón", 'Los "Teques" \\ km 3', "Caracas\n<b>x</b>"]),
            note=rng.choice(["", "ñandú ✓", "línea\tdos"]),
            first_reported_at=first,
            last_confirmed_at=first + timedelta(minutes=rng.randint(0, 90)),
            expires_at=first + timedelta(hours=rng.choice([1, 2, 6, 12, 24])),
            verified_at=rng.choice([None, now]),
            reporters=rng.randint(0, 9),
            still_there=rng.randint(0, 5),
            gone=rng.randint(0, 5),
            confidence=rng.choice([0.0, 0.33, 0.5, 0.85, 0.95, 1.0]),
            updated_at=now - timedelta(seconds=rng.randint(0, 9999)),
        )
    queryset = Incident.objects.order_by("pk")
    got, page = fast_features(queryset, now)
    want = [feature(incident, now=now) for incident in queryset]
    assert page.count == 300 and not page.has_more
    assert got == want
    assert any(f["properties"]["status"] == "expired" for f in got)  # read-time expiry was exercised


@pytest.mark.parametrize("grid_m", [1, 50, 137, 5000])
def test_snapping_in_sql_gives_the_coordinates_of_snap_lon_lat(grid_m):
    if connection.vendor != "postgresql":
        pytest.skip("the SQL snapping runs on PostGIS only; SpatiaLite uses snap_lon_lat itself")
    rng = random.Random(grid_m)
    points = [(rng.uniform(-180, 180), rng.uniform(-89.9, 89.9)) for _ in range(20_000)]
    points += [(rng.uniform(-73.4, -59.7), rng.uniform(0.6, 12.3)) for _ in range(20_000)]
    values = ",".join(f"({i}, {lon!r}::float8, {lat!r}::float8)" for i, (lon, lat) in enumerate(points))
    inner = f"SELECT *, 'unverified' AS status, now() AS expires_at FROM (VALUES {values}) AS v(id, lon, lat)"
    # The very expressions the list uses:
    query = f"""
        SELECT q.id, {sql.PUBLIC_LON}, {sql.PUBLIC_LAT}
        FROM ({inner}) AS q {sql.snap_lateral(grid_m)} ORDER BY q.id
    """
    with connection.cursor() as cursor:
        cursor.execute(query, [timezone.now()])
        rows = cursor.fetchall()
    mismatches = [(points[i], (lon, lat)) for i, lon, lat in rows if (lon, lat) != snap_lon_lat(*points[i], grid_m)]
    assert mismatches == []


def test_features_page_stops_at_the_limit_and_says_more_remain():
    incidents = IncidentFactory.create_batch(5)
    got, page = fast_features(Incident.objects.order_by("pk"), timezone.now(), limit=3)
    assert [f["id"] for f in got] == [i.pk for i in incidents[:3]]
    assert page.has_more and page.last_id == incidents[2].pk
