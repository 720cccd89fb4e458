"""The moderation app's settings and who counts as a moderator, in one place."""

from __future__ import annotations

from typing import Any

from django.conf import settings

MODERATORS_GROUP = "moderators"


def retention_days() -> int:
    return int(getattr(settings, "RETENTION_DAYS", 30))


def login_failures_per_account() -> int:
    return int(getattr(settings, "LOGIN_FAILURES_PER_ACCOUNT", 5))


def login_failures_per_network() -> int:
    return int(getattr(settings, "LOGIN_FAILURES_PER_NETWORK", 20))


def login_failures_per_account_anywhere() -> int:
    return int(getattr(settings, "LOGIN_FAILURES_PER_ACCOUNT_ANYWHERE", 100))


def login_lockout_s() -> int:
    return int(getattr(settings, "LOGIN_LOCKOUT_MINUTES", 15)) * 60


# A network from which an account logged in successfully is spared that account's ceiling for this long
# (network keys change every UTC day anyway).
LOGIN_KNOWN_NETWORK_S = 24 * 3600


def token_ttl_s() -> int:
    return int(getattr(settings, "MODERATION_TOKEN_TTL_HOURS", 12)) * 3600


def enrolment_ttl_s() -> int:
    return int(getattr(settings, "ENROLMENT_TTL_HOURS", 24)) * 3600


def is_moderator(user: Any) -> bool:
    """An active user in the "moderators" group (superusers count too). Says nothing of the second factor."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=MODERATORS_GROUP).exists()
