from __future__ import annotations

from django.urls import path

from watch import api

app_name = "watch"

urlpatterns = [
    path("webhooks", api.WebhookListApi.as_view(), name="webhook-list"),
    path("webhooks/<int:webhook_id>", api.WebhookDetailApi.as_view(), name="webhook-detail"),
]
