"""CSV of public incidents: a header, then one row per incident: id, lon, lat and the field table's
properties, each cell as its codec writes it (UTF-8)."""

from __future__ import annotations

import csv
import io
import json

from incidents.public import fields


def from_features(body: str) -> str:
    """`body` is Features as comma-separated JSON text (`features.features_page`), parsed once here."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    table = fields.FIELDS
    writer.writerow(["id", "lon", "lat", *(f.name for f in table)])
    for item in json.loads(f"[{body}]"):
        lon, lat = item["geometry"]["coordinates"]
        values = item["properties"]
        writer.writerow([item["id"], lon, lat, *(f.codec.cell(values[f.name]) for f in table)])
    return out.getvalue()
