"""Public Features, as GeoJSON (RFC 7946) dicts and text, one at a time or a page at a time.

PostGIS: the database writes each Feature's text with the SQL generated from the field table
(incidents/public/sql.py), or pastes the text a trigger stored with the row (incidents/public/stored.py).
SpatiaLite: rows come back named and each Feature is built from the same table in Python. Either way the
text is identical, once parsed, to `feature()` for the same incident (tests/api compares them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, FloatField, Func, QuerySet, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber

from geo.spatial import snap_lon_lat
from incidents.models import Incident
from incidents.public import sql, stored
from incidents.public.fields import Context, context, model_columns, properties

GEOJSON = "application/geo+json"


class PointX(Func):
    template = "ST_X(%(expressions)s)"
    output_field = FloatField()


class PointY(Func):
    template = "ST_Y(%(expressions)s)"
    output_field = FloatField()


def dumps(data: Any) -> str:
    """Compact JSON text, UTF-8 kept as is."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def rows(queryset: QuerySet[Incident], *extra: str, with_stored: bool = False) -> QuerySet[Any]:
    """Named rows of the columns the field table reads (and `extra` annotations), the point as lon and lat.

    `with_stored` (PostgreSQL): also the columns that hold the stored Feature text (incidents/public/stored.py).
    """
    queryset = queryset.annotate(lon=PointX(F("point")), lat=PointY(F("point")))
    if with_stored:
        queryset = queryset.annotate(**{name: RawSQL(column, ()) for name, column in stored.COLUMNS.items()})
    return queryset.values_list(*model_columns(), "lon", "lat", *extra, named=True)


def feature_of(row: Any, ctx: Context) -> dict[str, Any]:
    """The Feature of a named row (`rows`) or of an Incident (whose point gives lon and lat)."""
    if isinstance(row, Incident):
        lon, lat = row.point.x, row.point.y
    else:
        lon, lat = row.lon, row.lat
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": {"type": "Point", "coordinates": list(snap_lon_lat(lon, lat, ctx.grid_m))},
        "properties": properties(row, ctx),
    }


def feature(incident: Incident, *, now: datetime) -> dict[str, Any]:
    """The public Feature of one incident, under the current settings."""
    return feature_of(incident, context(now))


@dataclass
class Page:
    body: str  # the Features, comma-separated, ready to paste between [ and ]
    count: int
    last_id: int | None
    last_version: int | None
    has_more: bool


def _texts(limited: QuerySet[Any], ctx: Context, *, order: str, key: str | None) -> list[tuple[int, int, str]]:
    """(id, version, Feature text) of each row of `limited` (a sliced `rows` queryset), in `order`."""
    if connection.vendor == "postgresql":
        inner_sql, inner_params = limited.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql.features_sql(inner_sql, ctx, order=order, stored_key=key), [*inner_params, ctx.now])
            return cursor.fetchall()
    return [(row.id, row.version, dumps(feature_of(row, ctx))) for row in limited]


def features_page(
    queryset: QuerySet[Incident],
    *,
    limit: int,
    now: datetime,
    ordering: str = "id",
    offset: int = 0,
    order_by: Sequence[Any] | None = None,
) -> Page:
    """Up to `limit` Features of `queryset` (ordered by `ordering`, id or version, or by the expressions
    `order_by`, which should end with a unique one) as JSON text, and whether more remain."""
    ctx = context(now)
    key = stored.current_key()  # None off PostgreSQL: nothing is stored there
    extra = tuple(stored.COLUMNS) if key is not None else ()
    order = "version" if ordering == "version" else "id"
    if order_by:
        # The rank travels as a column, so the outer query that writes the text keeps the order.
        queryset = queryset.annotate(ordinal=Window(RowNumber(), order_by=list(order_by))).order_by("ordinal")
        extra, order = ("ordinal", *extra), "ordinal"
    limited = rows(queryset, *extra, with_stored=key is not None)[offset : offset + limit + 1]
    found = _texts(limited, ctx, order=order, key=key)
    has_more = len(found) > limit
    found = found[:limit]
    return Page(
        body=",".join(text for _id, _version, text in found),
        count=len(found),
        last_id=found[-1][0] if found else None,
        last_version=found[-1][1] if found else None,
        has_more=has_more,
    )


def feature_texts(queryset: QuerySet[Incident], *, now: datetime) -> dict[int, str]:
    """The Feature text of every incident of `queryset`, by id, built as the list builds it."""
    return {pk: text for pk, _version, text in _texts(rows(queryset), context(now), order="id", key=None)}
