"""Writes of the webhooks: subscriptions, the fan-out of public events into deliveries, and each try.

HTTP calls happen only in `delivery_attempt`, outside any transaction; every write around them is a
short statement of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from incidents import conf as incidents_conf
from incidents.errors import DomainError
from incidents.models import IncidentEvent
from incidents.public.fields import public_time
from watch import conf, net
from watch.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

USER_AGENT = "Alcabala-Webhooks/1"


# --- subscriptions -------------------------------------------------------------------------------


def webhook_create(
    *,
    api_key_id: int,
    url: str,
    bbox: Sequence[float] | None = None,
    kinds: Sequence[str] = (),
    events: Sequence[str] = (),
) -> WebhookSubscription:
    """Register `url` for the public events of an area. The URL must pass the SSRF guard (watch/net.py),
    a key holds at most MAX_WEBHOOKS_PER_KEY webhooks. The secret is on the returned row."""
    try:
        net.check_url(url)
    except net.UrlRefused as exc:
        raise DomainError("url_not_allowed", str(exc), field="url") from None
    if WebhookSubscription.objects.filter(api_key_id=api_key_id).count() >= conf.MAX_WEBHOOKS_PER_KEY:
        detail = f"A key may hold at most {conf.MAX_WEBHOOKS_PER_KEY} webhooks; delete one first."
        raise DomainError("too_many_webhooks", detail, status_code=409)
    area: list[float | None] = [float(v) for v in bbox] if bbox else [None, None, None, None]
    return WebhookSubscription.objects.create(
        api_key_id=api_key_id,
        url=url,
        min_lon=area[0],
        min_lat=area[1],
        max_lon=area[2],
        max_lat=area[3],
        kinds=sorted(set(kinds)),
        events=sorted(set(events)),
    )


def webhook_enable(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Switch a webhook on again (after it was disabled for failures), its failure count reset."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=True, consecutive_failures=0, disabled_at=None, disabled_reason=""
    )
    subscription.refresh_from_db()
    return subscription


def webhook_disable(*, subscription: WebhookSubscription, reason: str, now: datetime | None = None) -> None:
    """Stop a webhook: no new deliveries, and those still waiting are cancelled."""
    now = now or timezone.now()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=False, disabled_at=now, disabled_reason=reason[:300]
    )
    WebhookDelivery.objects.filter(subscription=subscription, state=DeliveryState.PENDING).update(
        state=DeliveryState.CANCELLED
    )


def webhook_delete(*, subscription: WebhookSubscription) -> None:
    subscription.delete()


# --- fan-out -------------------------------------------------------------------------------------


def events_fan_out(*, limit: int = 500) -> tuple[int, list[int]]:
    """Turn up to `limit` pending public events into one delivery per matching active webhook; returns how
    many events were taken and the new deliveries' ids. Safe to run twice or at once: events are claimed
    in the same transaction."""
    with transaction.atomic():
        pending = IncidentEvent.objects.filter(dispatched=False).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        batch = list(pending[:limit])
        if not batch:
            return 0, []
        subscriptions = list(WebhookSubscription.objects.filter(active=True))
        deliveries = [
            WebhookDelivery(subscription=subscription, event=event)
            for event in batch
            for subscription in subscriptions
            if subscription.wants(event)
        ]
        # Events are claimed above, so no delivery of them exists yet (the unique constraint would say so).
        WebhookDelivery.objects.bulk_create(deliveries)
        IncidentEvent.objects.filter(pk__in=[event.pk for event in batch]).update(dispatched=True)
    return len(batch), [delivery.pk for delivery in deliveries]


# --- deliveries ----------------------------------------------------------------------------------


def payload(*, event: IncidentEvent, subscription_id: int) -> bytes:
    """The body of a delivery: the event and the public Feature right after it; nothing about reporters."""
    body = {
        "id": event.pk,
        "type": event.type,
        "occurred_at": public_time(event.created_at, incidents_conf.public_time_step_s()),
        "incident": event.incident_id,
        "webhook": subscription_id,
        "feature": event.feature,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of "<timestamp>.<body>" under the webhook's secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _retryable(status_code: int | None) -> bool:
    # No answer (connection refused, timeout), a server error or "too many requests": worth another try.
    return status_code is None or status_code >= 500 or status_code == 429


def backoff(attempt: int) -> float:
    """Seconds before try `attempt + 1`: doubling from WEBHOOK_RETRY_BACKOFF_S up to the cap, then a random
    point between half of that and all of it, so that receivers back from an outage are not hit in step."""
    ceiling = min(conf.backoff_max_s(), conf.backoff_s() * 2 ** max(attempt - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Outcome:
    state: str  # the delivery's state after this try, or "skipped" when it was not ours to try
    retry_in: float | None = None


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> Outcome:
    """Try one delivery once, if it is due and nobody else holds it.

    The row is claimed by a conditional update (pending → sending), so a task run twice sends once.
    A 2xx delivers. No answer, a 5xx or a 429 is retried WEBHOOK_RETRIES times with backoff; any other
    answer fails at once. Every try is recorded, and WEBHOOK_MAX_FAILURES failed tries in a row
    disable the webhook.
    """
    now = now or timezone.now()
    # Due only: a duplicate message of an earlier try does not jump ahead of the backoff.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now + timedelta(seconds=1)
    ).update(state=DeliveryState.SENDING, claimed_at=now)
    if not claimed:
        return Outcome("skipped")
    delivery = WebhookDelivery.objects.select_related("subscription", "event").get(pk=delivery_id)
    subscription = delivery.subscription
    if not subscription.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.CANCELLED)
        return Outcome(DeliveryState.CANCELLED)

    body = payload(event=delivery.event, subscription_id=subscription.pk)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Alcabala-Event": delivery.event.type,
        "X-Alcabala-Event-Id": str(delivery.event_id),
        "X-Alcabala-Timestamp": str(timestamp),
        "X-Alcabala-Signature": sign(secret=subscription.secret, timestamp=timestamp, body=body),
    }
    answer = net.post(subscription.url, body=body, headers=headers)
    done = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=now,
        status_code=answer.status_code,
        error=answer.error[:300],
        duration_ms=answer.duration_ms,
    )
    attempts = delivery.attempts + 1
    if answer.status_code is not None and 200 <= answer.status_code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.DELIVERED, attempts=attempts, delivered_at=done
        )
        WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0, last_delivery_at=done)
        return Outcome(DeliveryState.DELIVERED)

    WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = WebhookSubscription.objects.filter(pk=subscription.pk).values_list("consecutive_failures", flat=True)
    what = f"HTTP {answer.status_code}" if answer.status_code is not None else answer.error
    if (failures.first() or 0) >= conf.max_failures():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, attempts=attempts)
        reason = f"{conf.max_failures()} failed tries in a row; the last: {what}"
        webhook_disable(subscription=subscription, reason=reason, now=done)
        logger.info("webhook %d disabled after %d failed tries", subscription.pk, conf.max_failures())
        return Outcome(DeliveryState.FAILED)
    if _retryable(answer.status_code) and attempts <= conf.retries():
        delay = backoff(attempts)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.PENDING, attempts=attempts, next_attempt_at=done + timedelta(seconds=delay)
        )
        return Outcome(DeliveryState.PENDING, retry_in=delay)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, attempts=attempts)
    return Outcome(DeliveryState.FAILED)


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Deliveries that a lost task left behind: pending and overdue by a minute, or claimed by a worker
    that vanished (the claim is released first). For the sweeper to enqueue again."""
    now = now or timezone.now()
    # A claim older than the delivery task's hard time limit (and then some) belongs to a worker that is gone.
    stale_after = timedelta(seconds=max(300.0, conf.timeout_s() * 3 + 80))
    stale = WebhookDelivery.objects.filter(state=DeliveryState.SENDING, claimed_at__lte=now - stale_after)
    stuck = list(stale.values_list("pk", flat=True)[:limit])
    released = WebhookDelivery.objects.filter(pk__in=stuck, state=DeliveryState.SENDING).update(
        state=DeliveryState.PENDING, next_attempt_at=now
    )
    if released:
        logger.info("released %d webhook deliveries claimed by a worker that vanished", released)
    overdue = WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING, next_attempt_at__lte=now - timedelta(minutes=1)
    ).order_by("next_attempt_at")
    return sorted(set(stuck) | set(overdue.values_list("pk", flat=True)[:limit]))


def events_prune(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete public events older than EVENT_RETENTION_DAYS, with their deliveries and tries, in batches."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.EVENT_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(
            IncidentEvent.objects.filter(created_at__lt=cutoff, dispatched=True)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        WebhookAttempt.objects.filter(delivery__event_id__in=ids).delete()
        WebhookDelivery.objects.filter(event_id__in=ids).delete()
        IncidentEvent.objects.filter(pk__in=ids).delete()
        total += len(ids)
