"""The Celery app; its configuration is the CELERY_* block of the Django settings."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("alcabala")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
