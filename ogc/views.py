"""OGC API – Features over the same public incidents and Features as /api/v1/incidents.

Part 1 (core, GeoJSON, HTML, OpenAPI 3.0) and Part 3 (queryables, equality filters as query parameters,
Basic CQL2 text in `filter`), and `sortby`, `properties`. One collection, `incidents`, in CRS84 (lon,
lat). JSON by default; a plain HTML view with `f=html` or for a browser's Accept header. Items are the
live public incidents in id order; with `datetime`, every public incident whose time on the map, from
`first_reported_at` to `expires_at`, meets the instant, day or interval, ended ones included. A query
parameter a resource does not take is a 400 (/req/core/query-param-unknown), never silently ignored.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

import yaml
from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularSwaggerSplitView

from config.errors import ApiError
from consumers.throttle import check_read
from geo.area import deployment_area
from incidents import selectors
from incidents.api import etag, params
from incidents.models import Incident
from incidents.public.features import GEOJSON, dumps, features_page
from incidents.public.fields import FIELDS
from incidents.public.filters import public_time_at_least, public_time_below
from incidents.public.status import published_q
from ogc import openapi, queryables
from ogc.openapi import CRS84, OPENAPI_JSON, OPENAPI_YAML, SCHEMA_JSON

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    # Sorting, as OGC API – Records defines it (the Features part for it is still a draft).
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
]
COLLECTION = "incidents"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
ITEMS_PARAMETERS = {"f", "bbox", "bbox-crs", "datetime", "limit", "offset", "sortby", "properties", "filter"}
ITEMS_PARAMETERS |= {"filter-lang", "filter-crs"}


def check_parameters(request: HttpRequest, allowed: set[str] | frozenset[str]) -> None:
    """A parameter the resource does not take is a 400 (Part 1, /req/core/query-param-unknown)."""
    unknown = sorted(name[:40] for name in request.GET if name not in allowed)  # echoed back: bounded
    if unknown:
        names = ", ".join(unknown)
        detail = f"Unknown query parameter {names}; this resource takes {', '.join(sorted(allowed))}."
        raise ApiError(
            "unknown_parameter", detail, fields={name: "Not a parameter of this resource." for name in unknown}
        )


def _format(request: HttpRequest, formats: tuple[str, ...] = ("json", "html")) -> str:
    f = request.GET.get("f")
    if f in formats:
        return f
    if f is not None:
        detail = f"f must be {' or '.join(formats)}."
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
    check_parameters(request, {"f"})
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
                "type": OPENAPI_JSON,
                "title": _("The API definition"),
                "href": _url(request, "api"),
            },
            {
                "rel": "service-desc",
                "type": OPENAPI_YAML,
                "title": _("The API definition as YAML"),
                "href": _url(request, "api", {"f": "yaml"}),
            },
            {
                "rel": "service-doc",
                "type": "text/html",
                "title": _("The API documentation"),
                "href": _url(request, "docs"),
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
    check_parameters(request, {"f"})
    fmt = _format(request)
    return _answer(
        request,
        fmt,
        {"conformsTo": CONFORMANCE, "links": _links(request, "conformance", fmt)},
        title=_("Conformance classes"),
    )


def _extent() -> dict:
    """From the public incidents, ended ones included; the deployment area while there are none."""
    found = selectors.incidents_public_extent()
    box = found.bbox or deployment_area().extent
    interval = [t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else None for t in (found.start, found.end)]
    return {
        "spatial": {"bbox": [list(box)], "crs": CRS84},
        "temporal": {"interval": [interval], "trs": TRS},
    }


def _collection(request: HttpRequest) -> dict:
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
        "extent": _extent(),
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
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": SCHEMA_JSON,
                "title": _("What the incidents can be filtered on"),
                "href": _url(request, "queryables"),
            },
        ],
    }


@ogc_view
def collections(request: HttpRequest) -> HttpResponse:
    check_parameters(request, {"f"})
    fmt = _format(request)
    data = {"links": _links(request, "collections", fmt), "collections": [_collection(request)], "crs": [CRS84]}
    return _answer(request, fmt, data, title=_("Collections"))


@ogc_view
def collection(request: HttpRequest) -> HttpResponse:
    check_parameters(request, {"f"})
    fmt = _format(request)
    return _answer(request, fmt, _collection(request), title=_("Incidents"))


@ogc_view
def queryables_view(request: HttpRequest) -> HttpResponse:
    """Part 3: the queryables as a JSON Schema."""
    check_parameters(request, {"f"})
    fmt = _format(request)
    data = queryables.schema(_url(request, "queryables"))
    if fmt == "html":
        data = {**data, "links": _links(request, "queryables", fmt, json_type=SCHEMA_JSON)}
    return _answer(request, fmt, data, title=_("What the incidents can be filtered on"), content_type=SCHEMA_JSON)


def _wants_yaml(request: HttpRequest) -> bool:
    """YAML for f=yaml, or when the Accept header ranks the YAML type above every JSON one."""
    best: dict[str, float] = {}
    for position, part in enumerate(request.META.get("HTTP_ACCEPT", "").split(",")):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            if parameter.startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        kind = "yaml" if media in ("application/vnd.oai.openapi", "application/yaml", "text/yaml") else "json"
        if "json" not in media and kind == "json":
            continue
        best[kind] = max(best.get(kind, 0.0), quality - position * 1e-6)
    return best.get("yaml", 0.0) > best.get("json", 0.0)


@ogc_view
def api(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.0 definition of /ogc/: JSON by default, YAML on request, the docs page for f=html."""
    check_parameters(request, {"f"})
    f = request.GET.get("f")
    if f not in (None, "json", "yaml", "html"):
        detail = "f must be json, yaml or html."
        raise ApiError("invalid_f", detail, fields={"f": detail})
    if f == "html":
        return redirect("ogc:docs")
    document = openapi.document(_url(request, "landing"))
    if f == "yaml" or (f is None and _wants_yaml(request)):
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
        return HttpResponse(text, content_type=f"{OPENAPI_YAML};charset=utf-8")
    return HttpResponse(dumps(document), content_type=OPENAPI_JSON)


