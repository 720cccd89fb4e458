"""The OpenAPI document and its rendered docs, under the site's Content-Security-Policy as it is.

The docs page is drf-spectacular's Swagger UI "split" view: its start-up script is a separate file from
our own origin instead of an inline <script>, and the page's few lines of inline style are a static file
too, so script-src and style-src stay 'self' with no exception for this page. The Swagger UI assets come
from drf-spectacular-sidecar and are served by us (no CDN).
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


class SchemaView(SpectacularAPIView):
    pass


class DocsView(SpectacularSwaggerSplitView):
    template_name = "consumers/api_docs.html"
    url_name = "api-schema"
    title = "Alcabala API"


def public_api_only(endpoints, **kwargs):
    """The document describes the public v1 API only (the moderation API has its own users and auth)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
