from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.area import deployment_area_contains
from incidents.storage import private_storage


class Kind(models.TextChoices):
    CHECKPOINT = "checkpoint", _("Checkpoint")
    ROADBLOCK = "roadblock", _("Roadblock")
    MILITIA = "militia", _("Armed group")
    HAZARD = "hazard", _("Danger")


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    API = "api", _("API")
    SMS = "sms", _("SMS")
    TELEGRAM = "telegram", _("Telegram")


class ReportState(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    UNLOCATABLE = "unlocatable", _("Unlocatable")
    SPAM = "spam", _("Spam")
    WITHDRAWN = "withdrawn", _("Withdrawn by its reporter")


class Status(models.TextChoices):
    UNVERIFIED = "unverified", _("Unverified")
    VERIFIED = "verified", _("Verified")
    CLEARED = "cleared", _("Cleared")
    EXPIRED = "expired", _("Expired")
    REJECTED = "rejected", _("Rejected")


ACTIVE_STATUSES = (Status.UNVERIFIED, Status.VERIFIED)
ENDED_STATUSES = (Status.CLEARED, Status.EXPIRED, Status.REJECTED)

# The only status changes there are (architecture §3). Ended statuses lead nowhere.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.UNVERIFIED: frozenset({Status.VERIFIED, Status.REJECTED, Status.CLEARED, Status.EXPIRED}),
    Status.VERIFIED: frozenset({Status.CLEARED, Status.EXPIRED, Status.REJECTED}),
    Status.CLEARED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.REJECTED: frozenset(),
}


class InvalidTransition(Exception):
    def __init__(self, current: str, target: str):
        super().__init__(f"An incident cannot go from {current} to {target}.")
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target)


class Incident(models.Model):
    """The public aggregate of reports of one thing at one place."""

    kind = models.CharField(max_length=16, choices=Kind.choices)
    point = models.PointField(srid=4326)
    place = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNVERIFIED)
    first_reported_at = models.DateTimeField()
    last_confirmed_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Devices: distinct device tokens that reported it, and that answered "still there" or "gone" last.
    reporters = models.PositiveIntegerField(default=0)
    still_there = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    # Independent sources (network groups with weight, architecture §3): what publication, confidence and
    # clearing count. `sources` reported it; of the sources, by their latest answer: `sources_confirming`
    # reported it and did not say "gone" since, `sources_vouching` only voted "still there", `sources_gone`
    # said "gone" last. Recounted from its Source rows with every change.
    sources = models.PositiveIntegerField(default=0)
    sources_confirming = models.PositiveIntegerField(default=0)
    sources_vouching = models.PositiveIntegerField(default=0)
    sources_gone = models.PositiveIntegerField(default=0)
    confidence = models.FloatField(default=0.0)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Reporters arrived in a burst from few networks: confidence is lowered and moderators look first.
    burst = models.BooleanField(default=False)
    # "Gone" and fresh confirmations disagree, it was reopened after votes cleared it, or it came in a burst.
    contested = models.BooleanField(default=False)
    # Enough independent "gone" to clear it, but a moderator verified it: only a person may end it.
    reported_gone = models.BooleanField(default=False)
    # A trusted reporter reported it (architecture §6.9).
    trusted = models.BooleanField(default=False)
    # Cleared by votes, not by a person: a report within its time to live reopens it, sources and all.
    cleared_by_votes = models.BooleanField(default=False)
    note = models.TextField(blank=True, max_length=1000)
    # A tombstone left by a moderator's merge points at the incident that absorbed it.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="absorbed", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The map version of its last public change (the changes feed's order); none while nobody has seen it.
    version = models.BigIntegerField(null=True, blank=True, default=None, unique=True)

    class Meta:
        indexes = [
            # The expiry job and every "active" read walk only live incidents.
            models.Index(
                fields=["expires_at"],
                name="incident_active_expires_idx",
                condition=Q(status__in=["unverified", "verified"]),
            ),
            models.Index(fields=["kind", "status"], name="incident_kind_status_idx"),
            models.Index(fields=["updated_at"], name="incident_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def clean(self) -> None:
        if self.point is not None:
            if self.point.srid not in (None, 4326):
                raise ValidationError({"point": "Incident points are stored in WGS 84 (SRID 4326)."})
            if not deployment_area_contains(self.point):
                raise ValidationError({"point": "The point is outside the deployment area."})


class Report(models.Model):
    """One person's observation. Private: never published as such."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    point = models.PointField(srid=4326, null=True, blank=True)
    place_text = models.CharField(max_length=200, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    observed_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    description = models.TextField(blank=True, max_length=500)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.API)
    reporter_key = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=ReportState.choices, default=ReportState.RECEIVED)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    processed_at = models.DateTimeField(null=True, blank=True)
    # Re-encoded with every piece of metadata dropped; private until a moderator approves it.
    photo = models.FileField(upload_to="photos/%Y/%m/", storage=private_storage, blank=True)
    photo_approved = models.BooleanField(default=False)
    # When the retention job removed the raw text, device hash and photo (architecture §6.8).
    purged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            # The sweeper looks only at reports still waiting for a worker.
            models.Index(fields=["received_at"], name="report_waiting_idx", condition=Q(state="received")),
        ]

    def __str__(self) -> str:
        return f"report {self.id} ({self.state})"

    def clean(self) -> None:
        if self.point is None and not self.place_text.strip():
            raise ValidationError("A report needs a location or a place name.")
        if self.point is not None and not deployment_area_contains(self.point):
            raise ValidationError({"point": "The point is outside the deployment area."})


class Source(models.Model):
    """One independent source of one incident: a network group, known here only by a tag of a few bits.

    The tag (`keys.source_tag`) is an HMAC under the server's key of the incident and the group's pseudonym,
    cut to 12 bits: two networks of one incident rarely share one, and no dump, with the key or without it,
    tells which network a tag stands for or that two incidents share a network (architecture §8.6).
    `weighted` is false for a source that was past its network's reach when it came (kept for moderators,
    counted nowhere); `confirmed_at` and `gone_at` are its latest answers either way.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="source_rows")
    tag = models.CharField(max_length=8)
    weighted = models.BooleanField(default=True)
    reported = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "tag"], name="one_source_row_per_tag")]

    @property
    def says_gone(self) -> bool:
        """Its latest answer is "gone"."""
        return self.gone_at is not None and (self.confirmed_at is None or self.gone_at > self.confirmed_at)