class DocsView(SpectacularSwaggerSplitView):
    """The definition of /ogc/ in the same Swagger UI as /api/v1/docs (our own assets, CSP 'self')."""

    template_name = "consumers/api_docs.html"
    url_name = "ogc:api"
    title = "Alcabala OGC API – Features"


DATETIME_HELP = (
    "datetime must be an instant (2026-12-01T10:00:00Z), a date (2026-12-01: that whole day) or an interval "
    "a/b of those, with .. or nothing for an open end (2026-12-01/.., ../2026-12-01T10:00:00Z)."
)


def _datetime_end(text: str) -> tuple[datetime, datetime]:
    try:
        return queryables.time_range(text, parameter="datetime")
    except ApiError:
        raise ApiError("invalid_datetime", DATETIME_HELP, fields={"datetime": DATETIME_HELP}) from None


def parse_datetime_filter(value: str | None) -> tuple[datetime | None, datetime | None] | None:
    """An instant, a date or an interval `a/b` (`..` or nothing for an open end), as (start, end), both
    inclusive: a date stands for its whole day, from its first instant to its last."""
    if value is None or value == "":
        return None
    if "/" in value:
        start_text, _sep, end_text = value.partition("/")
        if "/" in end_text:
            raise ApiError("invalid_datetime", DATETIME_HELP, fields={"datetime": DATETIME_HELP})
        start = None if start_text in ("", "..") else _datetime_end(start_text)[0]
        end = None if end_text in ("", "..") else _datetime_end(end_text)[1]
        if start is None and end is None:
            detail = "datetime needs at least one end: a/b, ../b or a/.."
            raise ApiError("invalid_datetime", detail, fields={"datetime": detail})
        if start is not None and end is not None and start > end:
            detail = "datetime interval starts after it ends."
            raise ApiError("invalid_datetime", detail, fields={"datetime": detail})
        return start, end
    if value == "..":
        raise ApiError("invalid_datetime", DATETIME_HELP, fields={"datetime": DATETIME_HELP})
    return _datetime_end(value)


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


def items_queryset(*, bbox=None, when=None, condition: Q | None = None, now: datetime):
    if when is None:
        queryset = selectors.incidents_public(bbox=bbox, now=now)
    else:
        queryset = selectors.incidents_public(
            bbox=bbox, statuses=["unverified", "verified", "cleared", "expired", "rejected"], now=now
        )
        start, end = when
        during = Q()
        # Compared as the public, floored times (incidents/public/filters.py): no bound learns more than a Feature.
        if end is not None:
            during &= Q(first_reported_at__lt=public_time_below(end))
        if start is not None:
            during &= Q(expires_at__gte=public_time_at_least(start))
        queryset = queryset.filter(during)
    return queryset if condition is None else queryset.filter(condition)


