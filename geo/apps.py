from __future__ import annotations

from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "geo"
    verbose_name = "Geography"

    def ready(self) -> None:
        from geo import checks  # noqa: F401  (registers the basemap's start-up check)
