"""The trust app's settings with their defaults, in one place (architecture §6.9)."""

from __future__ import annotations

from django.conf import settings


def enrolment_ttl_s() -> int:
    """How long a trusted reporter's one-time code can be redeemed after a moderator issues it."""
    return int(getattr(settings, "TRUST_ENROLMENT_TTL_HOURS", 24)) * 3600


def redeem_attempts_per_network() -> int:
    """Attempts to redeem a code from one network (a keyed hash, never the address) per window."""
    return int(getattr(settings, "TRUST_REDEEM_ATTEMPTS_PER_NETWORK", 10))


def redeem_window_s() -> int:
    return int(getattr(settings, "TRUST_REDEEM_WINDOW_MINUTES", 15)) * 60


def cookie_max_age_s() -> int:
    """How long a browser without JavaScript keeps its trusted token as the device cookie."""
    return int(getattr(settings, "TRUST_COOKIE_DAYS", 30)) * 24 * 3600


LABEL_MAX_LENGTH = 40
