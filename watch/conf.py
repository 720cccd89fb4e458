"""Settings of the Atom feed and the webhooks, with their defaults, in one place."""

from __future__ import annotations

from django.conf import settings

# The feed: the newest events in the area, no older than this.
FEED_MAX_ENTRIES = 100
FEED_DAYS = 7
# Public events, their deliveries and tries are kept this long (the feed shows FEED_DAYS of them).
EVENT_RETENTION_DAYS = 30
# A consumer's key may hold this many webhooks.
MAX_WEBHOOKS_PER_KEY = 20
# Bytes of a receiver's answer that are read (and thrown away); the status code is what counts.
MAX_RESPONSE_BYTES = 1024


def max_failures() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_FAILURES", 10))


def retries() -> int:
    return int(getattr(settings, "WEBHOOK_RETRIES", 5))


def backoff_s() -> float:
    return float(getattr(settings, "WEBHOOK_RETRY_BACKOFF_S", 30))


def backoff_max_s() -> float:
    return float(getattr(settings, "WEBHOOK_RETRY_BACKOFF_MAX_S", 3600))


def timeout_s() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_S", 5))


def allow_private_targets() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))
