"""Celery tasks: thin, id-taking, safe to run twice (DESIGN §4)."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.conf import settings

from incidents import services

logger = logging.getLogger(__name__)


@shared_task(name="incidents.process_report", soft_time_limit=60, time_limit=90)
def process_report(report_id: str) -> str | None:
    report = services.report_process(report_id=report_id)
    return report.state if report is not None else None


@shared_task(name="incidents.expire_incidents", soft_time_limit=50, time_limit=55)
def expire_incidents() -> int:
    ended = services.incidents_expire()
    if ended:
        logger.info("expired %d incidents", ended)
    return ended


@shared_task(name="incidents.sweep_received", soft_time_limit=50, time_limit=55)
def sweep_received() -> int:
    count = services.report_requeue_waiting(older_than_s=settings.SWEEP_MIN_AGE_S)
    if count:
        logger.info("re-enqueued %d reports still waiting", count)
    return count


def enqueue_process_report(report_id: uuid.UUID | str) -> bool:
    """Hand a report to the workers. A broker outage is logged, not raised: the report is saved and
    the sweeper enqueues it again once Redis is back."""
    try:
        process_report.apply_async(args=[str(report_id)], retry=True)
    except Exception as exc:  # noqa: BLE001 -- any broker failure must leave the request successful
        logger.warning("broker unavailable, report %s left for the sweeper: %s", report_id, exc.__class__.__name__)
        return False
    return True
