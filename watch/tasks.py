"""Celery tasks of the webhooks: thin, id-taking, safe to run twice (architecture §4)."""

from __future__ import annotations

import logging

import redis
from celery import shared_task

from config.redis import get_redis
from watch import conf, services

logger = logging.getLogger(__name__)

FAN_OUT_BATCH = 500
# Set while a fan-out task is queued and not yet started: every change would otherwise queue one of its own
# (a report a task, doubling the worker's load under a flood), while one run takes every pending event.
FAN_OUT_PENDING_KEY = "alc:watch:fan-out-pending"
FAN_OUT_PENDING_TTL_S = 30  # a queued task lost with the broker: after this the next change queues another


@shared_task(name="watch.fan_out", soft_time_limit=50, time_limit=55)
def fan_out() -> int:
    """Turn pending public events into deliveries and enqueue each one."""
    try:
        get_redis().delete(FAN_OUT_PENDING_KEY)  # events committed from now on queue another run
    except redis.RedisError:
        pass  # the key expires on its own; the sweeper takes what waits meanwhile
    total = 0
    while True:
        taken, ids = services.events_fan_out(limit=FAN_OUT_BATCH)
        total += len(ids)
        for delivery_id in ids:
            enqueue_delivery(delivery_id)
        if taken < FAN_OUT_BATCH:
            return total


@shared_task(
    bind=True,
    name="watch.deliver_webhook",
    # One POST with its timeouts, plus the database writes around it.
    soft_time_limit=conf.timeout_s() * 3 + 10,
    time_limit=conf.timeout_s() * 3 + 20,
)
def deliver_webhook(self, delivery_id: int) -> str:
    outcome = services.delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        # The delivery row holds the schedule too, so a retry lost with the broker is swept up later. The row
        # decides whether to try again (up to WEBHOOK_RETRIES); Celery's own count, which would stop at its
        # default of 3, follows it and never runs ahead of the row's.
        raise self.retry(countdown=outcome.retry_in, max_retries=conf.retries())
    return outcome.state


@shared_task(name="watch.sweep", soft_time_limit=50, time_limit=55)
def sweep() -> int:
    """What a broker outage lost: events not fanned out, deliveries whose task never ran; and old events go."""
    services.events_prune()
    count = fan_out()
    due = services.deliveries_due()
    for delivery_id in due:
        enqueue_delivery(delivery_id)
    if due:
        logger.info("re-enqueued %d webhook deliveries", len(due))
    return count + len(due)


def _enqueue(task, *args) -> bool:
    try:
        task.apply_async(args=list(args), retry=True)
    except Exception as exc:  # noqa: BLE001 -- a broker outage must not fail the change that enqueues
        logger.warning("broker unavailable, %s left for the sweeper: %s", task.name, exc.__class__.__name__)
        return False
    return True


def enqueue_fan_out() -> bool:
    """Queue a fan-out unless one is queued and not started yet: that one will take this change's events."""
    try:
        if not get_redis().set(FAN_OUT_PENDING_KEY, 1, nx=True, ex=FAN_OUT_PENDING_TTL_S):
            return True
    except redis.RedisError:
        pass  # the broker is the same Redis: _enqueue logs the outage and the sweeper takes over
    return _enqueue(fan_out)


def fan_out_on_events(sender, **kwargs) -> None:
    """Receiver of `incidents.events.public_events_committed` (connected in watch/apps.py)."""
    enqueue_fan_out()


def enqueue_delivery(delivery_id: int) -> bool:
    return _enqueue(deliver_webhook, delivery_id)
