"""Celery tasks: thin, id-taking, safe to run twice (architecture §4)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from geo.geocoding import NETWORK_ERRORS
from incidents import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="incidents.process_report",
    soft_time_limit=60,
    time_limit=90,
    # Only geocoding's network errors are retried: exponential backoff with full jitter, capped. They are
    # raised before the merge's transaction opens, so no retry ever repeats half a write.
    autoretry_for=NETWORK_ERRORS,
    max_retries=settings.GEOCODER_RETRIES,
    retry_backoff=settings.GEOCODER_RETRY_BACKOFF_S,
    retry_backoff_max=settings.GEOCODER_RETRY_BACKOFF_MAX_S,
    retry_jitter=True,
)
def process_report(self, report_id: str) -> str | None:
    # The last try lets the offline gazetteer answer (logged and counted) instead of failing the report.
    last_try = self.request.retries >= (self.max_retries or 0)
    report = services.report_process(report_id=report_id, geocode_fallback=last_try)
    return report.state if report is not None else None


@shared_task(
    bind=True,
    name="incidents.describe_incident",
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=NETWORK_ERRORS,  # raised before the write's transaction opens, as in process_report
    max_retries=settings.GEOCODER_RETRIES,
    retry_backoff=settings.GEOCODER_RETRY_BACKOFF_S,
    retry_backoff_max=settings.GEOCODER_RETRY_BACKOFF_MAX_S,
    retry_jitter=True,
)
def describe_incident(self, incident_id: int) -> str | None:
    last_try = self.request.retries >= (self.max_retries or 0)
    incident = services.incident_describe(incident_id=incident_id, geocode_fallback=last_try)
    return incident.place if incident is not None else None


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
