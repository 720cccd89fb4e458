from __future__ import annotations

from celery import shared_task

from moderation import services


@shared_task(name="moderation.purge_retained", soft_time_limit=300, time_limit=330)
def purge_retained() -> int:
    return services.reports_purge_retained()
