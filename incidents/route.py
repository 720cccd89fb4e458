"""Which public incidents lie along a route (issue 9): a read, under the same policy as every public read.

The incidents are those `selectors.incidents_public` gives (publication policy, read-time expiry), taken
at their public, snapped position (architecture §6.4): both "is it within the corridor" and the distances are
answered for the point everyone sees, so that checking many routes teaches nothing finer than the grid.

PostGIS: the spatial index finds incidents whose true point lies within a planar lon/lat distance that
covers the corridor and the grid (ST_DWithin on geometry); their points are snapped in SQL with the same
arithmetic as the public Features (incidents/public/sql.py), then kept when within `corridor_m` on the
spheroid (ST_DWithin on geography) and located along the line (ST_LineLocatePoint).
SpatiaLite: incidents inside the route's padded bounding box are snapped in Python (geo.spatial), then
measured by SpatiaLite in metres on the ellipsoid (ST_Distance(..., 1)) and located with Line_Locate_Point.
Either way the located fraction becomes metres along the route in `geo.route.RouteMeasure.along_m`, and
the Features are the public ones, built by incidents/public/features.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Polygon
from django.db import connection
from django.utils import timezone

from geo.route import Route
from geo.spatial import snap_lon_lat
from incidents import conf, selectors
from incidents.public import features, sql

SQLITE_ROWS_PER_QUERY = 2_000  # 3 parameters a row, well under SQLite's 32,766


@dataclass(frozen=True)
class Found:
    incident_id: int
    along_m: float
    from_route_m: float


@dataclass
class AlongRoute:
    features: list[dict]  # public Features, in order along the route, with the two distances added
    matched: int  # how many incidents lie within the corridor (features may be fewer, up to `limit`)


def incidents_near_route(
    *, route: Route, corridor_m: float, now: datetime, kinds: Iterable[str] | None = None
) -> list[Found]:
    """Public live incidents within `corridor_m` of the route, in order along it (then by id)."""
    kinds = list(kinds) if kinds else None
    if connection.vendor == "postgresql":
        found = _postgis(route, corridor_m, now, kinds)
    else:
        found = _spatialite(route, corridor_m, now, kinds)
    return sorted(found, key=lambda f: (f.along_m, f.incident_id))


def _postgis(route: Route, corridor_m: float, now: datetime, kinds: list[str] | None) -> list[Found]:
    measure = route.measure
    grid_m = conf.public_grid_m()
    # A snapped point lies within grid_m of the true one: the prefilter on the true point is padded by it.
    pad = measure.pad_degrees((corridor_m + grid_m) * 1.01)
    candidates = selectors.incidents_public(now=now, kinds=kinds).filter(point__dwithin=(measure.line(), pad))
    inner_sql, inner_params = features.rows(candidates).query.sql_with_params()
    query = f"""
        SELECT q.id, ST_Distance(sp.p::geography, r.g) AS off_m, ST_LineLocatePoint(r.scaled, ST_Scale(sp.p, %s, 1))
        FROM ({inner_sql}) AS q
        {sql.snap_lateral(grid_m)}
        CROSS JOIN LATERAL (
            SELECT ST_SetSRID(ST_MakePoint({sql.PUBLIC_LON}, {sql.PUBLIC_LAT}), 4326) AS p
        ) AS sp
        CROSS JOIN (SELECT ST_GeogFromWKB(%s) AS g, ST_GeomFromWKB(%s, 4326) AS scaled) AS r
        WHERE ST_DWithin(sp.p::geography, r.g, %s)
    """
    params = [
        measure.scale,
        *inner_params,
        now,
        bytes(measure.line().wkb),
        bytes(measure.scaled_line().wkb),
        corridor_m,
    ]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    return [Found(pk, measure.along_m(fraction), off_m) for pk, off_m, fraction in rows]


def _spatialite(route: Route, corridor_m: float, now: datetime, kinds: list[str] | None) -> list[Found]:
    measure = route.measure
    grid_m = conf.public_grid_m()
    box = Polygon.from_bbox(measure.envelope((corridor_m + grid_m) * 1.01))
    box.srid = 4326
    rows = features.rows(selectors.incidents_public(bbox=box, now=now, kinds=kinds))
    snapped = [(row.id, *snap_lon_lat(row.lon, row.lat, grid_m)) for row in rows]
    line_wkb, scaled_wkb = bytes(measure.line().wkb), bytes(measure.scaled_line().wkb)
    found: list[Found] = []
    with connection.cursor() as cursor:
        for start in range(0, len(snapped), SQLITE_ROWS_PER_QUERY):
            chunk = snapped[start : start + SQLITE_ROWS_PER_QUERY]
            values = ",".join(["(%s,%s,%s)"] * len(chunk))
            cursor.execute(
                f"""
                WITH r(g, scaled) AS (SELECT GeomFromWKB(%s, 4326), GeomFromWKB(%s, 4326)),
                     v(id, x, y) AS (VALUES {values})
                SELECT v.id, ST_Distance(MakePoint(v.x, v.y, 4326), r.g, 1),
                       Line_Locate_Point(r.scaled, MakePoint(v.x * %s, v.y, 4326))
                FROM v, r
                """,
                [line_wkb, scaled_wkb, *(value for row in chunk for value in row), measure.scale],
            )
            for pk, off_m, fraction in cursor.fetchall():
                if off_m is not None and off_m <= corridor_m:
                    found.append(Found(pk, measure.along_m(fraction), off_m))
    return found


def incidents_along_route(
    *,
    route: Route,
    corridor_m: float,
    limit: int,
    kinds: Iterable[str] | None = None,
    now: datetime | None = None,
) -> AlongRoute:
    """The public Features of the incidents along `route`, nearest the start first, up to `limit`.

    Each Feature is the one the rest of the API gives, with `distance_along_m` (metres from the route's
    start to the point of the route nearest the incident) and `distance_from_route_m` added to its
    properties, both whole metres from the incident's public position.
    """
    now = now or timezone.now()
    found = incidents_near_route(route=route, corridor_m=corridor_m, now=now, kinds=kinds)
    chosen = found[:limit]
    ids = [f.incident_id for f in chosen]
    texts = features.feature_texts(selectors.incidents_public(now=now).filter(pk__in=ids), now=now) if ids else {}
    along = []
    for item in chosen:
        text = texts.get(item.incident_id)
        if text is None:  # ended between the two queries
            continue
        feature = json.loads(text)
        feature["properties"]["distance_along_m"] = round(item.along_m)
        feature["properties"]["distance_from_route_m"] = round(item.from_route_m)
        along.append(feature)
    return AlongRoute(features=along, matched=len(found))
