"""Trusted reporters: pseudonyms that moderators enrol, the one-time codes that bind a phone to one, the link
from a report to its trusted reporter, and the append-only log of every step (architecture §6.9).

Neither a code nor a trusted token is stored: only keyed hashes of them (trust/keys.py). What a dump of these
tables shows is a moderator-chosen pseudonym, who enrolled it and when, and which reports it made.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from trust.conf import LABEL_MAX_LENGTH


class AppendOnlyError(RuntimeError):
    pass


class TrustedReporter(models.Model):
    """A field reporter a moderator knows, known here only by a pseudonym and the hash of a phone's token."""

    label = models.CharField(
        max_length=LABEL_MAX_LENGTH,
        unique=True,
        help_text="A pseudonym such as T-17. Never a real name, a phone number or anything that identifies the "
        "person: a dump of the database links this label to every report it made.",
    )
    key = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="Keyed hash of the trusted token; empty until the code is redeemed.",
    )
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    redeemed_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    rejections = models.PositiveIntegerField(
        default=0, editable=False, help_text="Incidents with this reporter's reports that a moderator rejected."
    )
    reports = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.label

    @property
    def active(self) -> bool:
        return self.redeemed_at is not None and self.revoked_at is None


class TrustEnrolment(models.Model):
    """A one-time code that a phone redeems for a trusted token; dead once used or after its expiry."""

    reporter = models.ForeignKey(TrustedReporter, on_delete=models.PROTECT, related_name="enrolments")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)
    used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"code for {self.reporter} ({self.created_at:%Y-%m-%d %H:%M})"


class TrustedReport(models.Model):
    """The only link from a report to the trusted reporter who sent it."""

    report = models.OneToOneField("incidents.Report", on_delete=models.CASCADE, related_name="trusted")
    reporter = models.ForeignKey(TrustedReporter, on_delete=models.PROTECT, related_name="trusted_reports")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.report_id} by {self.reporter}"


class TrustEvent(models.Model):
    """What happened to a trusted reporter, and who did it. Append-only."""

    class Action(models.TextChoices):
        ENROLLED = "enrolled", "enrolled, code issued"
        REDEEMED = "redeemed", "code redeemed"
        REVOKED = "revoked", "revoked"
        REJECTION_COUNTED = "rejection_counted", "rejection counted"
        CODE_EXPIRED = "code_expired", "expired code refused"
        CODE_USED = "code_used", "used code refused"
        CODE_REVOKED = "code_revoked", "code of a revoked reporter refused"

    reporter = models.ForeignKey(TrustedReporter, on_delete=models.PROTECT, related_name="events")
    label = models.CharField(max_length=LABEL_MAX_LENGTH)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    incident_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The rejected incident, for a counted rejection."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A rejection is counted once per incident and reporter, whoever calls twice.
            models.UniqueConstraint(
                fields=["reporter", "incident_id"],
                condition=Q(action="rejection_counted"),
                name="trust_one_rejection_per_incident",
            )
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.label}: {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Trust events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Trust events cannot be deleted.")
