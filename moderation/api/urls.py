from __future__ import annotations

from django.urls import path

from moderation.api import views
from trust import api as trust_api

urlpatterns = [
    path("queue", views.QueueApi.as_view(), name="moderation-api-queue"),
    path("incidents/<int:incident_id>", views.IncidentApi.as_view(), name="moderation-api-incident"),
    path("incidents/<int:incident_id>/actions", views.IncidentActionApi.as_view(), name="moderation-api-act"),
    path("incidents/<int:incident_id>/events", views.IncidentEventsApi.as_view(), name="moderation-api-events"),
    path("trusted", trust_api.TrustedReportersApi.as_view(), name="moderation-api-trusted"),
    path(
        "trusted/<int:reporter_id>/revoke",
        trust_api.TrustedReporterRevokeApi.as_view(),
        name="moderation-api-trusted-revoke",
    ),
]
