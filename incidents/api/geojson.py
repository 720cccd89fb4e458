"""The public face of an incident: an RFC 7946 Feature with exactly DESIGN §5's properties.

Locations are snapped to PUBLIC_GRID_M and times rounded down to PUBLIC_TIME_STEP_S (DESIGN §6.4).
"""

from __future__ import annotations

import json
from datetime import datetime

from geo.spatial import floor_time, snap_lon_lat
from incidents import conf
from incidents.models import Incident, Status
from incidents.selectors import effective_status

GEOJSON = "application/geo+json"

PUBLIC_PROPERTIES = (
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
    "verified",
    "note",
    "updated_at",
)


def public_time(value: datetime, step_s: int) -> str:
    return floor_time(value, step_s).strftime("%Y-%m-%dT%H:%M:%SZ")


def feature(incident: Incident, *, now: datetime, grid_m: float | None = None, step_s: int | None = None) -> dict:
    grid_m = grid_m or conf.public_grid_m()
    step_s = step_s or conf.public_time_step_s()
    lon, lat = snap_lon_lat(incident.point.x, incident.point.y, grid_m)
    status = effective_status(incident, now)
    return {
        "type": "Feature",
        "id": incident.pk,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "kind": incident.kind,
            "status": status,
            "place": incident.place,
            "first_reported_at": public_time(incident.first_reported_at, step_s),
            "last_confirmed_at": public_time(incident.last_confirmed_at, step_s),
            "expires_at": public_time(incident.expires_at, step_s),
            "reporters": incident.reporters,
            "still_there": incident.still_there,
            "gone": incident.gone,
            "confidence": incident.confidence,
            "verified": incident.verified_at is not None and status != Status.REJECTED,
            "note": incident.note,
            "updated_at": public_time(incident.updated_at, step_s),
        },
    }


def dumps(data: dict | list) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
