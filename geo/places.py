"""Place search for picking a route's start and end by name: the offline gazetteer, several answers.

Geocoding a report (`geo.geocoding.locate`) must name one place or none; a person choosing where a trip
starts wants a short list to pick from instead ("San Juan" is many towns). Only places inside the
deployment area are searched, in memory, never a network service (a search box would soon exceed any
provider's rate policy). Typed coordinates ("10.48, -66.90", latitude first) give that point.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.gazetteer import DELIMITER, Place, tokenize
from geo.geocoding import gazetteer, parse_coordinates

DEFAULT_LIMIT = 8


@dataclass(frozen=True)
class PlaceMatch:
    name: str
    label: str  # "Maiquetía, La Guaira"
    state: str
    lon: float
    lat: float


def _key(text: str) -> str:
    """The gazetteer's folded form, abbreviations expanded ("Pto. La Cruz" → "puerto la cruz")."""
    return " ".join(token for token in tokenize(text) if token != DELIMITER)


def places_search(*, text: str, limit: int = DEFAULT_LIMIT) -> list[PlaceMatch]:
    """Places whose name matches `text`: the whole name first, then names that start with it, then names
    with a word that starts with it; within each, the larger places first."""
    point = parse_coordinates(text)
    if point is not None:
        label = f"{point.y:.5f}, {point.x:.5f}"
        return [PlaceMatch(name=label, label=label, state="", lon=point.x, lat=point.y)]
    wanted = _key(text)
    if not wanted:
        return []
    index = gazetteer().index
    ranked: list[tuple[int, int, str, Place]] = []
    for key, found in index.by_name.items():
        if key == wanted:
            rank = 0
        elif key.startswith(wanted):
            rank = 1
        elif f" {wanted}" in f" {key}":
            rank = 2
        else:
            continue
        ranked.extend((rank, -place.population, place.label, place) for place in found)
    ranked.sort(key=lambda item: item[:3])
    return [
        PlaceMatch(name=place.name, label=place.label, state=place.admin1, lon=place.lon, lat=place.lat)
        for *_order, place in ranked[:limit]
    ]
