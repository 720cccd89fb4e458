"""CSV of public incidents: a header, then one row per incident: id, lon, lat, the field table's properties,
each cell as its codec writes it, and the point as WKT (UTF-8).

The WKT column's name, `_WKTgeom_EPSG_4326_POINT`, is the one GDAL's CSV driver writes and reads back as a
point geometry in EPSG:4326 without any option (a column named `WKT` would be read too, but with no SRS, and
a CSV cannot bring its .prj along): `ogrinfo`, `ogr2ogr` and QGIS through OGR open the file as points in
WGS 84. `lon` and `lat` are the names that kepler.gl, geojson.io, Datawrapper and QGIS's delimited-text
dialog pick up by themselves. With `bom` (`?format=excel`), the text starts with a UTF-8 byte order mark,
which Excel needs to read UTF-8 ("Maiquetía") rather than the machine's code page; other readers skip it.
"""

from __future__ import annotations

import csv
import io
import json

from incidents.public import fields

WKT_COLUMN = "_WKTgeom_EPSG_4326_POINT"
BOM = "\ufeff"


def from_features(body: str, *, bom: bool = False) -> str:
    """`body` is Features as comma-separated JSON text (`features.features_page`), parsed once here."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    table = fields.FIELDS
    writer.writerow(["id", "lon", "lat", *(f.name for f in table), WKT_COLUMN])
    for item in json.loads(f"[{body}]"):
        lon, lat = item["geometry"]["coordinates"]
        values = item["properties"]
        cells = (f.codec.cell(values[f.name]) for f in table)
        writer.writerow([item["id"], lon, lat, *cells, f"POINT ({lon!r} {lat!r})"])
    return out.getvalue()