class Vote(models.Model):
    """One device's latest answer to "is it still there?" for one incident."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="votes")
    voter_key = models.CharField(max_length=64)
    still_there = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "voter_key"], name="one_vote_per_device")]


class Counter(models.Model):
    """Named monotonically increasing counters; `map` orders every public change."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)


class AppendOnlyError(Exception):
    pass


class ModerationEvent(models.Model):
    """An append-only record of every change of an incident's status or content, by a person or the system."""

    incident = models.ForeignKey(Incident, null=True, on_delete=models.PROTECT, related_name="events")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    action = models.CharField(max_length=32)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Moderation events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Moderation events cannot be deleted.")


class EventType(models.TextChoices):
    """What the public saw change: the Atom feed and the webhooks are made of these."""

    PUBLISHED = "published", _("Appeared on the map")
    VERIFIED = "verified", _("Verified")
    MOVED = "moved", _("Moved")
    UPDATED = "updated", _("Updated")
    ENDED = "ended", _("Ended")
    UNPUBLISHED = "unpublished", _("Withdrawn from the map")


class IncidentEvent(models.Model):
    """An append-only outbox row: one change of what the public sees of an incident.

    Written in the same transaction as the change (incidents/events.py), so a committed change always
    has its event and a rolled-back one never does. `feature` is the public Feature right after the
    change, exactly as the API shows it; nothing private is kept here. Rows are never changed, and are
    deleted (with their webhook deliveries) after watch.conf.EVENT_RETENTION_DAYS.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="public_events")
    type = models.CharField(max_length=16, choices=EventType.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    # The public, snapped point of the Feature (never the stored one): feed and webhook areas match against it.
    point = models.PointField(srid=4326)
    version = models.BigIntegerField()
    feature = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set once the webhook fan-out has turned the event into deliveries.
    dispatched = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="incident_event_created_idx"),
            models.Index(fields=["id"], name="incident_event_pending_idx", condition=Q(dispatched=False)),
        ]

    def __str__(self) -> str:
        return f"{self.type} of incident #{self.incident_id}"
