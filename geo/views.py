"""The basemap archive, served from our own origin with HTTP range requests (PMTiles readers ask for ranges).

In production nginx serves the same file itself (deploy/nginx); this view is what the dev server, gunicorn
alone and the tests use. Whitenoise answers no Range header, hence a view of its own.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_safe

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
MAX_AGE_S = 3600  # a rebuilt archive reaches browsers within an hour; its ETag tells readers it changed


@require_safe
def basemap_archive(request: HttpRequest) -> HttpResponse:
    path = settings.BASEMAP_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise Http404("no basemap archive") from None
    size = stat.st_size
    etag = quote_etag(f"{stat.st_mtime_ns:x}-{size:x}")
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": f"public, max-age={MAX_AGE_S}",
        "ETag": etag,
        "Last-Modified": http_date(stat.st_mtime),
    }
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers=headers)
    start, end, status = 0, size - 1, 200
    match = RANGE.match(request.headers.get("Range", "").strip())
    if match and (match[1] or match[2]) and request.headers.get("If-Range", etag) == etag:
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # the last N bytes
            start = max(size - int(match[2]), 0)
        if start > end or start >= size:
            return HttpResponse(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    with path.open("rb") as handle:
        handle.seek(start)
        body = handle.read(end - start + 1) if request.method == "GET" else b""
    response = HttpResponse(body, status=status, content_type="application/vnd.pmtiles", headers=headers)
    response["Content-Length"] = str(end - start + 1)
    return response