def parse_properties(value: str | None) -> list[str] | None:
    """`properties=kind,status`: the properties to keep; None keeps them all, an empty value none."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    known = [f.name for f in FIELDS]
    unknown = [name for name in names if name not in known]
    if unknown:
        detail = f"Unknown property {', '.join(unknown)}; the properties are {', '.join(known)}."
        raise ApiError("invalid_properties", detail, fields={"properties": detail})
    return names


def filter_condition(request: HttpRequest, now: datetime) -> Q | None:
    """The queryables given as parameters (each an equality) and the CQL2 `filter`, together."""
    condition = Q()
    for name, queryable in queryables.queryables().items():
        if name in request.GET:
            literal = queryables.parameter_literal(queryable, request.GET[name])
            condition &= queryables.comparison_q(queryable, "=", literal, now=now, parameter=name)
    lang = request.GET.get("filter-lang")
    if lang not in (None, "cql2-text"):
        detail = "filter-lang must be cql2-text (cql2-json is not supported)."
        raise ApiError("invalid_filter_lang", detail, fields={"filter-lang": detail})
    crs = request.GET.get("filter-crs")
    if crs is not None and crs != CRS84:
        detail = f"filter-crs must be {CRS84}."
        raise ApiError("invalid_filter_crs", detail, fields={"filter-crs": detail})
    text = request.GET.get("filter")
    if text is not None:
        condition &= queryables.filter_q(text, now=now)
    return condition or None


def _select(body: str, keep: list[str] | None) -> list[dict]:
    features = json.loads(f"[{body}]")
    if keep is not None:
        for feature in features:
            feature["properties"] = {k: v for k, v in feature["properties"].items() if k in keep}
    return features


@ogc_view
def items(request: HttpRequest) -> HttpResponse:
    check_parameters(request, ITEMS_PARAMETERS | set(queryables.queryables()))
    fmt = _format(request)
    bbox = parse_bbox(request.GET.get("bbox"))
    crs = request.GET.get("bbox-crs")
    if crs and crs != CRS84:
        detail = f"bbox-crs must be {CRS84}."
        raise ApiError("invalid_bbox_crs", detail, fields={"bbox-crs": detail})
    when = parse_datetime_filter(request.GET.get("datetime"))
    limit = parse_limit(request.GET.get("limit"))
    offset = parse_offset(request.GET.get("offset"))
    order = queryables.sort_order(request.GET.get("sortby"))
    keep = parse_properties(request.GET.get("properties"))
    now = timezone.now()
    condition = filter_condition(request, now)  # parsed before the ETag, so a bad filter is never a 304
    tag = etag.compute(request, "ogc-items", fmt, getattr(request, "LANGUAGE_CODE", ""))
    if etag.matches(request, tag):
        return etag.not_modified(tag)
    queryset = items_queryset(bbox=bbox, when=when, condition=condition, now=now)
    page = features_page(queryset, limit=limit, now=now, offset=offset, order_by=order)
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
        response = render(
            request,
            "ogc/items.html",
            {
                "features": _select(page.body, keep),
                "links": links,
                "matched": matched,
                "returned": page.count,
                "geojson": _url(request, "items", {**query, "offset": offset, "f": "json"}),
                **_map_context(),
            },
        )
    else:
        body = page.body if keep is None else ",".join(dumps(f) for f in _select(page.body, keep))
        body = (
            '{"type":"FeatureCollection","features":['
            + body
            + f'],"links":{dumps(links)},"numberMatched":{matched},"numberReturned":{page.count},'
            + f'"timeStamp":"{stamp}"}}'
        )
        response = HttpResponse(body, content_type=GEOJSON)
    response["ETag"] = tag
    response["Cache-Control"] = "no-cache"
    return response


def _map_context() -> dict:
    """What the items page's map needs: the same basemap (or tile server) and area as the live map."""
    min_lon, min_lat, max_lon, max_lat = deployment_area().extent
    return {
        "area_bbox": f"{min_lon:.4f},{min_lat:.4f},{max_lon:.4f},{max_lat:.4f}",
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "basemap_zoom": settings.BASEMAP_MAX_ZOOM,
        "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
    }


@ogc_view
def item(request: HttpRequest, item_id: str) -> HttpResponse:
    check_parameters(request, {"f", "properties"})
    fmt = _format(request)
    keep = parse_properties(request.GET.get("properties"))
    if not item_id.isdigit() or len(item_id) > 18:
        raise ApiError("not_found", "There is no public incident with this id.", status_code=404)
    queryset = Incident.objects.filter(published_q(), pk=int(item_id)).order_by("pk")
    page = features_page(queryset, limit=1, now=timezone.now())
    if page.count == 0:
        raise ApiError("not_found", "There is no public incident with this id.", status_code=404)
    data = _select(page.body, keep)[0]
    data["links"] = [
        *_links(request, "item", fmt, json_type=GEOJSON, item_id=item_id),
        {"rel": "collection", "type": "application/json", "title": _("Incidents"), "href": _url(request, "collection")},
    ]
    if fmt == "html":
        context = {
            "features": [data],
            "links": data["links"],
            "matched": 1,
            "returned": 1,
            "geojson": _url(request, "item", {"f": "json"}, item_id=item_id),
            **_map_context(),
        }
        return render(request, "ogc/items.html", context)
    return HttpResponse(dumps(data), content_type=GEOJSON)
