from __future__ import annotations

from django.urls import path

from incidents import views

urlpatterns = [
    path("", views.live_map, name="map"),
    path("report", views.report, name="report"),
    path("report/status/<uuid:report_id>", views.report_status, name="report-status"),
    path("report/status/<uuid:report_id>/vote", views.report_status_vote, name="report-status-vote"),
    path("exit", views.quick_exit, name="quick-exit"),
    path("lang/<str:code>", views.set_language, name="set-language"),
    path("sw.js", views.service_worker, name="service-worker"),
]
