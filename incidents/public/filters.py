"""Public filters judge the public values: the snapped point and the rounded times (architecture §6.4).

A filter on the exact stored values is an oracle: bisecting a bbox edge, or a time bound, learns the exact
point or moment a reporter was there, to any precision, a request at a time. So a bbox keeps the incidents
whose public point lies inside it, and a time bound is compared with the public, floored time. Repeating
queries then converges on what the Feature already shows, never on anything finer. The stored point still
serves the spatial index: it is asked for candidates within the box grown by a grid cell.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import F, FloatField, QuerySet
from django.db.models.expressions import RawSQL

from geo.spatial import METERS_PER_DEGREE_LAT, floor_time, snap_lon_lat
from incidents import conf
from incidents.models import Incident
from incidents.public import sql
from incidents.public.features import PointX, PointY


def _grown(bbox: Polygon, grid_m: float) -> Polygon:
    """`bbox` grown by more than a grid cell: every point that snaps into `bbox` lies inside."""
    min_lon, min_lat, max_lon, max_lat = bbox.extent
    d_lat = 2 * grid_m / METERS_PER_DEGREE_LAT
    widest = min(max(abs(min_lat), abs(max_lat)) + d_lat, 89.9)
    d_lon = 2 * grid_m / (METERS_PER_DEGREE_LAT * max(math.cos(math.radians(widest)), 1e-6))
    grown = Polygon.from_bbox(
        (max(min_lon - d_lon, -180), max(min_lat - d_lat, -90), min(max_lon + d_lon, 180), min(max_lat + d_lat, 90))
    )
    grown.srid = 4326
    return grown


def within_bbox(queryset: QuerySet[Incident], bbox: Polygon) -> QuerySet[Incident]:
    """The incidents of `queryset` whose public, snapped point lies in `bbox` (edges included)."""
    grid_m = conf.public_grid_m()
    min_lon, min_lat, max_lon, max_lat = bbox.extent
    candidates = queryset.filter(point__bboverlaps=_grown(bbox, grid_m))
    if connection.vendor == "postgresql":
        table = Incident._meta.db_table
        lon, lat = sql.public_lon_lat(f'ST_X("{table}"."point")', f'ST_Y("{table}"."point")', grid_m)
        return candidates.alias(
            public_lon=RawSQL(lon, (), output_field=FloatField()),
            public_lat=RawSQL(lat, (), output_field=FloatField()),
        ).filter(public_lon__gte=min_lon, public_lon__lte=max_lon, public_lat__gte=min_lat, public_lat__lte=max_lat)
    # SpatiaLite: the candidates' points snapped in Python, as their Features are.
    inside = [
        pk
        for pk, x, y in candidates.annotate(x=PointX(F("point")), y=PointY(F("point"))).values_list("pk", "x", "y")
        if min_lon <= (snapped := snap_lon_lat(x, y, grid_m))[0] <= max_lon and min_lat <= snapped[1] <= max_lat
    ]
    return queryset.filter(pk__in=inside)


def step_start(value: datetime) -> datetime:
    """The start of the public time step holding `value`: t >= it exactly when floor(t) >= floor(`value`).
    For "changed since" bounds, which must never miss a change: a client that sends the time of its last
    copy gets its whole step again, and learns no more than the public `updated_at`."""
    return floor_time(value, conf.public_time_step_s())


def public_time_at_least(value: datetime) -> datetime:
    """The bound on a stored time t such that t >= it exactly when floor(t) >= `value` (t's public time is
    a whole step: the first step at or after `value`)."""
    step = conf.public_time_step_s()
    floored = floor_time(value, step)
    return floored if floored == value else floored + timedelta(seconds=step)


def public_time_below(value: datetime) -> datetime:
    """The bound on a stored time t such that t < it exactly when floor(t) <= `value`."""
    step = conf.public_time_step_s()
    return floor_time(value, step) + timedelta(seconds=step)
