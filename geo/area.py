"""The deployment area: where reports are accepted (setting DEPLOYMENT_AREA).

Either a bbox ``minLon,minLat,maxLon,maxLat`` or the path of a GeoJSON file holding a
Polygon, MultiPolygon, Feature or FeatureCollection of those.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.contrib.gis.geos.prepared import PreparedGeometry
from django.core.exceptions import ImproperlyConfigured


def parse_area(value: str) -> GEOSGeometry:
    value = value.strip()
    parts = value.split(",")
    if len(parts) == 4:
        try:
            min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
        except ValueError:
            raise ImproperlyConfigured(f"DEPLOYMENT_AREA bbox must be four numbers, not {value!r}.") from None
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ImproperlyConfigured(f"DEPLOYMENT_AREA bbox is not minLon,minLat,maxLon,maxLat: {value!r}.")
        polygon = Polygon.from_bbox((min_lon, min_lat, max_lon, max_lat))
        polygon.srid = 4326
        return polygon
    path = Path(value)
    if not path.is_absolute():
        path = Path(settings.BASE_DIR) / path
    if not path.exists():
        raise ImproperlyConfigured(f"DEPLOYMENT_AREA is neither a bbox nor an existing GeoJSON file: {value!r}.")
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ImproperlyConfigured(f"DEPLOYMENT_AREA file {path} is not valid JSON: {exc}.") from None
    geometries = []
    if data.get("type") == "FeatureCollection":
        geometries = [feature["geometry"] for feature in data.get("features", [])]
    elif data.get("type") == "Feature":
        geometries = [data["geometry"]]
    else:
        geometries = [data]
    polygons: list[Polygon] = []
    for raw in geometries:
        geometry = GEOSGeometry(json.dumps(raw))
        if isinstance(geometry, Polygon):
            polygons.append(geometry)
        elif isinstance(geometry, MultiPolygon):
            polygons.extend(part for part in geometry if isinstance(part, Polygon))
        else:
            raise ImproperlyConfigured(f"DEPLOYMENT_AREA file {path} must hold polygons, not {geometry.geom_type}.")
    if not polygons:
        raise ImproperlyConfigured(f"DEPLOYMENT_AREA file {path} holds no polygon.")
    area = MultiPolygon(polygons, srid=4326) if len(polygons) > 1 else polygons[0]
    area.srid = 4326
    if not area.valid:
        raise ImproperlyConfigured(f"DEPLOYMENT_AREA file {path} holds an invalid polygon: {area.valid_reason}.")
    return area


@lru_cache(maxsize=4)
def _area(value: str) -> tuple[GEOSGeometry, PreparedGeometry]:
    area = parse_area(value)
    return area, area.prepared


def deployment_area() -> GEOSGeometry:
    return _area(settings.DEPLOYMENT_AREA)[0]


def deployment_area_contains(point: Point) -> bool:
    return _area(settings.DEPLOYMENT_AREA)[1].covers(point)
