from __future__ import annotations

from django.apps import AppConfig


class WatchConfig(AppConfig):
    name = "watch"
    verbose_name = "Watching an area: feed and webhooks"
    default_auto_field = "django.db.models.BigAutoField"
