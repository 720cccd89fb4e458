"""API v1 views: parse, call one service or selector, shape the answer."""

from __future__ import annotations

import json
import uuid

from django.contrib.gis.geos import Point
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.views import APIView

from config import fields, parsers
from config.errors import ApiError
from consumers import throttle
from incidents import abuse, conf, selectors, services
from incidents.api import bodycache, etag, params, schema
from incidents.public import changes, columns, csv, waypoints
from incidents.public.features import GEOJSON, Page, dumps, feature, features_page


@extend_schema_field(schema.INPUT_POINT)
class GeoJSONPointField(serializers.Field):
    default_error_messages = {
        "invalid": 'location must be a GeoJSON Point: {{"type": "Point", "coordinates": [lon, lat]}}.',
        "number": "location's coordinates must be finite numbers in degrees, such as [-66.9, 10.5].",
    }

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        if html.is_html_input(dictionary) and isinstance(value, str):
            # A multipart form carries the GeoJSON Point as a JSON string.
            try:
                return parsers.loads(value)
            except ValueError:
                return value  # refused as invalid by to_internal_value
        return value

    def to_internal_value(self, data) -> Point:
        if not isinstance(data, dict) or data.get("type") != "Point":
            self.fail("invalid")
        coordinates = data.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
            self.fail("invalid")
        # A number too large for a float (a 400-digit integer), NaN or an infinity is no coordinate.
        lon, lat = parsers.finite_float(coordinates[0]), parsers.finite_float(coordinates[1])
        if lon is None or lat is None or (len(coordinates) == 3 and parsers.finite_float(coordinates[2]) is None):
            self.fail("number")
        return Point(lon, lat, srid=4326)

    def to_representation(self, value):  # pragma: no cover - input only
        return {"type": "Point", "coordinates": [value.x, value.y]}


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string; DRF would also take an integer, which no client means."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "enum": list(conf.KINDS)})
class KindField(fields.StrictCharField):
    """Checked by the service (400 `unknown_kind`); the schema says which kinds there are."""


class StrictDateTimeField(serializers.DateTimeField):
    """A time, or null; an empty string is neither (DRF would read it as null and drop what was meant)."""

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "blank": "This is empty: send an ISO 8601 time such as 2026-11-27T10:00:00Z, or leave the field out.",
    }

    def get_value(self, dictionary):
        # DRF turns an empty form field into null before validation; keep it, so it is refused as JSON's is.
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)

    def validate_empty_values(self, data):
        if data == "":
            self.fail("blank")
        return super().validate_empty_values(data)


class ReportCreateApi(APIView):
    # JSON, or a multipart form with a `photo` file (its other fields as form fields, `location` as JSON).
    parser_classes = [parsers.JSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="ReportInput")
    class InputSerializer(serializers.Serializer):
        client_id = StrictUUIDField()
        kind = KindField(max_length=32)
        location = GeoJSONPointField(required=False, allow_null=True)
        place = fields.StrictCharField(required=False, allow_blank=True, max_length=200)
        accuracy_m = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=100_000)
        observed_at = StrictDateTimeField(required=False, allow_null=True)
        description = fields.StrictCharField(required=False, allow_blank=True, max_length=500, trim_whitespace=True)
        device = fields.StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=200)
        photo = serializers.FileField(required=False, allow_null=True, allow_empty_file=True, use_url=False)

    @schema.report_create
    @extend_schema(request={"application/json": InputSerializer, "multipart/form-data": InputSerializer})
    def post(self, request: Request) -> Response:
        abuse.same_origin_guard(request)  # before the body is read, counted or kept
        # The upload handler may refuse a body too large to keep in memory: a DomainError, answered 413.
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = abuse.report_guard(request, device=data.get("device"), client_id=data["client_id"])
        report, created = services.report_submit(
            client_id=data["client_id"],
            kind=data["kind"],
            point=data.get("location"),
            place_text=data.get("place", ""),
            accuracy_m=data.get("accuracy_m"),
            observed_at=data.get("observed_at"),
            description=data.get("description", ""),
            channel="api",
            device=data.get("device"),
            photo=data.get("photo"),
            source=source,
        )
        return self._answer(
            request, report_id=report.pk, client_id=report.client_id, state=report.state, created=created
        )

    @staticmethod
    def _answer(
        request: Request, *, report_id: uuid.UUID, client_id: uuid.UUID, state: str, created: bool = True
    ) -> Response:
        status_url = request.build_absolute_uri(reverse("api:report-detail", args=[report_id]))
        body = {"id": str(report_id), "client_id": str(client_id), "state": state, "status_url": status_url}
        return Response(body, status=201 if created else 200, headers={"Location": status_url})


