"""The archive's settings with their defaults, in one place."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings

FORMATS = ("gpkg", "csv")
# Incidents read per query while a file is built; progress is reported after each batch.
BATCH = 1000


def export_dir() -> Path:
    return Path(getattr(settings, "EXPORT_DIR", Path(settings.VAR_DIR) / "exports"))


def retention() -> timedelta:
    """How long a built file is kept (and its export answered) before the purge removes both."""
    return timedelta(hours=getattr(settings, "EXPORT_RETENTION_HOURS", 72))


def max_range() -> timedelta:
    return timedelta(days=getattr(settings, "EXPORT_MAX_DAYS", 366))


# The build task's soft time limit; an export queued or running for twice this was lost (marked failed).
TIME_LIMIT_S = 1800


def stuck_after() -> timedelta:
    return timedelta(seconds=2 * TIME_LIMIT_S)
