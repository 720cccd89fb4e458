"""Where and when the public incidents lie, from their public values only.

The box bounds the snapped points and the interval the floored times, so an extent tells no more than the
Features do: the extremes of the stored values would give away the exact point or moment of the incident
nearest an edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F, FloatField, Max, Min, QuerySet
from django.db.models.expressions import RawSQL

from geo.spatial import floor_time, snap_lon_lat
from incidents import conf
from incidents.models import Incident
from incidents.public import sql
from incidents.public.features import PointX, PointY


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float] | None  # min lon, min lat, max lon, max lat
    start: datetime | None  # the earliest public first_reported_at
    end: datetime | None  # the latest public updated_at


def public_extent(queryset: QuerySet[Incident]) -> Extent:
    """The extent of the public Features of `queryset`; None parts when it is empty."""
    grid_m = conf.public_grid_m()
    step = conf.public_time_step_s()
    times = queryset.aggregate(start=Min("first_reported_at"), end=Max("updated_at"))
    if times["start"] is None:
        return Extent(None, None, None)
    start, end = floor_time(times["start"], step), floor_time(times["end"], step)
    if connection.vendor == "postgresql":
        table = Incident._meta.db_table
        lon, lat = sql.public_lon_lat(f'ST_X("{table}"."point")', f'ST_Y("{table}"."point")', grid_m)
        box = queryset.annotate(
            public_lon=RawSQL(lon, (), output_field=FloatField()),
            public_lat=RawSQL(lat, (), output_field=FloatField()),
        ).aggregate(
            min_lon=Min("public_lon"), min_lat=Min("public_lat"), max_lon=Max("public_lon"), max_lat=Max("public_lat")
        )
        return Extent((box["min_lon"], box["min_lat"], box["max_lon"], box["max_lat"]), start, end)
    points = [
        snap_lon_lat(x, y, grid_m)
        for x, y in queryset.annotate(x=PointX(F("point")), y=PointY(F("point"))).values_list("x", "y")
    ]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return Extent((min(lons), min(lats), max(lons), max(lats)), start, end)
