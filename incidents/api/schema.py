"""The OpenAPI description of the v1 API (drf-spectacular), kept beside the views it describes.

The views write GeoJSON text themselves (incidents/public/features.py), so their bodies are described here as
raw JSON Schema rather than guessed from serializers.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from incidents import conf
from incidents.api.params import DEFAULT_LIMIT, MAX_LIMIT
from incidents.models import Status
from incidents.public.fields import properties_schema

JsonSchema = dict[str, Any]

TIME: JsonSchema = {"type": "string", "format": "date-time"}
ERROR: JsonSchema = {
    "type": "object",
    "required": ["error", "detail", "fields"],
    "properties": {
        "error": {"type": "string"},
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
POINT: JsonSchema = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    },
}
# What a report may send: a third position (altitude) is read and dropped.
INPUT_POINT: JsonSchema = {
    **POINT,
    "properties": {
        **POINT["properties"],
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3},
    },
}
FEATURE: JsonSchema = {
    "type": "object",
    "required": ["type", "id", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "integer"},
        "geometry": POINT,
        "properties": properties_schema(),
    },
}
LINK: JsonSchema = {
    "type": "object",
    "required": ["rel", "href"],
    "properties": {"rel": {"type": "string"}, "type": {"type": "string"}, "href": {"type": "string"}},
}
COLLECTION: JsonSchema = {
    "type": "object",
    "required": ["type", "features", "links", "numberReturned", "timeStamp"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": FEATURE},
        "links": {"type": "array", "items": LINK},
        "numberReturned": {"type": "integer"},
        "timeStamp": TIME,
    },
}
TOMBSTONE: JsonSchema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "status", "updated_at"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["cleared", "expired", "rejected", "unpublished"]},
        "updated_at": TIME,
    },
}
CHANGES: JsonSchema = {
    **COLLECTION,
    "required": [*COLLECTION["required"], "tombstones", "next", "more"],
    "properties": {
        **COLLECTION["properties"],
        "tombstones": {"type": "array", "items": TOMBSTONE},
        "next": {"type": "string", "description": "The cursor for the next call: opaque, send it back as `since`."},
        "more": {"type": "boolean", "description": "True while `limit` cut this page short: call again at once."},
    },
}
REPORT: JsonSchema = {
    "type": "object",
    "required": ["id", "client_id", "state", "status_url"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "client_id": {"type": "string", "format": "uuid"},
        "state": {"type": "string"},
        "status_url": {"type": "string"},
    },
}
REPORT_STATUS: JsonSchema = {
    "type": "object",
    "required": ["id", "state", "incident"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "state": {"type": "string"},
        "incident": {"type": "integer", "nullable": True},
    },
}


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ERROR, description=description)


ERRORS = {
    400: _error("A parameter or the body is not valid: see `fields`."),
    401: _error("The API key is not valid or was revoked."),
    429: _error("Too many requests: see the Retry-After header."),
}
TOKEN = OpenApiParameter(
    "Authorization",
    str,
    OpenApiParameter.HEADER,
    description="`Token <key>` for an API key's higher read limit; without it, the anonymous limit applies.",
    required=False,
)
LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}.",
    required=False,
)
# Comma-separated lists, as the server reads them: `kind=checkpoint,militia`.
KIND = OpenApiParameter(
    "kind",
    {"type": "array", "items": {"type": "string", "enum": list(conf.KINDS)}, "minItems": 1},
    style="form",
    explode=False,
    description=f"Comma-separated: {', '.join(conf.KINDS)}; left out: every kind.",
    required=False,
)
STATUS = OpenApiParameter(
    "status",
    {"type": "array", "items": {"type": "string", "enum": list(Status.values)}, "minItems": 1},
    style="form",
    explode=False,
    description="Comma-separated statuses; left out: the live ones (unverified, verified).",
    required=False,
)
# Opaque tokens the server gives out in `next` links: their formats name what only the server can make.
CURSOR = OpenApiParameter(
    "cursor", {"type": "string", "format": "alcabala-cursor"}, description="From a `next` link; opaque.", required=False
)
SINCE = OpenApiParameter(
    "since",
    {"type": "string", "format": "alcabala-since"},
    description="The `next` cursor of the previous answer; opaque.",
    required=False,
)
BBOX = OpenApiParameter(
    "bbox",
    {"type": "string", "format": "alcabala-bbox", "pattern": r"^-?[0-9.]+(,-?[0-9.]+){3}(,-?[0-9.]+){2}?$"},
    description="minLon,minLat,maxLon,maxLat in degrees (longitudes within ±180, latitudes within ±90, minLat at "
    "most maxLat; a minLon above maxLon is a box across the antimeridian), e.g. -67.1,10.3,-66.7,10.6; or six "
    "numbers, minLon,minLat,minHeight,maxLon,maxLat,maxHeight (heights are ignored).",
    required=False,
)
ETAG_HEADER = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag of an earlier answer: 304 if nothing changed.",
    required=False,
)
NOT_MODIFIED = OpenApiResponse(description="Nothing changed since the ETag sent in If-None-Match.")

incident_list = extend_schema(
    operation_id="incidents_list",
    summary="Public incidents as GeoJSON",
    parameters=[
        BBOX,
        KIND,
        STATUS,
        OpenApiParameter(
            "updated_since",
            OpenApiTypes.DATETIME,
            description="An ISO 8601 time (or a date: its midnight UTC); ended incidents that changed are included.",
            required=False,
        ),
        LIMIT,
        CURSOR,
        OpenApiParameter(
            "format",
            str,
            enum=["csv", "excel", "columns", "gpx", "kml"],
            description=(
                "`csv` for CSV instead of GeoJSON (the point also as WKT in `_WKTgeom_EPSG_4326_POINT`, which "
                "GDAL reads as EPSG:4326); `excel` for the same CSV with a UTF-8 byte order mark, which Excel "
                "needs; `columns` for the live map's compact JSON: one array per property, kinds, statuses and "
                "places as indexes into lists, times as steps from `t0`; `gpx` for GPX 1.1 waypoints and `kml` "
                "for KML 2.2 placemarks, for offline navigation apps. CSV, GPX and KML come as attachments named "
                "`alcabala-incidents-YYYYMMDD.<csv, gpx or kml>`."
            ),
            required=False,
        ),
        TOKEN,
        ETAG_HEADER,
    ],
    responses={
        (200, "application/geo+json"): COLLECTION,
        (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="The same rows as CSV."),
        (200, "application/gpx+xml"): OpenApiResponse(
            response=OpenApiTypes.STR, description="`format=gpx`: the same incidents as GPX 1.1 waypoints."
        ),
        (200, "application/vnd.google-earth.kml+xml"): OpenApiResponse(
            response=OpenApiTypes.STR, description="`format=kml`: the same incidents as KML 2.2 placemarks."
        ),
        (200, "application/json"): OpenApiResponse(
            response=OpenApiTypes.OBJECT, description="`format=columns`: the same rows, one array per property."
        ),
        304: NOT_MODIFIED,
        **ERRORS,
    },
)
incident_changes = extend_schema(
    operation_id="incidents_changes",
    summary="What changed since a cursor: Features and tombstones",
    parameters=[
        SINCE,
        LIMIT,
        TOKEN,
        ETAG_HEADER,
    ],
    responses={(200, "application/geo+json"): CHANGES, 304: NOT_MODIFIED, **ERRORS},
)
incident_detail = extend_schema(
    operation_id="incidents_detail",
    summary="One public incident",
    parameters=[TOKEN],
    responses={(200, "application/geo+json"): FEATURE, 404: _error("No public incident has this id."), **ERRORS},
)
CROSS_SITE = _error(
    "`cross_site`: a browser said this request comes from another site's page (Sec-Fetch-Site or Origin). "
    "Native clients send neither header; pages of this site are not refused."
)
incident_vote = extend_schema(
    operation_id="incidents_vote",
    summary="Is it still there?",
    responses={
        (201, "application/geo+json"): FEATURE,
        400: ERRORS[400],
        403: CROSS_SITE,
        404: _error("No public incident has this id."),
        409: _error("The incident has ended."),
        415: _error("Send application/json."),
        429: ERRORS[429],
    },
)
report_create = extend_schema(
    operation_id="reports_create",
    summary="Submit a report",
    responses={
        201: OpenApiResponse(response=REPORT, description="Accepted."),
        200: OpenApiResponse(response=REPORT, description="This client_id was accepted before."),
        400: ERRORS[400],
        403: CROSS_SITE,
        413: _error("The body or the photo is too large."),
        415: _error("Send application/json or multipart/form-data."),
        429: ERRORS[429],
    },
)
report_detail = extend_schema(
    operation_id="reports_detail",
    summary="A report's state",
    responses={200: REPORT_STATUS, 404: _error("There is no such report.")},
)
