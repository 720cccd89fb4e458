"""Files of public Features: the API's CSV, and a GeoPackage written by GDAL's ogr2ogr.

Each writer takes batches of Features already shaped by the public read model (incidents/public/features.py:
snapped, floored, read-time expiry applied), so an export holds exactly what the API showed.

The GeoPackage goes through ogr2ogr from a CSV with a `.csvt` sidecar naming each column's type, taken from
the field table's codecs: GeoDjango's GDAL bindings only read (no layer can be created with them), the
`osgeo` bindings are not a dependency, and the CSV route streams batch by batch, gives exact column types
(times as DateTime, booleans as booleans) and still declares every field when the range holds nothing.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path
from typing import Any, Protocol

from incidents.public import csv as public_csv
from incidents.public import fields
from incidents.public.fields import Boolean, Integer, Number, Time

LAYER = "incidents"
OGR2OGR_TIMEOUT_S = 600


class Writer(Protocol):
    def add(self, body: str) -> None:
        """`body`: Features as comma-separated JSON text (`features.features_page`)."""

    def finish(self) -> None: ...


class CsvWriter:
    """The same CSV as `/api/v1/incidents?format=csv`, its header once."""

    def __init__(self, path: Path):
        self.path = path
        self.out = path.open("w", encoding="utf-8", newline="")
        self.started = False

    def add(self, body: str) -> None:
        text = public_csv.from_features(body)
        if self.started:
            text = text.split("\n", 1)[1] if "\n" in text else ""
        self.started = True
        self.out.write(text)

    def finish(self) -> None:
        if not self.started:
            self.out.write(public_csv.from_features(""))
        self.out.close()


def _ogr_type(codec: fields.Codec) -> str:
    if isinstance(codec, Integer):
        return "Integer"
    if isinstance(codec, Number):
        return "Real"
    if isinstance(codec, Time):
        return "DateTime"
    if isinstance(codec, Boolean):
        return "Integer(Boolean)"
    return "String"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return str(value)


class GeoPackageWriter:
    def __init__(self, path: Path, work_dir: Path):
        self.path = path
        self.source = work_dir / f"{path.stem}.csv"
        table = fields.FIELDS
        self.names = [f.name for f in table]
        types = ["Integer", "Real", "Real", *(_ogr_type(f.codec) for f in table)]
        self.source.with_suffix(".csvt").write_text(",".join(types) + "\r\n", encoding="utf-8")
        self.out = self.source.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.out, lineterminator="\r\n")
        self.writer.writerow(["id", "lon", "lat", *self.names])

    def add(self, body: str) -> None:

        for item in json.loads(f"[{body}]"):
            lon, lat = item["geometry"]["coordinates"]
            values = item["properties"]
            self.writer.writerow([item["id"], lon, lat, *(_cell(values[name]) for name in self.names)])

    def finish(self) -> None:
        self.out.close()
        command = [
            "ogr2ogr",
            "-f",
            "GPKG",
            str(self.path),
            str(self.source),
            "-oo",
            "X_POSSIBLE_NAMES=lon",
            "-oo",
            "Y_POSSIBLE_NAMES=lat",
            "-oo",
            "KEEP_GEOM_COLUMNS=NO",
            "-a_srs",
            "EPSG:4326",
            "-nln",
            LAYER,
            "-lco",
            "FID=fid",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=OGR2OGR_TIMEOUT_S)
        if result.returncode != 0 or not self.path.exists():
            raise RuntimeError(f"ogr2ogr failed: {result.stderr.strip()[-300:]}")


def writer_for(format: str, path: Path, work_dir: Path) -> Writer:
    if format == "csv":
        return CsvWriter(path)
    return GeoPackageWriter(path, work_dir)
