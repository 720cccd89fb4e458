from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ModerationConfig(AppConfig):
    name = "moderation"
    default = True
    default_auto_field = "django.db.models.BigAutoField"


class AlcabalaAdminConfig(admin_apps.AdminConfig):
    """Django's admin behind the moderators' log-in and its second factor."""

    default = False
    default_site = "moderation.admin_site.AlcabalaAdminSite"
