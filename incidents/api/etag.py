"""ETags from the map version and the query, checked before the database is touched.

The map version comes from Redis with one GET (`incidents.mapversion`), so an unchanged poll is answered
304 without any SQL. Read-time expiry changes no version: an incident that passes its `expires_at` shows
up as changed once the expiry job has recorded it (every EXPIRE_INTERVAL_S).
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponseNotModified

from incidents import conf, mapversion


def compute(request: HttpRequest, scope: str, *extra: str) -> str:
    version = mapversion.current()
    query = sorted((key, tuple(values)) for key, values in request.GET.lists())
    material = "|".join(
        [
            scope,
            str(version),
            request.get_host(),
            "https" if request.is_secure() else "http",
            repr(query),
            conf.publish_policy(),
            str(conf.corroboration_sources()),
            str(conf.public_grid_m()),
            str(conf.public_time_step_s()),
            *extra,
        ]
    )
    return 'W/"' + hashlib.sha256(material.encode()).hexdigest()[:32] + '"'


def matches(request: HttpRequest, etag: str) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    if not header:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def not_modified(etag: str) -> HttpResponseNotModified:
    response = HttpResponseNotModified()
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response
