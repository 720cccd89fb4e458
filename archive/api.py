"""/api/v1/exports: the archive for API-key holders (architecture §5). Parse, call a service, shape."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.http import FileResponse
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import conf, selectors, services
from archive.models import Export, ExportState
from config import parsers
from config.errors import ApiError
from consumers import throttle
from incidents.api import params
from incidents.api.schema import ERROR

EXPORT = {
    "type": "object",
    "required": ["id", "format", "from", "to", "state", "progress", "count", "created_at", "url", "file_url"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "format": {"type": "string", "enum": list(conf.FORMATS)},
        "from": {"type": "string", "format": "date-time"},
        "to": {"type": "string", "format": "date-time"},
        "state": {"type": "string", "enum": ExportState.values},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "count": {"type": "integer", "minimum": 0, "nullable": True},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time", "nullable": True},
        "error": {"type": "string"},
        "url": {"type": "string"},
        "file_url": {"type": "string", "nullable": True, "description": "Set once the state is ready."},
    },
}


INSTANT = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ERROR, description=description)


KEY = OpenApiParameter(
    "Authorization",
    str,
    OpenApiParameter.HEADER,
    description="`Token <key>`: the API key the exports belong to.",
    required=True,
)
UNAUTHORIZED = _error("No API key, or a key that is not valid or was revoked: send `Authorization: Token <key>`.")
NOT_FOUND = _error("No export of this key has this id (another key's exports read as absent).")
THROTTLED = _error("Too many requests: see the Retry-After header.")


def _key_id(request: Request) -> int:
    """The API key's id; an anonymous request is a 401, as a bad key is."""
    client = throttle.identify(request)
    if client.scope != "key":
        raise ApiError(
            "key_required",
            "Exports are for API-key holders: send Authorization: Token <key>.",
            status_code=401,
            headers={"WWW-Authenticate": "Token"},
        )
    throttle.check_read(request)
    return int(client.ident)


def _instant(value, name: str, *, end: bool) -> datetime:
    """An ISO 8601 date or time; a date alone is that whole day (as `to`: up to its end)."""
    detail = f"{name} must be an ISO 8601 date or time such as 2026-11-01 or 2026-11-01T00:00:00Z."
    if not isinstance(value, str) or not value.strip():
        raise ApiError(f"invalid_{name}", detail, fields={name: detail})
    try:
        day = parse_date(value)  # first: parse_datetime also takes a date alone, as its midnight
        moment = None if day is not None else parse_datetime(value)
    except ValueError:
        moment = day = None
    if day is not None:
        if end and day == date.max:
            raise ApiError(f"invalid_{name}", detail, fields={name: detail})
        moment = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)
    if moment is None:
        raise ApiError(f"invalid_{name}", detail, fields={name: detail})
    return params.in_utc(moment, name)


def _stamp(value: datetime | None) -> str | None:
    # isoformat, not strftime: %Y does not pad a year below 1000 to four digits.
    return None if value is None else value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _body(request: Request, export: Export) -> dict:
    url = request.build_absolute_uri(reverse("archive:export-detail", args=[export.pk]))
    ready = export.state == ExportState.READY
    expires = (export.finished_at + conf.retention()) if export.finished_at else None
    body = {
        "id": str(export.pk),
        "format": export.format,
        "from": _stamp(export.start),
        "to": _stamp(export.end),
        "state": export.state,
        "progress": export.progress,
        "count": export.count,
        "created_at": _stamp(export.created_at),
        "expires_at": _stamp(expires),
        "url": url,
        "file_url": request.build_absolute_uri(reverse("archive:export-file", args=[export.pk])) if ready else None,
    }
    if export.error:
        body["error"] = export.error
    return body


class ExportCreateApi(APIView):
    parser_classes = [parsers.JSONParser]

    @extend_schema(
        operation_id="exports_create",
        summary="Ask for an archive file of public incidents over a date range",
        parameters=[KEY],
        description=(
            "Public incidents on the map at some moment of [from, to), ended ones included, with the public "
            "fields only, snapped and rounded as everywhere. Built by a worker: poll the Location. One export "
            "queued or running per key."
        ),
        request={
            "application/json": {
                "type": "object",
                "required": ["from", "to", "format"],
                "properties": {
                    "from": {**INSTANT, "description": "ISO 8601 date or time; a date starts that day."},
                    "to": {**INSTANT, "description": "ISO 8601 date or time; a date ends that day."},
                    "format": {"type": "string", "enum": list(conf.FORMATS)},
                },
            }
        },
        responses={
            202: OpenApiResponse(response=EXPORT, description="Queued; see the Location header."),
            400: _error("A field is missing or not valid, or the range is empty or too long."),
            401: UNAUTHORIZED,
            409: _error("This key already has an export queued or running."),
            415: _error("Send application/json."),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        key_id = _key_id(request)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ApiError("invalid", "The body must be a JSON object with from, to and format.")
        wanted = data.get("format")
        if wanted not in conf.FORMATS:
            detail = f"format must be one of {', '.join(conf.FORMATS)}."
            raise ApiError("invalid_format", detail, fields={"format": detail})
        start = _instant(data.get("from"), "from", end=False)
        end = _instant(data.get("to"), "to", end=True)
        if end <= start:
            detail = "to must come after from."
            raise ApiError("invalid_range", detail, fields={"to": detail})
        if end - start > conf.max_range():
            detail = f"The range may span at most {conf.max_range().days} days; ask for several exports."
            raise ApiError("range_too_long", detail, fields={"to": detail})
        export = services.export_request(api_key_id=key_id, format=wanted, start=start, end=end)
        body = _body(request, export)
        return Response(body, status=202, headers={"Location": body["url"]})


class ExportDetailApi(APIView):
    @extend_schema(
        operation_id="exports_detail",
        summary="An export's state and progress; a link to the file once ready",
        parameters=[KEY],
        responses={200: EXPORT, 401: UNAUTHORIZED, 404: NOT_FOUND, 429: THROTTLED},
    )
    def get(self, request: Request, export_id: str) -> Response:
        export = selectors.export_of_key(export_id=export_id, api_key_id=_key_id(request))
        if export is None:
            raise ApiError("not_found", "This key has no export with this id.", status_code=404)
        return Response(_body(request, export))


class ExportFileApi(APIView):
    @extend_schema(
        operation_id="exports_file",
        summary="Download an export's file",
        parameters=[KEY],
        responses={
            (200, "application/geopackage+sqlite3"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="format gpkg: a GeoPackage."
            ),
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="format csv: the API's CSV."),
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            409: _error("The file is not ready yet (or the export failed): see the export's state."),
            429: THROTTLED,
        },
    )
    def get(self, request: Request, export_id: str) -> FileResponse:
        export = selectors.export_of_key(export_id=export_id, api_key_id=_key_id(request))
        if export is None:
            raise ApiError("not_found", "This key has no export with this id.", status_code=404)
        path = services.file_path(export) if export.file else None
        if export.state != ExportState.READY or path is None or not path.exists():
            raise ApiError("not_ready", f"The export is {export.state}, not ready.", status_code=409)
        name = f"alcabala-incidents-{export.start:%Y%m%d}-{export.end:%Y%m%d}.{export.format}"
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=name,
            content_type=services.MEDIA_TYPES[export.format],
        )
