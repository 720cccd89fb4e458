"""Public Features built without a Python object per incident.

PostGIS: the database writes each Feature's JSON text (json_build_object) and joins them; the snapping
to PUBLIC_GRID_M, the flooring of times to PUBLIC_TIME_STEP_S and read-time expiry are done in SQL with
the same arithmetic as `geo.spatial.snap_lon_lat`, `geo.spatial.floor_time` and
`selectors.effective_status` (tests/api compare them on many random points).
SpatiaLite: rows come back as tuples and each Feature is pasted into a string; the same Python helpers
as `geojson.feature` snap and floor.
Either way the text is identical, once parsed, to `geojson.feature` for the same incident.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F, FloatField, Func, QuerySet

from geo.spatial import METERS_PER_DEGREE_LAT, floor_time, snap_lon_lat
from incidents import conf
from incidents.models import ACTIVE_STATUSES, Incident, Status

COLUMNS = (
    "id",
    "kind",
    "status",
    "place",
    "first_reported_at",
    "last_confirmed_at",
    "expires_at",
    "reporters",
    "still_there",
    "gone",
    "confidence",
    "verified_at",
    "note",
    "updated_at",
    "version",
    "lon",
    "lat",
)


class _X(Func):
    template = "ST_X(%(expressions)s)"
    output_field = FloatField()


class _Y(Func):
    template = "ST_Y(%(expressions)s)"
    output_field = FloatField()


@dataclass
class Page:
    body: str  # the Features, comma-separated, ready to paste between [ and ]
    count: int
    last_id: int | None
    last_version: int | None
    has_more: bool


def rows(queryset: QuerySet[Incident], *extra: str) -> QuerySet:
    """Tuples of COLUMNS (and `extra` annotations) with the point as lon and lat."""
    return queryset.annotate(lon=_X(F("point")), lat=_Y(F("point"))).values_list(*COLUMNS, *extra)


# --- PostGIS ---------------------------------------------------------------------------------------

_TIME = (
    "to_char(date_bin(make_interval(secs => %s), {col}, timestamptz 'epoch') AT TIME ZONE 'UTC', "
    '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'
)
DEG_TO_RAD = math.pi / 180  # what math.radians multiplies by; PostgreSQL's radians() may differ in the last bit


def postgis_feature_sql(inner_sql: str, inner_params, *, grid_m: float, step_s: int, now: datetime):
    """SQL over `inner_sql` (rows with COLUMNS) giving (id, version, Feature text) per row, and its params.

    The grid arithmetic is snap_lon_lat's, step by step, in double precision: the snapped latitude, the
    longitude step that follows it, then rounding to 6 decimals (via numeric, whose text is then the
    shortest that reads back as the same double, as Python's repr is).
    """
    times = {c: _TIME.format(col=f"q.{c}") for c in ("first_reported_at", "last_confirmed_at", "expires_at")}
    updated = _TIME.format(col="q.updated_at")
    sql = f"""
        SELECT q.id, q.version, json_build_object(
            'type', 'Feature',
            'id', q.id,
            'geometry', json_build_object('type', 'Point', 'coordinates', json_build_array(
                round((round(q.lon / s.lon_step) * s.lon_step)::numeric, 6)::float8,
                round(s.slat::numeric, 6)::float8)),
            'properties', json_build_object(
                'kind', q.kind,
                'status', s.eff,
                'place', q.place,
                'first_reported_at', {times["first_reported_at"]},
                'last_confirmed_at', {times["last_confirmed_at"]},
                'expires_at', {times["expires_at"]},
                'reporters', q.reporters,
                'still_there', q.still_there,
                'gone', q.gone,
                'confidence', q.confidence,
                'verified', q.verified_at IS NOT NULL AND s.eff <> 'rejected',
                'note', q.note,
                'updated_at', {updated}
            )
        )::text AS feature
        FROM ({inner_sql}) AS q
        CROSS JOIN LATERAL (
            SELECT l.slat,
                   %s / (%s * greatest(cos(l.slat * %s), 1e-6::float8)) AS lon_step,
                   CASE WHEN q.status IN ('unverified', 'verified') AND q.expires_at <= %s
                        THEN 'expired' ELSE q.status END AS eff
            FROM (SELECT round(q.lat / %s) * %s AS slat) AS l
        ) AS s
    """
    lat_step = grid_m / METERS_PER_DEGREE_LAT
    params = [
        *([step_s] * 4),
        *inner_params,
        float(grid_m),
        METERS_PER_DEGREE_LAT,
        DEG_TO_RAD,
        now,
        lat_step,
        lat_step,
    ]
    return sql, params


# --- both --------------------------------------------------------------------------------------------


def _time(value: datetime, step_s: int) -> str:
    return floor_time(value, step_s).strftime("%Y-%m-%dT%H:%M:%SZ")


def effective(status: str, expires_at: datetime, now: datetime) -> str:
    if status in ACTIVE_STATUSES and expires_at <= now:
        return Status.EXPIRED
    return status


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def feature_text(row: tuple, *, now: datetime, grid_m: float, step_s: int) -> str:
    (pk, kind, status, place, first, last, expires, reporters, still, gone, confidence, verified_at, note, updated,
     _version, x, y) = row  # fmt: skip
    lon, lat = snap_lon_lat(x, y, grid_m)
    eff = effective(status, expires, now)
    verified = "true" if verified_at is not None and eff != Status.REJECTED else "false"
    return (
        f'{{"type":"Feature","id":{pk},"geometry":{{"type":"Point","coordinates":[{lon!r},{lat!r}]}},'
        f'"properties":{{"kind":{_string(kind)},"status":"{eff}","place":{_string(place)},'
        f'"first_reported_at":"{_time(first, step_s)}","last_confirmed_at":"{_time(last, step_s)}",'
        f'"expires_at":"{_time(expires, step_s)}","reporters":{reporters},"still_there":{still},"gone":{gone},'
        f'"confidence":{float(confidence)!r},"verified":{verified},"note":{_string(note)},'
        f'"updated_at":"{_time(updated, step_s)}"}}}}'
    )


def features_page(
    queryset: QuerySet[Incident], *, limit: int, now: datetime, ordering: str = "id", offset: int = 0
) -> Page:
    """Up to `limit` Features of `queryset` (ordered by `ordering`) as JSON text, and whether more remain."""
    grid_m = conf.public_grid_m()
    step_s = conf.public_time_step_s()
    limited = rows(queryset)[offset : offset + limit + 1]
    if connection.vendor == "postgresql":
        inner_sql, inner_params = limited.query.sql_with_params()
        sql, params = postgis_feature_sql(inner_sql, inner_params, grid_m=grid_m, step_s=step_s, now=now)
        order = "version" if ordering == "version" else "id"
        wrapped = f"""
            SELECT count(*), max(f.id) FILTER (WHERE f.n <= %s), max(f.version) FILTER (WHERE f.n <= %s),
                   coalesce(string_agg(f.feature, ',' ORDER BY f.n) FILTER (WHERE f.n <= %s), '')
            FROM (SELECT t.*, row_number() OVER (ORDER BY t.{order}) AS n FROM ({sql}) AS t) AS f
        """
        with connection.cursor() as cursor:
            cursor.execute(wrapped, [limit, limit, limit, *params])
            count, last_id, last_version, body = cursor.fetchone()
        return Page(
            body=body, count=min(count, limit), last_id=last_id, last_version=last_version, has_more=count > limit
        )
    fetched = list(limited)
    has_more = len(fetched) > limit
    fetched = fetched[:limit]
    body = ",".join(feature_text(row, now=now, grid_m=grid_m, step_s=step_s) for row in fetched)
    return Page(
        body=body,
        count=len(fetched),
        last_id=fetched[-1][0] if fetched else None,
        last_version=fetched[-1][14] if fetched else None,
        has_more=has_more,
    )
