from __future__ import annotations

from celery import shared_task

from archive.services import exports_purge
from moderation import services


@shared_task(name="moderation.purge_retained", soft_time_limit=300, time_limit=330)
def purge_retained() -> int:
    exports_purge()  # the archive's files past EXPORT_RETENTION_HOURS go on the same schedule
    return services.reports_purge_retained()
