"""Handing work to the Celery workers, by the tasks' stable names (incidents/tasks.py).

Services enqueue through here; tasks import services. Sending by name keeps this module free of both, so
the layers point one way. `send_task` publishes with the app's configuration, as `apply_async` does:
`task_publish_retry` and its policy, and the broker's connect and socket timeouts (config/settings), so a
broker outage fails within a second or two instead of hanging the request. It is logged, not raised: the
callers' writes stand, and a sweeper enqueues again what was lost.
"""

from __future__ import annotations

import logging
import uuid

from config.celery import app

logger = logging.getLogger(__name__)

PROCESS_REPORT = "incidents.process_report"
DESCRIBE_INCIDENT = "incidents.describe_incident"


def _send(name: str, args: list, what: str) -> bool:
    try:
        app.send_task(name, args=args)
    except Exception as exc:  # noqa: BLE001 -- any broker failure must leave the caller's change done
        logger.warning("broker unavailable, %s: %s", what, exc.__class__.__name__)
        return False
    return True


def enqueue_process_report(report_id: uuid.UUID | str) -> bool:
    """Hand a report to the workers. A broker outage is logged, not raised: the report is saved and
    the sweeper enqueues it again once Redis is back."""
    return _send(PROCESS_REPORT, [str(report_id)], f"report {report_id} left for the sweeper")


def enqueue_describe_incident(incident_id: int) -> bool:
    """Ask the workers to name a moved incident's place. A broker outage is logged, not raised: the move
    stands, and the incident keeps its old name until it is moved again."""
    return _send(DESCRIBE_INCIDENT, [incident_id], f"incident {incident_id} keeps its place name")
