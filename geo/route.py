"""A route to check for incidents along: read from GeoJSON or GPX, validated, and measured.

GeoJSON: a LineString, a MultiLineString (its parts joined in order), or a Feature or FeatureCollection
holding one of those, as phone apps and QGIS export them. At most MAX_VERTICES positions: a longer line is
refused, since the client drew or chose it and can simplify it.
GPX (parsed with defusedxml: no DTD, no entities): the track points of every trk/trkseg in order, or else
the route points of rte. A recorded track has a point every second or so, so a longer one is simplified
here to MAX_VERTICES (Douglas-Peucker in local metres, with the smallest tolerance that fits; the answer
says which).

Measuring: the database finds where along the line an incident is as a fraction of its length in a flat
lon/lat plane, with longitudes scaled by the cosine of the route's middle latitude (`scale`). `along_m`
turns that fraction into metres along the route on the sphere, leg by leg, so legs that run east-west
and north-south are measured alike. Long legs are first cut into pieces of at most DENSIFY_DEG, so that
the geodesic edges the database's geography type uses stay on the straight legs drawn on the map.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from xml.parsers import expat

from django.contrib.gis.geos import GEOSGeometry, LineString
from django.utils.translation import gettext as _

from config import parsers
from incidents.errors import DomainError

MAX_VERTICES = 500
# A track of 20,000 points is over five hours at a point a second; reading and simplifying it takes some
# tens of milliseconds. Past either bound the file is refused while it is read, not after.
MAX_GPX_POINTS = 20_000
MAX_GPX_ELEMENTS = 150_000  # every element counts (a point's ele, time, extensions...), so junk cannot hide
SIMPLIFY_CHUNK = 1024  # points per piece when simplifying (see `simplify`)
MIN_CORRIDOR_M = 10
MAX_CORRIDOR_M = 5_000
DEFAULT_CORRIDOR_M = 300
DENSIFY_DEG = 0.05  # about 5.5 km: a geodesic and a straight lon/lat leg this long differ by under a metre
MAX_DENSE_POINTS = 5_000  # a continent-long route is cut into longer pieces rather than into millions
EARTH_RADIUS_M = 6_371_008.8
LINE_TYPES = ("LineString", "MultiLineString")

Position = tuple[float, float]


class RouteError(DomainError):
    """A route or corridor that cannot be used, with a code and a sentence saying what to change."""

    default_field = "route"


def _invalid(detail: str) -> RouteError:
    return RouteError("invalid_route", detail)


@dataclass(frozen=True)
class Route:
    points: tuple[Position, ...]  # (lon, lat), consecutive duplicates removed
    source_points: int  # how many the input held
    tolerance_m: float = 0.0  # how far simplification may have moved the line; 0 when it was not simplified
    kind: str = "geojson"  # or "gpx"
    measure: RouteMeasure = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "measure", RouteMeasure(self.points))

    @property
    def simplified(self) -> bool:
        return self.tolerance_m > 0

    def geojson(self) -> dict:
        return {"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y in self.points]}


# --- parsing --------------------------------------------------------------------------------------------


def parse_corridor(value: object) -> float:
    """corridor_m: metres either side of the route, MIN_CORRIDOR_M to MAX_CORRIDOR_M, default 300."""
    detail = _("corridor_m must be a number of metres from %(min)s to %(max)s.") % {
        "min": MIN_CORRIDOR_M,
        "max": f"{MAX_CORRIDOR_M:,}",
    }
    if value is None or value == "":
        return float(DEFAULT_CORRIDOR_M)
    if isinstance(value, bool):
        raise RouteError("invalid_corridor", detail, field="corridor_m")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise RouteError("invalid_corridor", detail, field="corridor_m") from None
    if not math.isfinite(number) or not MIN_CORRIDOR_M <= number <= MAX_CORRIDOR_M:
        raise RouteError("invalid_corridor", detail, field="corridor_m")
    return number


def _reject_constant(name: str) -> float:
    raise _invalid(
        _("The route holds %(name)s, which is not a number: coordinates must be finite numbers.") % {"name": name}
    )


def load_json(data: bytes | str) -> object:
    """JSON text, refusing NaN and Infinity (which Python's parser would otherwise accept) and deep nesting."""
    try:
        return parsers.loads(data, parse_constant=_reject_constant)
    except RouteError:
        raise
    except parsers.JSONTooDeep as exc:
        raise RouteError("too_deep", parsers.too_deep_error(exc.limit).detail) from None
    except ValueError as exc:
        raise RouteError("invalid_json", _("The body is not valid JSON: %(error)s") % {"error": exc}) from None


def _position(raw: object, number: int) -> Position:
    if not isinstance(raw, list | tuple) or not 2 <= len(raw) <= 4:
        raise _invalid(_("Position %(n)s of the route is not [longitude, latitude].") % {"n": number})
    lon, lat = raw[0], raw[1]
    for value in (lon, lat):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(
                _("Position %(n)s of the route is not [longitude, latitude] numbers: %(value)s.")
                % {"n": number, "value": json.dumps(raw)[:80]}
            )
    x, y = parsers.finite_float(lon), parsers.finite_float(lat)
    if x is None or y is None:  # an integer too large for a float
        raise _invalid(_("Position %(n)s of the route is not a finite number.") % {"n": number})
    return _checked(x, y, number)


def _checked(lon: float, lat: float, number: int) -> Position:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise _invalid(_("Position %(n)s of the route is not a finite number.") % {"n": number})
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _invalid(
            _(
                "Position %(n)s of the route is out of range: longitude within ±180, latitude within ±90 "
                "(GeoJSON puts the longitude first)."
            )
            % {"n": number}
        )
    return lon, lat


def _line_geometries(data: object) -> list[dict]:
    """The line geometries a GeoJSON object holds (a Feature's or FeatureCollection's included)."""
    shape = _("The route must be a GeoJSON LineString, or a Feature or FeatureCollection holding one.")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise _invalid(shape)
    kind = data["type"]
    if kind in LINE_TYPES:
        return [data]
    if kind == "Feature":
        geometry = data.get("geometry")
        if isinstance(geometry, dict) and geometry.get("type") in LINE_TYPES:
            return [geometry]
        found = geometry.get("type") if isinstance(geometry, dict) else None
        raise _invalid(_("The route's Feature holds %(found)s, not a line.") % {"found": found or _("no geometry")})
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise _invalid(shape)
        lines = [
            f["geometry"]
            for f in features
            if isinstance(f, dict) and isinstance(f.get("geometry"), dict) and f["geometry"].get("type") in LINE_TYPES
        ]
        if not lines:
            raise _invalid(_("The FeatureCollection holds no LineString or MultiLineString."))
        if len(lines) > 1:
            raise _invalid(
                _("The FeatureCollection holds %(n)s lines; send the one route to check.") % {"n": len(lines)}
            )
        return lines
    raise _invalid(_("The route is a %(kind)s; send a LineString.") % {"kind": kind[:40]})


def route_from_geojson(data: object) -> Route:
    """A Route from parsed GeoJSON; more than MAX_VERTICES positions are refused, not simplified."""
    geometry = _line_geometries(data)[0]
    coordinates = geometry.get("coordinates")
    parts = [coordinates] if geometry["type"] == "LineString" else coordinates
    message = _("The route's coordinates must be a list of [longitude, latitude] positions.")
    if not isinstance(parts, list) or not all(isinstance(part, list) for part in parts):
        raise _invalid(message)
    total = sum(len(part) for part in parts)
    if total > MAX_VERTICES:
        raise RouteError(
            "too_many_vertices",
            _(
                "The route has %(n)s positions; the limit is %(max)s. Simplify the line, or send the track "
                "as GPX, which is simplified for you."
            )
            % {"n": f"{total:,}", "max": MAX_VERTICES},
        )
    positions = [_position(raw, number) for number, raw in enumerate((p for part in parts for p in part), start=1)]
    return Route(points=_distinct(positions), source_points=total, kind="geojson")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _GpxReader:
    """Track and route points, read as the parser streams: the file is refused at the first point or element
    past its bound. No DTD, entity or external reference is accepted (defusedxml's rules, on expat itself:
    ElementTree's Python handlers cost three times as much per element)."""

    def __init__(self) -> None:
        self.track: list[tuple[str | None, str | None]] = []
        self.route: list[tuple[str | None, str | None]] = []
        self.elements = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_GPX_ELEMENTS:
            detail = _("The GPX file holds more than %(max)s elements; send the track alone, without extras.")
            raise RouteError("too_many_points", detail % {"max": f"{MAX_GPX_ELEMENTS:,}"}, status_code=413)
        local = _local(name)
        if self.elements == 1 and local != "gpx":
            raise RouteError("invalid_gpx", _("This is not a GPX file: its root element is not <gpx>."))
        if local in ("trkpt", "rtept"):
            (self.track if local == "trkpt" else self.route).append((attrs.get("lon"), attrs.get("lat")))
            if len(self.track) + len(self.route) > MAX_GPX_POINTS:
                detail = _(
                    "The GPX file holds more than %(max)s points; send a shorter track, or one recorded less often."
                )
                raise RouteError("too_many_points", detail % {"max": f"{MAX_GPX_POINTS:,}"}, status_code=413)

    @staticmethod
    def forbidden(*args: object) -> None:
        raise RouteError("invalid_gpx", _("The GPX file declares a DTD or entities, which are not accepted."))

    def parse(self, data: bytes | str) -> None:
        parser = expat.ParserCreate(namespace_separator="}")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartElementHandler = self.start
        parser.StartDoctypeDeclHandler = self.forbidden
        parser.EntityDeclHandler = self.forbidden
        parser.UnparsedEntityDeclHandler = self.forbidden
        parser.ExternalEntityRefHandler = self.forbidden  # type: ignore[assignment]
        try:
            parser.Parse(data, True)
        except expat.ExpatError as exc:
            detail = _("The GPX file is not well-formed XML: %(error)s") % {"error": exc}
            raise RouteError("invalid_gpx", detail) from None


def route_from_gpx(data: bytes | str) -> Route:
    """A Route from GPX 1.0 or 1.1 text: its tracks' points, or else its route's; simplified to fit."""
    reader = _GpxReader()
    reader.parse(data)
    raw = reader.track or reader.route
    if not raw:
        raise RouteError("invalid_gpx", _("The GPX file holds no track (trkpt) or route (rtept) points."))
    positions = []
    for number, (raw_lon, raw_lat) in enumerate(raw, start=1):
        try:
            lon, lat = float(raw_lon), float(raw_lat)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise RouteError(
                "invalid_gpx",
                _("Point %(n)s of the GPX file has no numeric lat and lon attributes.") % {"n": number},
            ) from None
        try:
            positions.append(_checked(lon, lat, number))
        except RouteError as exc:
            raise RouteError("invalid_gpx", exc.detail) from None
    points = _distinct(positions)
    simplified, tolerance = simplify(points, MAX_VERTICES)
    return Route(points=tuple(simplified), source_points=len(raw), tolerance_m=tolerance, kind="gpx")


def route_from_body(data: bytes, content_type: str) -> Route:
    """A Route from a request body: GPX (XML) or GeoJSON, by its media type, or by its first character."""
    media = content_type.split(";", 1)[0].strip().lower()
    head = data.lstrip()[:1]
    if media in ("application/gpx+xml", "application/xml", "text/xml") or (
        media not in ("application/json", "application/geo+json") and head == b"<"
    ):
        return route_from_gpx(data)
    if media in ("application/json", "application/geo+json") or head in (b"{", b"["):
        return route_from_geojson(load_json(data))
    raise RouteError(
        "unsupported_media_type",
        _("Send the route as application/json, application/geo+json or application/gpx+xml."),
        status_code=415,
    )


def _distinct(positions: list[Position]) -> tuple[Position, ...]:
    kept: list[Position] = []
    for position in positions:
        if not kept or position != kept[-1]:
            kept.append(position)
    if len(kept) < 2:
        raise RouteError(
            "route_too_short", _("The route needs at least two different points; it has %(n)s.") % {"n": len(kept)}
        )
    return tuple(kept)


# --- simplifying and measuring --------------------------------------------------------------------------


def _scale(points: tuple[Position, ...] | list[Position]) -> float:
    lats = [lat for _lon, lat in points]
    return max(math.cos(math.radians((min(lats) + max(lats)) / 2)), 1e-6)


def simplify(points: tuple[Position, ...], limit: int) -> tuple[list[Position], float]:
    """At most `limit` points, with the smallest Douglas-Peucker tolerance (in metres, within 1%) that fits.

    The line is simplified in pieces of SIMPLIFY_CHUNK points, each keeping its two ends: Douglas-Peucker
    takes time quadratic in its input on an almost straight line (GEOS spent over 500 ms on one 20,000-point
    track), and in pieces that is bounded by the piece's size. Every piece stays within the tolerance, so
    the whole line does too.
    """
    if len(points) <= limit:
        return list(points), 0.0
    scale = _scale(points) * 111_320.0
    local = [(lon * scale, lat * 111_320.0) for lon, lat in points]
    step = SIMPLIFY_CHUNK - 1
    pieces = [_line(local[i : i + SIMPLIFY_CHUNK]) for i in range(0, len(local) - 1, step)]

    def fit(tolerance: float) -> list[LineString] | None:
        simplified: list[LineString] = []
        for piece in pieces:
            line = piece.simplify(tolerance, preserve_topology=False)
            if not isinstance(line, LineString):  # a piece keeps its two ends
                return None
            simplified.append(line)
        kept = sum(piece.num_points for piece in simplified) - len(simplified) + 1  # shared ends count once
        return simplified if kept <= limit else None

    low, high = 0.0, 1.0
    while fit(high) is None:
        if high > 4 * EARTH_RADIUS_M:
            raise _invalid(_("The route cannot be simplified to %(max)s positions.") % {"max": limit})
        low, high = high, high * 4
    best = fit(high)
    while high - low > max(0.01 * high, 0.1):
        middle = (low + high) / 2
        found = fit(middle)
        if found is None:
            low = middle
        else:
            high, best = middle, found
    assert best is not None
    coords: list[tuple[float, ...]] = [best[0].coords[0]]
    for piece in best:
        coords.extend(piece.coords[1:])
    return [(c[0] / scale, c[1] / 111_320.0) for c in coords], high


def _line(coords: list[Position]) -> LineString:
    """A GEOS line built from WKB in one call (point by point, 20,000 points cost more than simplifying)."""
    header = struct.pack("=BII", 1 if sys.byteorder == "little" else 0, 2, len(coords))  # WKB, as `array` packs
    line = GEOSGeometry(memoryview(header + array("d", [v for xy in coords for v in xy]).tobytes()))
    assert isinstance(line, LineString)
    return line


def haversine_m(a: Position, b: Position) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class RouteMeasure:
    """The route as the database sees it (densified), and the way from a located fraction to metres."""

    def __init__(self, points: tuple[Position, ...]):
        spans = [max(abs(b[0] - a[0]), abs(b[1] - a[1])) for a, b in zip(points, points[1:], strict=False)]
        step = max(DENSIFY_DEG, sum(spans) / (MAX_DENSE_POINTS - len(points)))
        dense: list[Position] = [points[0]]
        for a, b, span in zip(points, points[1:], spans, strict=False):
            pieces = max(1, math.ceil(span / step))
            for i in range(1, pieces + 1):
                dense.append((a[0] + (b[0] - a[0]) * i / pieces, a[1] + (b[1] - a[1]) * i / pieces))
        self.points = dense
        self.scale = _scale(points)
        self.planar = [0.0]  # cumulative length in the scaled plane, as the database's line-locating measures it
        self.metres = [0.0]  # cumulative length on the sphere
        for a, b in zip(dense, dense[1:], strict=False):
            self.planar.append(self.planar[-1] + math.hypot((b[0] - a[0]) * self.scale, b[1] - a[1]))
            self.metres.append(self.metres[-1] + haversine_m(a, b))

    @property
    def length_m(self) -> float:
        return self.metres[-1]

    def line(self) -> LineString:
        return LineString(self.points, srid=4326)

    def scaled_line(self) -> LineString:
        return LineString([(lon * self.scale, lat) for lon, lat in self.points], srid=4326)

    def along_m(self, fraction: float) -> float:
        """Metres along the route of a point located at `fraction` of the scaled line's length."""
        target = min(max(fraction, 0.0), 1.0) * self.planar[-1]
        i = min(bisect_right(self.planar, target) - 1, len(self.planar) - 2)
        i = max(i, 0)
        span = self.planar[i + 1] - self.planar[i]
        t = (target - self.planar[i]) / span if span > 0 else 0.0
        return self.metres[i] + min(max(t, 0.0), 1.0) * (self.metres[i + 1] - self.metres[i])

    def envelope(self, pad_m: float) -> tuple[float, float, float, float]:
        """A lon/lat box holding every point within `pad_m` of the route (for index prefilters)."""
        lons = [lon for lon, _lat in self.points]
        lats = [lat for _lon, lat in self.points]
        pad_lat = pad_m / 111_000.0
        cos_lat = max(math.cos(math.radians(min(max(abs(v) for v in lats) + pad_lat, 89.9))), 1e-6)
        pad_lon = pad_m / (111_000.0 * cos_lat)
        return min(lons) - pad_lon, min(lats) - pad_lat, max(lons) + pad_lon, max(lats) + pad_lat

    def pad_degrees(self, pad_m: float) -> float:
        """A planar lon/lat distance that every point within `pad_m` metres of the route is inside of."""
        lats = [abs(lat) for _lon, lat in self.points]
        pad_lat = pad_m / 111_000.0
        cos_lat = max(math.cos(math.radians(min(max(lats) + pad_lat, 89.9))), 1e-6)
        return pad_m / (111_000.0 * cos_lat)
