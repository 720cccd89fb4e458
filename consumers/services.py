"""Writes of API keys: create (the only moment the key itself exists in our hands) and revoke."""

from __future__ import annotations

from django.utils import timezone

from consumers.models import ApiKey, hash_key, new_key
from consumers.throttle import forget_key

__all__ = ["api_key_create", "api_key_revoke", "forget_key"]


def api_key_create(*, name: str, created_by=None, reads_per_minute: int | None = None) -> tuple[ApiKey, str]:
    """A new key for `name`. Returns the row and the key, which is stored only as its hash."""
    key = new_key()
    api_key = ApiKey.objects.create(
        name=name,
        prefix=key[:12],
        key_hash=hash_key(key),
        reads_per_minute=reads_per_minute,
        created_by=created_by,
    )
    return api_key, key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke at once: the row is marked and its cached lookup in Redis dropped."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    forget_key(api_key.key_hash)
