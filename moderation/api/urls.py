from __future__ import annotations

from django.urls import path

from moderation.api import views

urlpatterns = [
    path("queue", views.QueueApi.as_view(), name="moderation-api-queue"),
    path("incidents/<int:incident_id>", views.IncidentApi.as_view(), name="moderation-api-incident"),
    path("incidents/<int:incident_id>/actions", views.IncidentActionApi.as_view(), name="moderation-api-act"),
    path("incidents/<int:incident_id>/events", views.IncidentEventsApi.as_view(), name="moderation-api-events"),
]
