from __future__ import annotations

from django.apps import AppConfig


class WatchConfig(AppConfig):
    name = "watch"
    verbose_name = "Watching an area: feed and webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from incidents.events import public_events_committed
        from watch.tasks import fan_out_on_events

        # Public events committed by the incidents app are fanned out to webhooks; incidents never imports watch.
        public_events_committed.connect(fan_out_on_events, dispatch_uid="watch.fan_out_on_events")
