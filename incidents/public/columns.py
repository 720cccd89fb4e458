"""The map's compact format (`?format=columns`): the public incidents as one array per property.

The live map takes in every live incident at once; as GeoJSON that is about 480 bytes an incident, most
of it repeated keys and ISO times, which a phone's CPU must parse before it draws anything. Here each
property of the field table is one array in `columns`, with the encoding its `Field` names: a closed set
or a repeated text (kinds, statuses, place names) as indexes into a list of the body, a rare text (notes)
keyed by id, times as whole steps of PUBLIC_TIME_STEP_S counted from `t0`, numbers rounded. The values
are those of the GeoJSON Features (the same rows, snapping, flooring and read-time expiry), so the map
shows what the API says: tests/api checks the two agree incident by incident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from geo.spatial import floor_time, snap_lon_lat
from incidents.models import Incident
from incidents.public import fields
from incidents.public.features import Page, rows
from incidents.public.fields import Enum, Listed, Sparse, context
from incidents.public.status import effective_status

MEDIA_TYPE = "application/json"


def columns_page(queryset: QuerySet[Incident], *, limit: int, now: datetime) -> tuple[dict[str, Any], Page]:
    """Up to `limit` incidents of `queryset`, in id order, as columns; and the page's bounds for the cursor."""
    ctx = context(now)
    fetched = list(rows(queryset.order_by("id"))[: limit + 1])
    has_more = len(fetched) > limit
    fetched = fetched[:limit]
    t0 = floor_time(now, ctx.step_s)
    t0_s = int(t0.timestamp())
    effs = [effective_status(row.status, row.expires_at, now) for row in fetched]
    points = [snap_lon_lat(row.lon, row.lat, ctx.grid_m) for row in fetched]
    body: dict[str, Any] = {"type": "IncidentColumns", "t0": t0.strftime("%Y-%m-%dT%H:%M:%SZ"), "timeStep": ctx.step_s}
    columns: dict[str, list[Any]] = {
        "id": [row.id for row in fetched],
        "lon": [lon for lon, _lat in points],
        "lat": [lat for _lon, lat in points],
    }
    for f in fields.FIELDS:
        raws = [f.raw(row, eff) for row, eff in zip(fetched, effs, strict=True)]
        encoding = f.compact_encoding
        if isinstance(encoding, Listed):
            values: list[Any] = list(f.codec.values()) if isinstance(f.codec, Enum) else list(dict.fromkeys(raws))
            index = {value: i for i, value in enumerate(values)}
            body[encoding.key] = values
            columns[f.name] = [index[raw] for raw in raws]
        elif isinstance(encoding, Sparse):
            body[encoding.key] = {str(row.id): raw for row, raw in zip(fetched, raws, strict=True) if raw}
        else:
            compact = f.codec.compact
            columns[f.name] = [compact(raw, ctx, t0_s) for raw in raws]
    body["columns"] = columns
    page = Page(
        body="",
        count=len(fetched),
        last_id=fetched[-1].id if fetched else None,
        last_version=None,
        has_more=has_more,
    )
    return body, page
