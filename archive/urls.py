from __future__ import annotations

from django.urls import path

from archive import api

app_name = "archive"

urlpatterns = [
    path("exports", api.ExportCreateApi.as_view(), name="export-create"),
    path("exports/<str:export_id>", api.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<str:export_id>/file", api.ExportFileApi.as_view(), name="export-file"),
]
