"""The public Feature as PostgreSQL writes it: generated from the field table (incidents/public/fields.py).

The grid arithmetic is `geo.spatial.snap_lon_lat`'s, step by step, in double precision: the snapped
latitude, the longitude step that follows it, then 6 decimals as round(v * 1e6) / 1e6, which lands on the
double nearest the decimal, as Python's round(v, 6) does; the two could differ only for a v within about
1e-14 of a tie (going through numeric is no better: float8 to numeric keeps 15 digits). tests/api checks
them equal on 160,000 random points. Settings are inlined as float8 literals written with Python's repr,
which PostgreSQL reads back to the same double; only `now` stays a parameter.

Every query here reads an inner query `q` with the columns of `fields.model_columns()` plus `lon` and
`lat`, and the lateral `s` (`snap_lateral`) with the snapped latitude, the longitude step and `eff`, the
effective status (incidents/public/status.py).
"""

from __future__ import annotations

import math

from geo.spatial import METERS_PER_DEGREE_LAT
from incidents.public import fields
from incidents.public.fields import Context
from incidents.public.status import effective_status_sql

# What math.radians multiplies by; PostgreSQL's radians() may differ in the last bit.
DEG_TO_RAD = math.pi / 180


def float8(value: float) -> str:
    return f"'{float(value)!r}'::float8"


# snap_lon_lat's steps, as SQL text over SQL expressions: each is written once and used both by the lateral
# join of the list's queries and by the filters over a column (`public_lon_lat`).
def _snapped_lat(lat: str, grid_m: float) -> str:
    lat_step = float8(grid_m / METERS_PER_DEGREE_LAT)
    return f"round({lat} / {lat_step}) * {lat_step}"


def _lon_step(snapped_lat: str, grid_m: float) -> str:
    return (
        f"{float8(grid_m)} / ({float8(METERS_PER_DEGREE_LAT)} * greatest(cos({snapped_lat} * {float8(DEG_TO_RAD)}), "
        "1e-6::float8))"
    )


def _lon(lon: str, lon_step: str) -> str:
    return f"round(round({lon} / ({lon_step})) * ({lon_step}) * 1e6::float8) / 1e6::float8"


def _lat(snapped_lat: str) -> str:
    return f"round(({snapped_lat}) * 1e6::float8) / 1e6::float8"


# The public longitude and latitude over q (lon) and s (slat, lon_step; see `snap_lateral`).
PUBLIC_LON = _lon("q.lon", "s.lon_step")
PUBLIC_LAT = _lat("s.slat")


def public_lon_lat(lon: str, lat: str, grid_m: float) -> tuple[str, str]:
    """The public longitude and latitude of a point given as two SQL expressions (for filters)."""
    snapped = f"({_snapped_lat(lat, grid_m)})"
    return _lon(lon, _lon_step(snapped, grid_m)), _lat(snapped)


def snap_lateral(grid_m: float, now: str = "%s") -> str:
    """The lateral join giving s.slat, s.lon_step and s.eff for each row of q; `now` is SQL (a placeholder)."""
    return f"""
        CROSS JOIN LATERAL (
            SELECT l.slat, {_lon_step("l.slat", grid_m)} AS lon_step,
                   {effective_status_sql("q.status", "q.expires_at", now)} AS eff
            FROM (SELECT {_snapped_lat("q.lat", grid_m)} AS slat) AS l
        ) AS s
    """


def feature_expression(ctx: Context) -> str:
    """The Feature's JSON text over q and s: what `features.feature` gives, pasted together (faster than
    json_build_object, and as compact as Python's output)."""
    properties = " || ',' || ".join(f"""'"{f.name}":' || {f.sql_text(ctx)}""" for f in fields.FIELDS)
    return f"""
        '{{"type":"Feature","id":' || q.id::text
        || ',"geometry":{{"type":"Point","coordinates":[' || ({PUBLIC_LON})::text || ',' || ({PUBLIC_LAT})::text
        || ']}},"properties":{{' || {properties} || '}}}}'"""


def features_sql(inner_sql: str, ctx: Context, *, order: str = "id", stored_key: str | None = None) -> str:
    """SQL over `inner_sql` giving (id, version, Feature text) per row, ordered by id, version or the inner
    query's `ordinal` column (its rank under a client's sort); its parameters are the inner query's, then
    `now`.

    With `stored_key`, `inner_sql` also has the columns public_feature and public_feature_key: a row whose
    text was stored under that key (incidents/public/stored.py) and that has not expired since gives the
    stored text instead, built when the row was written.
    """
    if order not in ("id", "version", "ordinal"):
        raise ValueError(order)
    feature = feature_expression(ctx)
    if stored_key is not None:
        if not stored_key.isalnum():
            raise ValueError(stored_key)
        feature = f"""CASE WHEN q.public_feature_key = '{stored_key}' AND s.eff = q.status
            THEN q.public_feature ELSE {feature} END"""
    return f"""
        SELECT q.id, q.version, {feature} AS feature
        FROM ({inner_sql}) AS q
        {snap_lateral(ctx.grid_m)}
        ORDER BY q.{order}
    """
