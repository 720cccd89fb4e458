from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

KEY_PREFIX = "alc_"


def hash_key(key: str) -> str:
    # Keys are 256 random bits: a fast hash is enough, no salt or stretching needed.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKey(models.Model):
    """A key that a newsroom or NGO sends as `Authorization: Token <key>` for a higher read limit.

    Only the key's hash is stored; staff see the key once, when they create it.
    """

    name = models.CharField(max_length=200, help_text="Who the key is for, e.g. a newsroom and a contact.")
    prefix = models.CharField(max_length=12, editable=False, help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    reads_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides API_READ_RATE_KEY for this key; empty: the setting."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False, on_delete=models.SET_NULL
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
