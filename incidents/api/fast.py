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
from django.db.models.expressions import RawSQL

from geo.spatial import METERS_PER_DEGREE_LAT, floor_time, snap_lon_lat
from incidents import conf
from incidents.api import stored
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


def rows(queryset: QuerySet[Incident], *extra: str, with_stored: bool = False) -> QuerySet:
    """Tuples of COLUMNS (and `extra` annotations) with the point as lon and lat.

    `with_stored` (PostgreSQL): also the columns that hold the stored Feature text (incidents/api/stored.py).
    """
    queryset = queryset.annotate(lon=_X(F("point")), lat=_Y(F("point")))
    if with_stored:
        queryset = queryset.annotate(**{name: RawSQL(column, ()) for name, column in stored.COLUMNS.items()})
    return queryset.values_list(*COLUMNS, *extra)


# --- PostGIS ---------------------------------------------------------------------------------------

_TIME = (
    "to_char(date_bin(make_interval(secs => %s), {col}, timestamptz 'epoch') AT TIME ZONE 'UTC', "
    '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'
)
# The public longitude and latitude over q (lon) and s (slat, lon_step; see the lateral join below).
PUBLIC_LON_SQL = "round(round(q.lon / s.lon_step) * s.lon_step * 1e6::float8) / 1e6::float8"
PUBLIC_LAT_SQL = "round(s.slat * 1e6::float8) / 1e6::float8"
# The lateral join that gives s: its placeholders are grid_m, METERS_PER_DEGREE_LAT, DEG_TO_RAD, now, lat_step x2.
SNAP_LATERAL_SQL = """
        CROSS JOIN LATERAL (
            SELECT l.slat,
                   %s / (%s * greatest(cos(l.slat * %s), 1e-6::float8)) AS lon_step,
                   CASE WHEN q.status IN ('unverified', 'verified') AND q.expires_at <= %s
                        THEN 'expired' ELSE q.status END AS eff
            FROM (SELECT round(q.lat / %s) * %s AS slat) AS l
        ) AS s
"""
DEG_TO_RAD = math.pi / 180  # what math.radians multiplies by; PostgreSQL's radians() may differ in the last bit


def postgis_feature_sql(
    inner_sql: str,
    inner_params,
    *,
    grid_m: float,
    step_s: int,
    now: datetime,
    order: str = "id",
    stored_key: str | None = None,
):
    """SQL over `inner_sql` (rows with COLUMNS) giving (id, version, Feature text) per row, and its params.

    The text is pasted together (faster than json_build_object, and as compact as Python's output):
    strings go through to_json for their escaping, numbers through float8's shortest exact text. The grid
    arithmetic is snap_lon_lat's, step by step, in double precision: the snapped latitude, the longitude
    step that follows it, then 6 decimals as round(v * 1e6) / 1e6, which lands on the double nearest the
    decimal, as Python's round(v, 6) does; the two could differ only for a v within about 1e-14 of a tie
    (going through numeric is no better: float8 to numeric keeps 15 digits). tests/api checks them equal
    on 160,000 random points.

    With `stored_key`, `inner_sql` also has the columns public_feature and public_feature_key: a row whose
    text was stored under that key (incidents/api/stored.py) and that has not expired since gives the
    stored text instead, built when the row was written.
    """

    def time(column: str) -> str:
        return _TIME.format(col=f"q.{column}")

    feature = f"""
            '{{"type":"Feature","id":' || q.id::text
            || ',"geometry":{{"type":"Point","coordinates":['
            || ({PUBLIC_LON_SQL})::text || ','
            || ({PUBLIC_LAT_SQL})::text
            || ']}},"properties":{{"kind":"' || q.kind  -- one of conf.KINDS: nothing to escape
            || '","status":"' || s.eff
            || '","place":' || to_json(q.place)::text
            || ',"first_reported_at":"' || {time("first_reported_at")}
            || '","last_confirmed_at":"' || {time("last_confirmed_at")}
            || '","expires_at":"' || {time("expires_at")}
            || '","reporters":' || q.reporters::text
            || ',"still_there":' || q.still_there::text
            || ',"gone":' || q.gone::text
            || ',"confidence":' || q.confidence::float8::text
            || ',"verified":'
            || CASE WHEN q.verified_at IS NOT NULL AND s.eff <> 'rejected' THEN 'true' ELSE 'false' END
            || ',"note":' || to_json(q.note)::text
            || ',"updated_at":"' || {time("updated_at")}
            || '"}}}}'"""
    if stored_key is not None:
        feature = f"""CASE WHEN q.public_feature_key = %s AND s.eff = q.status THEN q.public_feature
            ELSE {feature} END"""
    sql = f"""
        SELECT q.id, q.version, {feature} AS feature
        FROM ({inner_sql}) AS q
        {SNAP_LATERAL_SQL}
        ORDER BY q.{order}
    """
    if order not in ("id", "version"):
        raise ValueError(order)
    lat_step = grid_m / METERS_PER_DEGREE_LAT
    params = [
        *([] if stored_key is None else [stored_key]),
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
    key = stored.current_key()  # None off PostgreSQL: nothing is stored there
    stored_columns = stored.COLUMNS if key is not None else {}
    limited = rows(queryset, *stored_columns, with_stored=key is not None)[offset : offset + limit + 1]
    if connection.vendor == "postgresql":
        inner_sql, inner_params = limited.query.sql_with_params()
        order = "version" if ordering == "version" else "id"
        sql, params = postgis_feature_sql(
            inner_sql, inner_params, grid_m=grid_m, step_s=step_s, now=now, order=order, stored_key=key
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        has_more = len(found) > limit
        found = found[:limit]
        return Page(
            body=",".join(row[2] for row in found),
            count=len(found),
            last_id=found[-1][0] if found else None,
            last_version=found[-1][1] if found else None,
            has_more=has_more,
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
