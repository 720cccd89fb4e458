"""OGC API – Features, Part 1: Core, over the same public incidents and Features as /api/v1/incidents.

One collection, `incidents`, in CRS84 (lon, lat). JSON by default; a plain HTML view with `f=html` or
for a browser's Accept header. Items are the live public incidents in id order; with `datetime`, every
public incident whose time on the map, from `first_reported_at` to `expires_at`, meets the instant or
interval, ended ones included.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from config.errors import ApiError
from consumers.throttle import check_read
from geo.area import deployment_area
from incidents import selectors
from incidents.api import etag, params
from incidents.models import Incident
from incidents.public.features import GEOJSON, dumps, features_page
from incidents.public.filters import public_time_at_least, public_time_below
from incidents.public.status import published_q

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
]
COLLECTION = "incidents"


def _format(request: HttpRequest) -> str:
    f = request.GET.get("f")
    if f in ("json", "html"):
        return f
    if f:
        detail = "f must be json or html."
        raise ApiError("invalid_f", detail, fields={"f": detail})
    accept = request.META.get("HTTP_ACCEPT", "")
    return "html" if "text/html" in accept and "json" not in accept else "json"


def _url(request: HttpRequest, name: str, query: dict | None = None, **kwargs) -> str:
    url = request.build_absolute_uri(reverse(f"ogc:{name}", kwargs=kwargs or None))
    return f"{url}?{urlencode(query)}" if query else url


def _links(request: HttpRequest, name: str, fmt: str, json_type: str = "application/json", **kwargs) -> list[dict]:
    other = "html" if fmt == "json" else "json"
    types = {"json": json_type, "html": "text/html"}
    return [
        {
            "rel": "self",
            "type": types[fmt],
            "title": _("This document"),
            "href": _url(request, name, {"f": fmt}, **kwargs),
        },
        {
            "rel": "alternate",
            "type": types[other],
            "title": _("This document as %(format)s") % {"format": other.upper()},
            "href": _url(request, name, {"f": other}, **kwargs),
        },
    ]


def _answer(request: HttpRequest, fmt: str, data: dict, *, title: str, content_type: str = "application/json"):
    if fmt == "html":
        return render(
            request,
            "ogc/page.html",
            {"title": title, "data": data, "pretty": json.dumps(data, indent=2, ensure_ascii=False)},
        )
    return HttpResponse(dumps(data), content_type=content_type)


def ogc_view(function):
    """Safe methods only; the read throttle of `consumers`. A refusal (DomainError, RateLimited among them)
    travels up to `config.errors.DomainErrorMiddleware`, which answers it in the JSON error shape."""

    @require_safe
    def wrapper(request: HttpRequest, *args, **kwargs):
        check_read(request)
        return function(request, *args, **kwargs)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


@ogc_view
def landing(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    data = {
        "title": "Alcabala",
        "description": _(
            "Road checkpoints, roadblocks and other dangers reported by the public, as OGC API – Features."
        ),
        "links": [
            *_links(request, "landing", fmt),
            {
                "rel": "service-desc",
                "type": OPENAPI,
                "title": _("The API definition"),
                "href": request.build_absolute_uri(reverse("api-schema")),
            },
            {
                "rel": "service-doc",
                "type": "text/html",
                "title": _("The API documentation"),
                "href": request.build_absolute_uri(reverse("api-docs")),
            },
            {
                "rel": "conformance",
                "type": "application/json",
                "title": _("Conformance classes"),
                "href": _url(request, "conformance"),
            },
            {
                "rel": "data",
                "type": "application/json",
                "title": _("Collections"),
                "href": _url(request, "collections"),
            },
        ],
    }
    return _answer(request, fmt, data, title="Alcabala")


@ogc_view
def conformance(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    return _answer(
        request,
        fmt,
        {"conformsTo": CONFORMANCE, "links": _links(request, "conformance", fmt)},
        title=_("Conformance classes"),
    )


def _collection(request: HttpRequest) -> dict:
    min_lon, min_lat, max_lon, max_lat = deployment_area().extent
    return {
        "id": COLLECTION,
        "title": _("Incidents"),
        "description": _(
            "Public incidents: checkpoints, roadblocks, armed group sightings and other dangers on the road. "
            "Locations are snapped to a grid and times rounded down, to protect the people who report."
        ),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {
            "spatial": {"bbox": [[min_lon, min_lat, max_lon, max_lat]], "crs": CRS84},
            "temporal": {"interval": [[None, None]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"},
        },
        "links": [
            {
                "rel": "self",
                "type": "application/json",
                "title": _("This collection"),
                "href": _url(request, "collection"),
            },
            {
                "rel": "items",
                "type": GEOJSON,
                "title": _("The incidents as GeoJSON"),
                "href": _url(request, "items", {"f": "json"}),
            },
            {
                "rel": "items",
                "type": "text/html",
                "title": _("The incidents as HTML"),
                "href": _url(request, "items", {"f": "html"}),
            },
        ],
    }


@ogc_view
def collections(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    data = {"links": _links(request, "collections", fmt), "collections": [_collection(request)], "crs": [CRS84]}
    return _answer(request, fmt, data, title=_("Collections"))


@ogc_view
def collection(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    return _answer(request, fmt, _collection(request), title=_("Incidents"))


def parse_datetime_filter(value: str | None) -> tuple[datetime | None, datetime | None] | None:
    """An instant `t` or an interval `a/b` with `..` or nothing for an open end, as (start, end)."""
    if not value:
        return None
    if "/" in value:
        start_text, _sep, end_text = value.partition("/")
        start = None if start_text in ("", "..") else params.parse_time(start_text, "datetime")
        end = None if end_text in ("", "..") else params.parse_time(end_text, "datetime")
        if start is None and end is None:
            detail = "datetime needs at least one end: a/b, ../b or a/.."
            raise ApiError("invalid_datetime", detail, fields={"datetime": detail})
        if start is not None and end is not None and start > end:
            detail = "datetime interval starts after it ends."
            raise ApiError("invalid_datetime", detail, fields={"datetime": detail})
        return start, end
    instant = params.parse_time(value, "datetime")
    return instant, instant


parse_bbox = params.parse_bbox  # the one parser of /api/v1, /ogc and /feeds: 4 or 6 numbers, antimeridian boxes


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return params.DEFAULT_LIMIT
    detail = "limit must be a whole number of at least 1."
    try:
        limit = int(value)
    except ValueError:
        raise ApiError("invalid_limit", detail, fields={"limit": detail}) from None
    if limit < 1:
        raise ApiError("invalid_limit", detail, fields={"limit": detail})
    return min(limit, params.MAX_LIMIT)  # OGC API – Features: a larger limit is not an error


def parse_offset(value: str | None) -> int:
    if value is None or value == "":
        return 0
    detail = "offset must be a whole number, 0 or more."
    if not value.isdigit() or len(value) > 9:
        raise ApiError("invalid_offset", detail, fields={"offset": detail})
    return int(value)


def items_queryset(*, bbox=None, when=None, now: datetime):
    if when is None:
        return selectors.incidents_public(bbox=bbox, now=now)
    queryset = selectors.incidents_public(
        bbox=bbox, statuses=["unverified", "verified", "cleared", "expired", "rejected"], now=now
    )
    start, end = when
    condition = Q()
    # Compared as the public, floored times (incidents/public/filters.py): no bound learns more than a Feature.
    if end is not None:
        condition &= Q(first_reported_at__lt=public_time_below(end))
    if start is not None:
        condition &= Q(expires_at__gte=public_time_at_least(start))
    return queryset.filter(condition)


@ogc_view
def items(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    bbox = parse_bbox(request.GET.get("bbox"))
    crs = request.GET.get("bbox-crs")
    if crs and crs != CRS84:
        detail = f"bbox-crs must be {CRS84}."
        raise ApiError("invalid_bbox_crs", detail, fields={"bbox-crs": detail})
    when = parse_datetime_filter(request.GET.get("datetime"))
    limit = parse_limit(request.GET.get("limit"))
    offset = parse_offset(request.GET.get("offset"))
    tag = etag.compute(request, "ogc-items", fmt, getattr(request, "LANGUAGE_CODE", ""))
    if etag.matches(request, tag):
        return etag.not_modified(tag)
    now = timezone.now()
    queryset = items_queryset(bbox=bbox, when=when, now=now)
    page = features_page(queryset, limit=limit, now=now, offset=offset)
    matched = queryset.count()
    query = {k: v for k, v in request.GET.items() if k not in ("offset", "f")}
    links = _links(request, "items", fmt, json_type=GEOJSON)
    if page.has_more:
        links.append(
            {
                "rel": "next",
                "type": GEOJSON if fmt == "json" else "text/html",
                "title": _("Next page"),
                "href": _url(request, "items", {**query, "offset": offset + limit, "f": fmt}),
            }
        )
    if offset > 0:
        links.append(
            {
                "rel": "prev",
                "type": GEOJSON if fmt == "json" else "text/html",
                "title": _("Previous page"),
                "href": _url(request, "items", {**query, "offset": max(offset - limit, 0), "f": fmt}),
            }
        )
    links.append(
        {"rel": "collection", "type": "application/json", "title": _("Incidents"), "href": _url(request, "collection")}
    )
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "html":
        features = json.loads(f"[{page.body}]")
        response = render(
            request,
            "ogc/items.html",
            {"features": features, "links": links, "matched": matched, "returned": page.count},
        )
    else:
        body = (
            '{"type":"FeatureCollection","features":['
            + page.body
            + f'],"links":{dumps(links)},"numberMatched":{matched},"numberReturned":{page.count},'
            + f'"timeStamp":"{stamp}"}}'
        )
        response = HttpResponse(body, content_type=GEOJSON)
    response["ETag"] = tag
    response["Cache-Control"] = "no-cache"
    return response


@ogc_view
def item(request: HttpRequest, item_id: str) -> HttpResponse:
    fmt = _format(request)
    if not item_id.isdigit() or len(item_id) > 18:
        raise ApiError("not_found", "There is no public incident with this id.", status_code=404)
    queryset = Incident.objects.filter(published_q(), pk=int(item_id)).order_by("pk")
    page = features_page(queryset, limit=1, now=timezone.now())
    if page.count == 0:
        raise ApiError("not_found", "There is no public incident with this id.", status_code=404)
    data = json.loads(page.body)
    data["links"] = [
        *_links(request, "item", fmt, json_type=GEOJSON, item_id=item_id),
        {"rel": "collection", "type": "application/json", "title": _("Incidents"), "href": _url(request, "collection")},
    ]
    if fmt == "html":
        return render(
            request, "ogc/items.html", {"features": [data], "links": data["links"], "matched": 1, "returned": 1}
        )
    return HttpResponse(dumps(data), content_type=GEOJSON)
