from __future__ import annotations

from django.urls import path
from django.views.decorators.gzip import gzip_page

from incidents.api import route, views

app_name = "api"

urlpatterns = [
    path("reports", views.ReportCreateApi.as_view(), name="report-create"),
    path("reports/<str:report_id>", views.ReportDetailApi.as_view(), name="report-detail"),
    path("incidents", gzip_page(views.IncidentListApi.as_view()), name="incident-list"),
    path("incidents/changes", gzip_page(views.IncidentChangesApi.as_view()), name="incident-changes"),
    path("incidents/<int:incident_id>", views.IncidentDetailApi.as_view(), name="incident-detail"),
    path("incidents/<int:incident_id>/votes", views.IncidentVoteApi.as_view(), name="incident-votes"),
    path("route-check", gzip_page(route.RouteCheckApi.as_view()), name="route-check"),
    path("places", route.PlaceSearchApi.as_view(), name="places"),
]
