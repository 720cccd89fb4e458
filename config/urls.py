from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config import health
from consumers.docs import DocsView, SchemaView
from geo.views import basemap_archive
from trust.api import TrustedRedeemApi
from trust.views import trusted_view
from watch.feeds import incident_feed

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("basemap.pmtiles", basemap_archive, name="basemap"),
    path("api/v1/schema", SchemaView.as_view(), name="api-schema"),
    path("api/v1/docs", DocsView.as_view(), name="api-docs"),
    path("api/v1/trusted", TrustedRedeemApi.as_view(), name="trusted-redeem"),
    path("api/v1/", include("watch.urls")),
    path("api/v1/", include("archive.urls")),
    path("api/v1/", include("incidents.api.urls")),
    path("ogc/", include("ogc.urls")),
    path("feeds/incidents.atom", incident_feed, name="incident-feed"),
    path("moderate/", include("moderation.urls")),
    path("api/moderation/v1/", include("moderation.api.urls")),
    path("admin/", admin.site.urls),
    path("trusted", trusted_view, name="trusted"),
    path("intake/", include("messaging.urls")),
    path("", include("incidents.urls")),
]

handler400 = "config.errors.handler400"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
