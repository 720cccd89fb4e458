"""Public incidents as files for offline navigation apps and other tools: GPX 1.1 waypoints and KML 2.2.

Built from public Features only (what the GeoJSON says, snapped and floored), each property as the field
table labels and shows it, so the files say no more than the API. Written with ElementTree, which escapes
every text; characters that XML 1.0 cannot hold (NUL and other control characters) are dropped, since a
file with them would not open. A KML `description` is HTML to Google Earth and most KML viewers, so it is
built with Django's escaping (user text stays text); a GPX `desc` is plain text.

A waypoint's name is what OsmAnd, Organic Maps and Maps.me show on the map and in lists: the kind and the
place ("Checkpoint: Petare"); its time is when the incident was last confirmed, and the description begins
with that time, then every labelled property.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from incidents.models import Kind
from incidents.public import fields

GPX_MEDIA_TYPE = "application/gpx+xml"
KML_MEDIA_TYPE = "application/vnd.google-earth.kml+xml"
GPX_NS = "http://www.topografix.com/GPX/1/1"
KML_NS = "http://www.opengis.net/kml/2.2"
# The characters XML 1.0 allows (§2.2); any other is dropped.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    return _NOT_XML.sub("", str(value))


def _name(item: dict[str, Any]) -> str:
    properties = item["properties"]
    lon, lat = item["geometry"]["coordinates"]
    place = properties.get("place") or f"{lat:.4f}, {lon:.4f}"
    return _("%(kind)s: %(place)s") % {"kind": Kind(properties["kind"]).label, "place": place}


def _rows(item: dict[str, Any]) -> list[tuple[str, str]]:
    """What a person reads of the incident: the last confirmation first, then every labelled property, and,
    along a route, the distances."""
    properties = item["properties"]
    rows = [(str(label), text) for label, text in fields.display_rows(properties)]
    confirmed = [row for row in rows if row[0] == str(_("Last confirmed"))]
    rows = confirmed + [row for row in rows if row not in confirmed]
    if "distance_along_m" in properties:
        rows.append((_("Along the route"), f"{properties['distance_along_m']} m"))
        rows.append((_("From the route"), f"{properties['distance_from_route_m']} m"))
    return rows


def gpx(features: Iterable[dict[str, Any]], *, title: str, now: datetime) -> bytes:
    """A GPX 1.1 file with one waypoint (`wpt`) per Feature: time, name, desc and type (the kind)."""
    ET.register_namespace("", GPX_NS)
    root = ET.Element(f"{{{GPX_NS}}}gpx", {"version": "1.1", "creator": "Alcabala"})
    metadata = ET.SubElement(root, f"{{{GPX_NS}}}metadata")
    ET.SubElement(metadata, f"{{{GPX_NS}}}name").text = _text(title)
    ET.SubElement(metadata, f"{{{GPX_NS}}}time").text = now.strftime(fields.TIME_FORMAT)
    for item in features:
        lon, lat = item["geometry"]["coordinates"]
        properties = item["properties"]
        point = ET.SubElement(root, f"{{{GPX_NS}}}wpt", {"lat": repr(lat), "lon": repr(lon)})
        # The schema's order: time, name, desc, ..., type.
        ET.SubElement(point, f"{{{GPX_NS}}}time").text = properties["last_confirmed_at"]
        ET.SubElement(point, f"{{{GPX_NS}}}name").text = _text(_name(item))
        desc = "\n".join(f"{label}: {text}" for label, text in _rows(item))
        ET.SubElement(point, f"{{{GPX_NS}}}desc").text = _text(desc)
        ET.SubElement(point, f"{{{GPX_NS}}}type").text = properties["kind"]
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def kml(features: Iterable[dict[str, Any]], *, title: str) -> bytes:
    """A KML 2.2 document with one Placemark per Feature: name, an HTML description (escaped), a TimeStamp
    (last confirmed), every public property as ExtendedData, and the Point."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    document = ET.SubElement(root, f"{{{KML_NS}}}Document")
    ET.SubElement(document, f"{{{KML_NS}}}name").text = _text(title)
    for item in features:
        lon, lat = item["geometry"]["coordinates"]
        properties = item["properties"]
        placemark = ET.SubElement(document, f"{{{KML_NS}}}Placemark", {"id": f"incident-{item['id']}"})
        ET.SubElement(placemark, f"{{{KML_NS}}}name").text = _text(_name(item))
        html = format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", _rows(item)))
        ET.SubElement(placemark, f"{{{KML_NS}}}description").text = _text(html)
        stamp = ET.SubElement(placemark, f"{{{KML_NS}}}TimeStamp")
        ET.SubElement(stamp, f"{{{KML_NS}}}when").text = properties["last_confirmed_at"]
        data = ET.SubElement(placemark, f"{{{KML_NS}}}ExtendedData")
        for name, value in [("id", item["id"]), *properties.items()]:
            cell = ET.SubElement(data, f"{{{KML_NS}}}Data", {"name": name})
            if isinstance(value, list):
                value = ";".join(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            ET.SubElement(cell, f"{{{KML_NS}}}value").text = "" if value is None else _text(value)
        point = ET.SubElement(placemark, f"{{{KML_NS}}}Point")
        ET.SubElement(point, f"{{{KML_NS}}}coordinates").text = f"{lon!r},{lat!r}"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
