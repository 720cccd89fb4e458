"""POST /api/v1/route-check and GET /api/v1/places: "is there a checkpoint on my way?" (issue 9).

The route comes either as JSON `{"route": <GeoJSON line, or GPX text>, "corridor_m": 300}`, or as the raw
file: a GeoJSON body (`application/geo+json` or `application/json`) or a GPX body (`application/gpx+xml`),
with `corridor_m` in the query string. Parsing and its limits are in geo/route.py, the query in
incidents/route.py; this module translates.
"""

from __future__ import annotations

import copy

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from config.errors import ApiError
from consumers import throttle
from geo import places, route
from incidents import route as along
from incidents.api import params, schema
from incidents.api.views import FILES, GeoJSONRenderer, GPXRenderer, KMLRenderer, attachment, file_body
from incidents.public.features import GEOJSON, dumps

DEFAULT_LIMIT = 1000
MAX_PLACES = 20
# A phone's GPX track of several hours; far above DATA_UPLOAD_MAX_MEMORY_SIZE, which suits the other bodies.
MAX_BODY_BYTES = 4 * 1024 * 1024

# --- the OpenAPI description -------------------------------------------------------------------------------

LINE = {
    "type": "object",
    "description": "A GeoJSON LineString ([longitude, latitude] positions); a MultiLineString, a Feature or a "
    "FeatureCollection holding one line are accepted too.",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["LineString"]},
        "coordinates": {
            "type": "array",
            "minItems": 2,
            "maxItems": route.MAX_VERTICES,
            "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3},
        },
    },
}
CORRIDOR = {
    "type": "number",
    "minimum": route.MIN_CORRIDOR_M,
    "maximum": route.MAX_CORRIDOR_M,
    "default": route.DEFAULT_CORRIDOR_M,
    "description": "Metres either side of the route.",
}
ROUTE_INPUT = {
    "type": "object",
    "required": ["route"],
    "properties": {
        "route": {
            "oneOf": [LINE, {"type": "string", "description": "GPX text, or GeoJSON text."}],
        },
        "corridor_m": CORRIDOR,
    },
}
ROUTE_FEATURE = copy.deepcopy(schema.FEATURE)
ROUTE_FEATURE["properties"]["properties"]["required"] += ["distance_along_m", "distance_from_route_m"]
ROUTE_FEATURE["properties"]["properties"]["properties"].update(
    distance_along_m={
        "type": "integer",
        "minimum": 0,
        "description": "Metres from the route's start to the point of the route nearest the incident.",
    },
    distance_from_route_m={
        "type": "integer",
        "minimum": 0,
        "description": "Metres between the incident and the route.",
    },
)
ROUTE_COLLECTION = {
    "type": "object",
    "required": ["type", "features", "route", "corridor_m", "length_m", "numberMatched", "numberReturned", "timeStamp"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": ROUTE_FEATURE},
        "route": {
            "type": "object",
            "description": "The line that was checked (a GPX track simplified to at most "
            f"{route.MAX_VERTICES} positions), its straight legs as drawn on a map.",
        },
        "corridor_m": {"type": "number"},
        "length_m": {"type": "integer", "description": "The route's length in metres."},
        "source_points": {"type": "integer", "description": "How many points the input held."},
        "simplified_m": {
            "type": "number",
            "description": "For a simplified GPX track: how far, at most, the checked line strays from it (metres).",
        },
        "numberMatched": {"type": "integer", "description": "Incidents within the corridor."},
        "numberReturned": {"type": "integer"},
        "timeStamp": schema.TIME,
    },
}
PLACE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "geometry": schema.POINT,
        "properties": {
            "type": "object",
            "required": ["name", "label", "state"],
            "properties": {"name": {"type": "string"}, "label": {"type": "string"}, "state": {"type": "string"}},
        },
    },
}
PLACES = {
    "type": "object",
    "required": ["type", "features", "numberReturned"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": PLACE},
        "numberReturned": {"type": "integer"},
    },
}

