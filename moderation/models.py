"""Moderators' API tokens, enrolment codes and the log of what was done with them.

Tokens and codes are stored only as SHA-256 hashes of high-entropy random strings (the pattern of
consumers.models.ApiKey): a dump of the database gives nobody a usable token or code. The services that
make and check them are in moderation/accounts.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(RuntimeError):
    pass


class ModeratorToken(models.Model):
    """A moderator's token for the moderation API (`Authorization: Token <token>`), issued to a session
    that passed the second factor, shown once, expiring after MODERATION_TOKEN_TTL_HOURS."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderator_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the token is for, e.g. a tool's name.")
    prefix = models.CharField(max_length=12, editable=False, help_text="The token's first characters.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "moderator API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def usable(self, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())


class Enrolment(models.Model):
    """A one-time code with which a moderator, with the account's password, enrols a TOTP device.

    Issued by `create_moderator` or an administrator; dead once used or after ENROLMENT_TTL_HOURS.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)
    used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"enrolment of {self.user} ({self.created_at:%Y-%m-%d %H:%M})"


class AccountEvent(models.Model):
    """What happened to a moderator's second factor and tokens, and who did it. Append-only."""

    class Action(models.TextChoices):
        ENROLMENT_ISSUED = "enrolment_issued", "enrolment code issued"
        ENROLLED = "enrolled", "device enrolled"
        TOKEN_ISSUED = "token_issued", "API token issued"
        TOKEN_REVOKED = "token_revoked", "API token revoked"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username}: {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Account events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Account events cannot be deleted.")
