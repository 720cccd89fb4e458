"""The map's compact format (`?format=columns`): the public incidents as one array per property.

The live map takes in every live incident at once; as GeoJSON that is about 480 bytes an incident, most
of it repeated keys and ISO times, which a phone's CPU must parse before it draws anything. Here each
property is one array, kinds and statuses are indexes into short lists, place names are indexes into a
list of the distinct names, notes (rare) are keyed by id, and times are whole steps of
PUBLIC_TIME_STEP_S counted from `t0`. The values are those of the GeoJSON Features (the same rows, the
same snapping and flooring, the same read-time expiry), so the map shows what the API says: tests/api
checks the two agree incident by incident.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db.models import QuerySet

from geo.spatial import floor_time, snap_lon_lat
from incidents import conf
from incidents.api import fast
from incidents.models import Incident, Status

MEDIA_TYPE = "application/json"
STATUSES = [choice.value for choice in Status]
TIME_COLUMNS = ("first_reported_at", "last_confirmed_at", "expires_at", "updated_at")
COUNT_COLUMNS = ("reporters", "still_there", "gone")
CONFIDENCE_DECIMALS = 4


def columns_page(queryset: QuerySet[Incident], *, limit: int, now: datetime) -> tuple[dict, fast.Page]:
    """Up to `limit` incidents of `queryset`, in id order, as columns; and the page's bounds for the cursor."""
    grid_m = conf.public_grid_m()
    step_s = conf.public_time_step_s()
    fetched = list(fast.rows(queryset.order_by("id"))[: limit + 1])
    has_more = len(fetched) > limit
    fetched = fetched[:limit]
    t0 = floor_time(now, step_s)
    t0_s = int(t0.timestamp())
    kinds = list(conf.KINDS)
    kind_index = {kind: i for i, kind in enumerate(kinds)}
    status_index = {status: i for i, status in enumerate(STATUSES)}
    places: list[str] = []
    place_index: dict[str, int] = {}
    notes: dict[str, str] = {}
    columns: dict[str, list] = {
        name: []
        for name in ("id", "lon", "lat", "kind", "status", "place", *TIME_COLUMNS, *COUNT_COLUMNS, "confidence")
    }
    columns["verified"] = []

    def steps(value: datetime) -> int:
        return (int(floor_time(value, step_s).timestamp()) - t0_s) // step_s

    for row in fetched:
        (pk, kind, status, place, first, last, expires, reporters, still, gone, confidence, verified_at, note,
         updated, _version, x, y) = row  # fmt: skip
        lon, lat = snap_lon_lat(x, y, grid_m)
        eff = fast.effective(status, expires, now)
        if place not in place_index:
            place_index[place] = len(places)
            places.append(place)
        if note:
            notes[str(pk)] = note
        columns["id"].append(pk)
        columns["lon"].append(lon)
        columns["lat"].append(lat)
        columns["kind"].append(kind_index[kind])
        columns["status"].append(status_index[eff])
        columns["place"].append(place_index[place])
        columns["first_reported_at"].append(steps(first))
        columns["last_confirmed_at"].append(steps(last))
        columns["expires_at"].append(steps(expires))
        columns["updated_at"].append(steps(updated))
        columns["reporters"].append(reporters)
        columns["still_there"].append(still)
        columns["gone"].append(gone)
        columns["confidence"].append(round(float(confidence), CONFIDENCE_DECIMALS))
        columns["verified"].append(1 if verified_at is not None and eff != Status.REJECTED else 0)
    body = {
        "type": "IncidentColumns",
        "t0": t0.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timeStep": step_s,
        "kinds": kinds,
        "statuses": STATUSES,
        "places": places,
        "notes": notes,
        "columns": columns,
    }
    page = fast.Page(
        body="",
        count=len(fetched),
        last_id=fetched[-1][0] if fetched else None,
        last_version=None,
        has_more=has_more,
    )
    return body, page


def dumps(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
