"""Reads of the feed and the webhooks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db.models import QuerySet
from django.utils import timezone

from incidents.models import EventType, IncidentEvent
from watch import conf
from watch.models import WebhookSubscription

# What a person watching an area wants to hear of; webhooks also get `updated` and `moved`.
FEED_EVENTS = (EventType.PUBLISHED, EventType.VERIFIED, EventType.ENDED, EventType.UNPUBLISHED)


def feed_events(
    *, bbox: Polygon | MultiPolygon | None = None, kinds: Iterable[str] | None = None, now: datetime | None = None
) -> QuerySet[IncidentEvent]:
    """The newest public events in an area (at most FEED_MAX_ENTRIES, none older than FEED_DAYS), newest first."""
    now = now or timezone.now()
    events = IncidentEvent.objects.filter(type__in=FEED_EVENTS, created_at__gte=now - timedelta(days=conf.FEED_DAYS))
    if kinds:
        events = events.filter(kind__in=list(kinds))
    if bbox is not None:
        events = events.filter(point__bboverlaps=bbox, point__intersects=bbox)
    return events.order_by("-id")[: conf.FEED_MAX_ENTRIES]


def webhooks_of(*, api_key_id: int) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(api_key_id=api_key_id).order_by("id")


def webhook_of(*, api_key_id: int, webhook_id: int) -> WebhookSubscription | None:
    return WebhookSubscription.objects.filter(api_key_id=api_key_id, pk=webhook_id).first()
