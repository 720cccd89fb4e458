"""Plain spatial helpers that are correct on both PostGIS and SpatiaLite."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from django.contrib.gis.geos import MultiPolygon, Point, Polygon

METERS_PER_DEGREE_LAT = 111_320.0


def bbox_around(point: Point, meters: float) -> Polygon:
    """A lon/lat box that contains every point within `meters` of `point` (for index prefilters)."""
    d_lat = meters / METERS_PER_DEGREE_LAT
    cos_lat = max(math.cos(math.radians(min(abs(point.y) + d_lat, 89.9))), 1e-6)
    d_lon = meters / (METERS_PER_DEGREE_LAT * cos_lat)
    polygon = Polygon.from_bbox((point.x - d_lon, point.y - d_lat, point.x + d_lon, point.y + d_lat))
    polygon.srid = 4326
    return polygon


def bbox_geometry(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> Polygon | MultiPolygon:
    """The area of a lon/lat box. `min_lon > max_lon` is a box across the antimeridian (OGC API, RFC 7946
    §5.2): two boxes, east of `min_lon` to 180° and from -180° to `max_lon`, as one MultiPolygon, which every
    spatial lookup on both backends reads as the union of the two."""
    if min_lon <= max_lon:
        polygon = Polygon.from_bbox((min_lon, min_lat, max_lon, max_lat))
        polygon.srid = 4326
        return polygon
    east = Polygon.from_bbox((min_lon, min_lat, 180.0, max_lat))
    west = Polygon.from_bbox((-180.0, min_lat, max_lon, max_lat))
    return MultiPolygon(east, west, srid=4326)


def bbox_boxes(area: Polygon | MultiPolygon) -> list[tuple[float, float, float, float]]:
    """The plain boxes (minLon, minLat, maxLon, maxLat) of an area made by `bbox_geometry`."""
    parts = list(area) if isinstance(area, MultiPolygon) else [area]
    return [part.extent for part in parts]


def bbox_bounds(area: Polygon | MultiPolygon) -> tuple[float, float, float, float]:
    """The box `bbox_geometry` was given: for one across the antimeridian, minLon > maxLon again."""
    boxes = bbox_boxes(area)
    return (boxes[0][0], boxes[0][1], boxes[-1][2], boxes[0][3])


def snap_lon_lat(lon: float, lat: float, grid_m: float) -> tuple[float, float]:
    """Snap to a grid of about `grid_m` metres and 6 decimals (architecture §6.4).

    The latitude step is constant; the longitude step follows the snapped latitude, so every
    point in one cell lands on the same public coordinate.
    """
    lat_step = grid_m / METERS_PER_DEGREE_LAT
    snapped_lat = round(lat / lat_step) * lat_step
    cos_lat = max(math.cos(math.radians(snapped_lat)), 1e-6)
    lon_step = grid_m / (METERS_PER_DEGREE_LAT * cos_lat)
    snapped_lon = round(lon / lon_step) * lon_step
    return round(snapped_lon, 6), round(snapped_lat, 6)


def floor_time(value: datetime, step_s: int) -> datetime:
    """Round a time down to the public time step (architecture §6.4)."""
    floored = math.floor(value.timestamp()) // step_s * step_s
    try:
        return datetime.fromtimestamp(floored, tz=UTC)
    except (OverflowError, ValueError):  # the step holding the calendar's last instant ends past it
        return datetime.max.replace(tzinfo=UTC) - timedelta(seconds=step_s - 1, microseconds=999_999)


def haversine_m(a: Point, b: Point) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a.x, a.y, b.x, b.y))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))