class ReportDetailApi(APIView):
    @schema.report_detail
    def get(self, request: Request, report_id: str) -> Response:
        try:
            key = uuid.UUID(report_id)
        except ValueError:
            raise ApiError("not_found", "There is no such report.", status_code=404) from None
        report = selectors.report_status(report_id=key)
        if report is None:
            raise ApiError("not_found", "There is no such report.", status_code=404)
        return Response({"id": str(report.pk), "state": report.state, "incident": report.incident_id})


class _ViewWrittenRenderer(BaseRenderer):
    """Lets DRF accept a `?format=` whose body the view writes itself; renders only DRF's own error answers."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover - errors only
        return dumps(data).encode() if data is not None else b""


class CSVRenderer(_ViewWrittenRenderer):
    media_type = "text/csv"
    format = "csv"


class ColumnsRenderer(_ViewWrittenRenderer):
    """`?format=columns`: incidents/public/columns.py."""

    media_type = columns.MEDIA_TYPE
    format = "columns"


class ExcelRenderer(CSVRenderer):
    """`?format=excel`: the CSV with a UTF-8 byte order mark, which Excel needs to read UTF-8."""

    format = "excel"


class GPXRenderer(_ViewWrittenRenderer):
    """`?format=gpx`: incidents/public/waypoints.py."""

    media_type = waypoints.GPX_MEDIA_TYPE
    format = "gpx"


class KMLRenderer(_ViewWrittenRenderer):
    """`?format=kml`: incidents/public/waypoints.py."""

    media_type = waypoints.KML_MEDIA_TYPE
    format = "kml"


# The files a client downloads rather than reads: `?format=` to (media type, file extension).
FILES = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "excel": ("text/csv; charset=utf-8", "csv"),
    "gpx": (waypoints.GPX_MEDIA_TYPE, "gpx"),
    "kml": (waypoints.KML_MEDIA_TYPE, "kml"),
}


# The files whose text a person reads, in the request's language.
WRITTEN = ("gpx", "kml")


def attachment(wanted: str, now, stem: str = "alcabala-incidents") -> str:
    """The Content-Disposition of a download: `alcabala-incidents-YYYYMMDD.csv` (the UTC day it was made)."""
    return f'attachment; filename="{stem}-{now:%Y%m%d}.{FILES[wanted][1]}"'


def file_body(wanted: str, features: list[dict], *, title: str, now) -> bytes:
    """The GPX or KML of public Features."""
    if wanted == "gpx":
        return waypoints.gpx(features, title=title, now=now)
    return waypoints.kml(features, title=title)


class GeoJSONRenderer(BaseRenderer):
    media_type = GEOJSON
    format = "geojson"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover - errors only
        return dumps(data).encode() if data is not None else b""


def _next_link(request: Request, name: str, value: str) -> str:
    next_query = request.query_params.copy()
    next_query[name] = value
    return request.build_absolute_uri(f"{request.path}?{next_query.urlencode()}")


def _stamp(now) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


class IncidentListApi(APIView):
    """Public incidents in id order, built by the database on PostGIS (incidents/public/features.py)."""

    renderer_classes = [
        JSONRenderer,
        GeoJSONRenderer,
        CSVRenderer,
        ExcelRenderer,
        ColumnsRenderer,
        GPXRenderer,
        KMLRenderer,
    ]

    @schema.incident_list
    def get(self, request: Request) -> HttpResponse:
        query = request.query_params
        bbox = params.parse_bbox(query.get("bbox"))
        kinds = params.parse_kinds(query.get("kind"))
        statuses = params.parse_statuses(query.get("status"))
        updated_since = params.parse_time(query.get("updated_since"), "updated_since")
        limit = params.parse_limit(query.get("limit"))
        after_id = params.parse_cursor(query.get("cursor"))
        wanted = query.get("format")
        throttle.check_key(request)  # a bad key is a 401 even when nothing changed
        # GPX and KML are written in the request's language: it is part of their ETag and so of the body cache's key.
        spoken = (get_language() or "",) if wanted in WRITTEN else ()
        tag = etag.compute(request, "incidents", *spoken)
        if etag.matches(request, tag):
            return etag.not_modified(tag)
        throttle.check_read(request)
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        if spoken:
            headers["Vary"] = "Accept-Language, Cookie"
        whole_map = bbox is None and updated_since is None
        now = timezone.now()
        if wanted in FILES:
            headers["Content-Disposition"] = attachment(wanted, now)
        if whole_map and (kept := bodycache.get(tag)) is not None:
            content_type, link, content = kept
            if link:
                headers["Link"] = link
            return HttpResponse(content, content_type=content_type, headers=headers)
        queryset = selectors.incidents_public(
            bbox=bbox, kinds=kinds, statuses=statuses, updated_since=updated_since, after_id=after_id, now=now
        )
        if wanted == "columns":
            body, page = columns.columns_page(queryset, limit=limit, now=now)
        else:
            page = features_page(queryset, limit=limit, now=now)
        next_href = None
        if page.has_more and page.last_id is not None:
            next_href = _next_link(request, "cursor", params.encode_cursor(page.last_id))
            headers["Link"] = f'<{next_href}>; rel="next"'
        if wanted == "columns":
            content_type = columns.MEDIA_TYPE
            content = self._columns(request, body, page, next_href, now).encode()
        elif wanted in ("csv", "excel"):
            content_type = FILES["csv"][0]
            content = csv.from_features(page.body, bom=wanted == "excel").encode()
        elif wanted in FILES:
            content_type = FILES[wanted][0]
            content = file_body(wanted, json.loads(f"[{page.body}]"), title=_("Alcabala: public incidents"), now=now)
        else:
            content_type = GEOJSON
            content = self._collection(request, page, next_href, now).encode()
        if whole_map:
            bodycache.put(tag, content_type=content_type, link=headers.get("Link", ""), body=content)
        return HttpResponse(content, content_type=content_type, headers=headers)

    @staticmethod
    def _collection(request: Request, page: Page, next_href: str | None, now) -> str:
        links = [{"rel": "self", "type": GEOJSON, "href": request.build_absolute_uri()}]
        if next_href:
            links.append({"rel": "next", "type": GEOJSON, "href": next_href})
        return (
            '{"type":"FeatureCollection","features":['
            + page.body
            + f'],"links":{dumps(links)},"numberReturned":{page.count},"timeStamp":"{_stamp(now)}"}}'
        )

    @staticmethod
    def _columns(request: Request, body: dict, page: Page, next_href: str | None, now) -> str:
        links = [{"rel": "self", "type": columns.MEDIA_TYPE, "href": request.build_absolute_uri()}]
        if next_href:
            links.append({"rel": "next", "type": columns.MEDIA_TYPE, "href": next_href})
        return dumps({**body, "links": links, "numberReturned": page.count, "timeStamp": _stamp(now)})


class IncidentChangesApi(APIView):
    """Everything public that changed after the cursor `since`, in map-version order
    (incidents/public/changes.py says why a cursor never skips a change)."""

    renderer_classes = [JSONRenderer, GeoJSONRenderer]

    @schema.incident_changes
    def get(self, request: Request) -> HttpResponse:
        query = request.query_params
        since = params.parse_version_cursor(query.get("since"))
        limit = params.parse_limit(query.get("limit"))
        throttle.check_key(request)  # a bad key is a 401 even when nothing changed
        tag = etag.compute(request, "changes")
        if etag.matches(request, tag):
            return etag.not_modified(tag)
        throttle.check_read(request)
        now = timezone.now()
        return self._answer(request, changes.changes_page(since_version=since, limit=limit, now=now), tag, now)

    @staticmethod
    def _answer(request: Request, page: changes.ChangesPage, tag: str, now) -> HttpResponse:
        cursor = params.encode_version_cursor(page.last_version)
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        links = [{"rel": "self", "type": "application/json", "href": request.build_absolute_uri()}]
        next_href = _next_link(request, "since", cursor)
        links.append({"rel": "next", "type": "application/json", "href": next_href})
        if page.has_more:
            headers["Link"] = f'<{next_href}>; rel="next"'
        more = "true" if page.has_more else "false"
        body = (
            '{"type":"FeatureCollection","features":['
            + ",".join(page.features)
            + f'],"tombstones":{dumps(page.tombstones)},"next":"{cursor}","more":{more},'
            + f'"links":{dumps(links)},"numberReturned":{page.count},"timeStamp":"{_stamp(now)}"}}'
        )
        return HttpResponse(body, content_type=GEOJSON, headers=headers)


class IncidentDetailApi(APIView):
    @schema.incident_detail
    def get(self, request: Request, incident_id: int) -> HttpResponse:
        throttle.check_read(request)
        incident = selectors.incident_public(incident_id=incident_id)
        if incident is None:
            raise ApiError("not_found", "There is no public incident with this id.", status_code=404)
        return HttpResponse(dumps(feature(incident, now=timezone.now())), content_type=GEOJSON)


class IncidentVoteApi(APIView):
    @extend_schema_serializer(component_name="VoteInput")
    class InputSerializer(serializers.Serializer):
        still_there = fields.StrictBooleanField()
        device = fields.StrictCharField(max_length=200)

    @schema.incident_vote
    @extend_schema(request=InputSerializer)
    def post(self, request: Request, incident_id: int) -> HttpResponse:
        abuse.same_origin_guard(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = abuse.vote_guard(request, device=serializer.validated_data["device"])
        if selectors.incident_public(incident_id=incident_id) is None:
            raise ApiError("not_found", "There is no public incident with this id.", status_code=404)
        incident = services.incident_vote(
            incident_id=incident_id,
            device=serializer.validated_data["device"],
            still_there=serializer.validated_data["still_there"],
            source=source,
        )
        return HttpResponse(dumps(feature(incident, now=timezone.now())), content_type=GEOJSON, status=201)