route_check_schema = extend_schema(
    operation_id="route_check",
    summary="Active incidents along a route",
    description=(
        "Public live incidents within `corridor_m` metres of a line, in order along it, each with "
        "`distance_along_m` and `distance_from_route_m` (from its public, snapped position). Send JSON "
        "`{route, corridor_m}`, or the file itself: GeoJSON, or GPX (tracks of any length are simplified to "
        f"{route.MAX_VERTICES} positions; a GeoJSON line above that is refused)."
    ),
    request={
        "application/json": ROUTE_INPUT,
        "application/geo+json": LINE,
        "application/gpx+xml": {"type": "string", "description": "A GPX 1.0 or 1.1 file (trk or rte)."},
    },
    parameters=[
        OpenApiParameter("corridor_m", CORRIDOR, description="With a raw GeoJSON or GPX body.", required=False),
        schema.KIND,
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT},
            description=f"1 to {params.MAX_LIMIT}, default {DEFAULT_LIMIT}.",
            required=False,
        ),
        OpenApiParameter(
            "format",
            str,
            enum=["geojson", "gpx", "kml"],
            description="`gpx` or `kml`: the incidents along the route, in order, as waypoints or placemarks "
            "(an attachment `alcabala-route-YYYYMMDD.<format>`) instead of GeoJSON.",
            required=False,
        ),
        schema.TOKEN,
    ],
    responses={
        (200, "application/geo+json"): ROUTE_COLLECTION,
        (200, "application/gpx+xml"): OpenApiResponse(
            response={"type": "string"}, description="`format=gpx`: GPX 1.1 waypoints in order along the route."
        ),
        (200, "application/vnd.google-earth.kml+xml"): OpenApiResponse(
            response={"type": "string"}, description="`format=kml`: KML 2.2 placemarks in order along the route."
        ),
        **schema.ERRORS,
        413: OpenApiResponse(response=schema.ERROR, description="The body is too large."),
        415: OpenApiResponse(response=schema.ERROR, description="Send JSON, GeoJSON or GPX."),
    },
)
places_schema = extend_schema(
    operation_id="places_search",
    summary="Places by name, for a route's start and end",
    description="Places of the offline gazetteer inside the deployment area whose name matches `q`, the best "
    "first (the whole name, then names starting with it, then names holding a word starting with it; larger "
    "places first). Typed coordinates (`10.48, -66.90`, latitude first) give that point.",
    parameters=[
        OpenApiParameter(
            "q", {"type": "string", "minLength": 2, "maxLength": 100}, description="A place name.", required=True
        ),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_PLACES},
            description=f"1 to {MAX_PLACES}, default {places.DEFAULT_LIMIT}.",
            required=False,
        ),
        schema.TOKEN,
    ],
    responses={(200, "application/geo+json"): PLACES, **schema.ERRORS},
)


# --- the views ---------------------------------------------------------------------------------------------


def _route_from_text(text: str) -> route.Route:
    """A route given as text inside a JSON body: the body's media type was right, so text that is neither GPX
    nor GeoJSON is a bad value (400), not a bad media type (415)."""
    try:
        return route.route_from_body(text.encode(), "")
    except route.RouteError as exc:
        if exc.status_code != 415:
            raise
        detail = _("route must be GPX or GeoJSON text, or a GeoJSON LineString.")
        raise ApiError("invalid_route", detail, fields={"route": detail}) from None


