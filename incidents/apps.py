from __future__ import annotations

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _install_stored_features(sender, using: str = "default", **kwargs) -> None:
    from incidents.public import stored  # needs the app registry: models are imported here

    stored.install(connections[using])


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        # After every migrate (and flush): the trigger that stores each incident's public Feature text
        # runs the code and settings now deployed.
        post_migrate.connect(_install_stored_features, sender=self, dispatch_uid="incidents.stored_features")
