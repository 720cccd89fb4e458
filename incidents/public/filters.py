"""Public filters judge the public values: the snapped point and the rounded times (architecture §6.4).

A filter on the exact stored values is an oracle: bisecting a bbox edge, or a time bound, learns the exact
point or moment a reporter was there, to any precision, a request at a time. So a bbox keeps the incidents
whose public point lies inside it, and a time bound is compared with the public, floored time. Repeating
queries then converges on what the Feature already shows, never on anything finer. The stored point still
serves the spatial index: it is asked for candidates within the box grown by a grid cell.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.db.models import F, FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL

from geo.spatial import METERS_PER_DEGREE_LAT, bbox_boxes, floor_time, snap_lon_lat
from incidents import conf
from incidents.models import Incident
from incidents.public import sql
from incidents.public.features import PointX, PointY

Box = tuple[float, float, float, float]


def _grown(box: Box, grid_m: float) -> Polygon:
    """`box` grown by more than a grid cell: every point that snaps into `box` lies inside."""
    min_lon, min_lat, max_lon, max_lat = box
    d_lat = 2 * grid_m / METERS_PER_DEGREE_LAT
    widest = min(max(abs(min_lat), abs(max_lat)) + d_lat, 89.9)
    d_lon = 2 * grid_m / (METERS_PER_DEGREE_LAT * max(math.cos(math.radians(widest)), 1e-6))
    grown = Polygon.from_bbox(
        (max(min_lon - d_lon, -180), max(min_lat - d_lat, -90), min(max_lon + d_lon, 180), min(max_lat + d_lat, 90))
    )
    grown.srid = 4326
    return grown


def _inside(box: Box, lon: float, lat: float) -> bool:
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def within_bbox(queryset: QuerySet[Incident], bbox: Polygon | MultiPolygon) -> QuerySet[Incident]:
    """The incidents of `queryset` whose public, snapped point lies in `bbox` (edges included): a box, or the
    two halves of one across the antimeridian (geo.spatial.bbox_geometry)."""
    grid_m = conf.public_grid_m()
    boxes = bbox_boxes(bbox)
    near = Q()
    for box in boxes:
        near |= Q(point__bboverlaps=_grown(box, grid_m))
    candidates = queryset.filter(near)
    if connection.vendor == "postgresql":
        table = Incident._meta.db_table
        lon, lat = sql.public_lon_lat(f'ST_X("{table}"."point")', f'ST_Y("{table}"."point")', grid_m)
        inside = Q()
        for min_lon, min_lat, max_lon, max_lat in boxes:
            inside |= Q(
                public_lon__gte=min_lon, public_lon__lte=max_lon, public_lat__gte=min_lat, public_lat__lte=max_lat
            )
        return candidates.alias(
            public_lon=RawSQL(lon, (), output_field=FloatField()),
            public_lat=RawSQL(lat, (), output_field=FloatField()),
        ).filter(inside)
    # SpatiaLite: the candidates' points snapped in Python, as their Features are.
    kept = [
        pk
        for pk, x, y in candidates.annotate(x=PointX(F("point")), y=PointY(F("point"))).values_list("pk", "x", "y")
        if any(_inside(box, *snap_lon_lat(x, y, grid_m)) for box in boxes)
    ]
    return queryset.filter(pk__in=kept)


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
    return floored if floored == value else _later(floored, step)


def public_time_below(value: datetime) -> datetime:
    """The bound on a stored time t such that t < it exactly when floor(t) <= `value`."""
    step = conf.public_time_step_s()
    return _later(floor_time(value, step), step)


def _later(value: datetime, step_s: int) -> datetime:
    """`value` plus one step; at the end of the calendar (a client may ask for 9999-12-31), its last instant."""
    try:
        return value + timedelta(seconds=step_s)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)
