from __future__ import annotations

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Reports by SMS and Telegram"
    default_auto_field = "django.db.models.BigAutoField"
