from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from consumers.models import ApiKey
from incidents.models import IncidentEvent

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    """A consumer's URL that receives signed POSTs of public changes in an area.

    The secret signs every delivery (HMAC-SHA256); it is shown to the consumer once, when created, and
    kept here because signing needs it. Disabled after WEBHOOK_MAX_FAILURES failed attempts in a row,
    with the reason; the consumer or staff switch it on again.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=80, default=new_secret, editable=False)
    # The area, in degrees; all four empty: the whole deployment area.
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    kinds = models.JSONField(default=list, blank=True, help_text="Kinds to send; empty: all.")
    events = models.JSONField(default=list, blank=True, help_text="Event types to send; empty: all.")
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    last_delivery_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "webhook"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook #{self.pk} → {self.url}"

    @property
    def bbox(self) -> list[float] | None:
        if self.min_lon is None or self.min_lat is None or self.max_lon is None or self.max_lat is None:
            return None
        return [self.min_lon, self.min_lat, self.max_lon, self.max_lat]

    def wants(self, event: IncidentEvent) -> bool:
        """Whether `event` is for this subscription: its type, its kind, its point inside the area."""
        if self.events and event.type not in self.events:
            return False
        if self.kinds and event.kind not in self.kinds:
            return False
        bbox = self.bbox
        if bbox is None:
            return True
        x, y = event.point.x, event.point.y
        if not bbox[1] <= y <= bbox[3]:
            return False
        if bbox[0] > bbox[2]:  # across the antimeridian
            return x >= bbox[0] or x <= bbox[2]
        return bbox[0] <= x <= bbox[2]


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class WebhookDelivery(models.Model):
    """One event for one subscription, tried until delivered, out of retries, or the webhook is disabled."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(IncidentEvent, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="one_delivery_per_event")]
        indexes = [
            # The sweeper looks only at deliveries still under way.
            models.Index(
                fields=["next_attempt_at"], name="delivery_open_idx", condition=Q(state__in=["pending", "sending"])
            ),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} ({self.state})"


class WebhookAttempt(models.Model):
    """One try of a delivery: when, the receiver's status code or the error, and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"try of delivery #{self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}"
