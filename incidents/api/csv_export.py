"""CSV of public incidents: one row per incident, lon, lat, then the public properties (UTF-8, a header)."""

from __future__ import annotations

import csv
import io
import json

from incidents.api.geojson import PUBLIC_PROPERTIES

HEADER = ("id", "lon", "lat", *PUBLIC_PROPERTIES)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def from_features(body: str) -> str:
    """`body` is Features as comma-separated JSON text (incidents/api/fast.py), parsed once here."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for item in json.loads(f"[{body}]"):
        lon, lat = item["geometry"]["coordinates"]
        properties = item["properties"]
        writer.writerow([item["id"], lon, lat, *(_cell(properties[name]) for name in PUBLIC_PROPERTIES)])
    return out.getvalue()
