"""CORS on the public reads, and on nothing else (architecture §5 and §8.3).

Any page may read what any server may fetch: the public incidents as GeoJSON, CSV, GPX, KML and OGC API, the
changes feed, the Atom feed, place search, the schema and route-check answers. Those answers carry
`Access-Control-Allow-Origin: *` (never with credentials: no cookie or session travels with a cross-origin
read) and expose the headers a client pages and caches with; their preflights are answered here. Everything
else, above all the writes (reports, votes, moderation, trusted links, webhooks), gets no CORS header at all:
a browser then refuses another site's page the answer, and its preflight, so a foreign page can neither read
a write's answer nor send one with a JSON body; `incidents.abuse.same_origin_guard` refuses what needs no
preflight. Native clients send no `Origin` and never look at these headers.

The allow list names URL patterns, not path prefixes, so a new endpoint is private until it is listed here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve

READ = frozenset({"GET", "HEAD"})
# URL names (namespace:name) of the public reads, with the methods a foreign page may use on them.
PUBLIC_READS: dict[str, frozenset[str]] = {
    "api:incident-list": READ,
    "api:incident-changes": READ,
    "api:incident-detail": READ,
    "api:places": READ,
    # A POST only because a route is long: nothing is stored, it is counted as a read.
    "api:route-check": READ | {"POST"},
    "api-schema": READ,
    "incident-feed": READ,
}
# Every view of these namespaces is a public read.
PUBLIC_NAMESPACES: dict[str, frozenset[str]] = {"ogc": READ}

ALLOW_HEADERS = "Authorization, Content-Type, If-None-Match, Accept, Accept-Language"
EXPOSE_HEADERS = "ETag, Link, Retry-After, Content-Disposition, Content-Language, Content-Crs"
MAX_AGE_S = 7200  # Chromium's cap on a cached preflight


def public_methods(path: str) -> frozenset[str]:
    """The methods another origin's page may use on `path`: empty unless it is a public read."""
    try:
        match = resolve(path)
    except Resolver404:
        return frozenset()
    if match.view_name in PUBLIC_READS:
        return PUBLIC_READS[match.view_name]
    for namespace in match.namespaces[:1]:
        if namespace in PUBLIC_NAMESPACES:
            return PUBLIC_NAMESPACES[namespace]
    return frozenset()


class PublicReadCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        methods = public_methods(request.path_info)
        if not methods:
            return self.get_response(request)
        wanted = request.META.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if request.method == "OPTIONS" and wanted and "HTTP_ORIGIN" in request.META:
            preflight = HttpResponse(status=204)
            preflight["Access-Control-Allow-Origin"] = "*"
            preflight["Access-Control-Allow-Methods"] = ", ".join(sorted(methods))
            preflight["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            preflight["Access-Control-Max-Age"] = str(MAX_AGE_S)
            return preflight
        response = self.get_response(request)
        if request.method in methods:
            # Errors too: a page must be able to read a 400's message or a 429's Retry-After.
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response
