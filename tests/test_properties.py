"""Properties of the rules that protect reporters and shape incidents, over many generated inputs."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.gis.geos import Point
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.spatial import floor_time, haversine_m, snap_lon_lat
from incidents import services
from incidents.models import Incident, Report
from tests.factories import CARACAS, offset

lons = st.floats(min_value=-73.4, max_value=-59.7, allow_nan=False)
lats = st.floats(min_value=0.6, max_value=12.3, allow_nan=False)
grids = st.sampled_from([10, 50, 100, 250])


@given(lon=lons, lat=lats, grid=grids)
def test_snapping_is_stable_close_and_coarse(lon, lat, grid):
    snapped = snap_lon_lat(lon, lat, grid)
    # Snapping a snapped point gives it back: repeated reports cannot be averaged into a finer position.
    assert snap_lon_lat(*snapped, grid) == snapped
    # The public point is within a grid cell's diagonal of the real one.
    assert haversine_m(Point(lon, lat), Point(*snapped)) <= grid * math.sqrt(2) / 2 + 1
    # At most 6 decimals.
    assert all(round(value, 6) == value for value in snapped)


@given(lon=lons, lat=lats, east=st.floats(-20, 20), north=st.floats(-20, 20))
def test_points_a_few_metres_apart_mostly_share_their_public_point(lon, lat, east, north):
    here = snap_lon_lat(lon, lat, 50)
    there = snap_lon_lat(*offset(lon, lat, east, north), 50)
    # Either the same cell or a neighbour: never further than one step (plus the 6-decimal rounding).
    assert abs(here[1] - there[1]) <= 50 / 111_320 + 2e-6


@given(moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)))
def test_public_times_are_floored_to_five_minutes(moment):
    floored = floor_time(moment, 300)
    assert floored <= moment < floored + timedelta(seconds=300)
    assert floored.minute % 5 == 0 and floored.second == 0 and floored.microsecond == 0


offsets = st.lists(
    st.tuples(st.floats(-240, 240), st.floats(-240, 240), st.integers(min_value=0, max_value=5)), min_size=1, max_size=8
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=offsets)
def test_merge_rule_counts_distinct_devices_and_keeps_incidents_apart(reports):
    Report.objects.all().delete()
    Incident.objects.filter(events__isnull=True).delete()
    for east, north, device in reports:
        report, _ = services.report_submit(
            client_id=uuid.uuid4(),
            kind="roadblock",
            point=Point(*offset(*CARACAS, east, north), srid=4326),
            device=f"device-{device}",
        )
        services.report_process(report_id=report.pk)
    incidents = list(Incident.objects.filter(reports__isnull=False).distinct())
    # Every report landed in exactly one incident, and each incident counts its distinct devices.
    assert sum(incident.reports.count() for incident in incidents) == len(reports)
    for incident in incidents:
        devices = set(incident.reports.values_list("reporter_key", flat=True))
        assert incident.reporters == len(devices)
    # A report opens an incident only when no live one of its kind is within the merge radius, and an
    # incident stays at its first report's point: no two are within the radius of each other.
    points = [incident.point for incident in incidents]
    for i, a in enumerate(points):
        for b in points[i + 1 :]:
            assert haversine_m(a, b) > 250 - 1