def _read(request: Request) -> tuple[route.Route, float]:
    # Read past DATA_UPLOAD_MAX_MEMORY_SIZE (request.body would refuse a track), up to MAX_BODY_BYTES.
    raw = request._request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        detail = _("The route is larger than %(mb)s MB.") % {"mb": MAX_BODY_BYTES // (1024 * 1024)}
        raise ApiError("too_large", detail, status_code=413, fields={"route": detail})
    content_type = request.META.get("CONTENT_TYPE", "")
    query_corridor = request.query_params.get("corridor_m")
    if not raw.strip():
        detail = _("Send a route: a GeoJSON LineString or a GPX file.")
        raise ApiError("no_route", detail, fields={"route": detail})
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("application/json", "") and raw.lstrip()[:1] == b"{":
        data = route.load_json(raw)
        if isinstance(data, dict) and "route" in data and "type" not in data:
            given = data["route"]
            if isinstance(given, str) and not given.strip():
                detail = _("Send a route: a GeoJSON LineString or a GPX file.")
                raise ApiError("no_route", detail, fields={"route": detail})
            if isinstance(given, str):
                found = _route_from_text(given)
            else:
                found = route.route_from_geojson(given)
            corridor = data.get("corridor_m", query_corridor)
            return found, route.parse_corridor(corridor)
        return route.route_from_geojson(data), route.parse_corridor(query_corridor)
    return route.route_from_body(raw, content_type), route.parse_corridor(query_corridor)


class RouteCheckApi(APIView):
    """Read-only in effect (nothing is stored), so counted as a read; a POST only because a route is long."""

    renderer_classes = [JSONRenderer, GeoJSONRenderer, GPXRenderer, KMLRenderer]

    @route_check_schema
    def post(self, request: Request) -> HttpResponse:
        throttle.check_key(request)
        limit = params.parse_limit(request.query_params.get("limit"))
        kinds = params.parse_kinds(request.query_params.get("kind"))
        throttle.check_read(request)  # before the body is read: a flood of tracks is limited like any reads
        checked, corridor_m = _read(request)
        now = timezone.now()
        result = along.incidents_along_route(route=checked, corridor_m=corridor_m, limit=limit, kinds=kinds, now=now)
        body = {
            "type": "FeatureCollection",
            "features": result.features,
            "route": checked.geojson(),
            "corridor_m": corridor_m,
            "length_m": round(checked.measure.length_m),
            "source_points": checked.source_points,
            "numberMatched": result.matched,
            "numberReturned": len(result.features),
            "timeStamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        wanted = request.query_params.get("format")
        if wanted in ("gpx", "kml"):
            # The incidents along the route, in order, as waypoints; the route itself the traveller has already.
            title = _("Alcabala: incidents along your route")
            content = file_body(wanted, result.features, title=title, now=now)
            headers = {"Content-Disposition": attachment(wanted, now, stem="alcabala-route")}
            return HttpResponse(content, content_type=FILES[wanted][0], headers=headers)
        if checked.simplified:
            body["simplified_m"] = round(checked.tolerance_m, 1)
        return HttpResponse(dumps(body), content_type=GEOJSON)


class PlaceSearchApi(APIView):
    renderer_classes = [JSONRenderer, GeoJSONRenderer]

    @places_schema
    def get(self, request: Request) -> HttpResponse:
        throttle.check_key(request)
        text = request.query_params.get("q", "").strip()
        if not 2 <= len(text) <= 100:
            detail = _("q must be a place name of 2 to 100 characters.")
            raise ApiError("invalid_q", detail, fields={"q": detail})
        raw_limit = request.query_params.get("limit")
        limit = places.DEFAULT_LIMIT
        if raw_limit is not None:  # an empty limit is a 400 too
            detail = _("limit must be a whole number from 1 to %(max)s.") % {"max": MAX_PLACES}
            try:
                limit = int(raw_limit)
            except ValueError:
                raise ApiError("invalid_limit", detail, fields={"limit": detail}) from None
            if not 1 <= limit <= MAX_PLACES:
                raise ApiError("invalid_limit", detail, fields={"limit": detail})
        throttle.check_read(request)
        found = places.places_search(text=text, limit=limit)
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(p.lon, 6), round(p.lat, 6)]},
                "properties": {"name": p.name, "label": p.label, "state": p.state},
            }
            for p in found
        ]
        body = {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}
        return HttpResponse(dumps(body), content_type=GEOJSON)
