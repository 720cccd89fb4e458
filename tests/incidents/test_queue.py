from __future__ import annotations

import json
import logging
import uuid

from incidents import queue
from incidents.tasks import describe_incident, process_report


def _queued(redis_server) -> list[dict]:
    return [json.loads(raw) for raw in redis_server.client().lrange("celery", 0, -1)]


def test_work_is_queued_under_the_names_the_worker_runs(redis_server):
    report_id = uuid.uuid4()
    assert queue.enqueue_process_report(report_id)
    assert queue.enqueue_describe_incident(7)
    messages = _queued(redis_server)
    assert [m["headers"]["task"] for m in reversed(messages)] == [process_report.name, describe_incident.name]
    assert [m["headers"]["argsrepr"] for m in reversed(messages)] == [repr([str(report_id)]), "[7]"]


def test_a_broker_outage_is_logged_and_not_raised(redis_server, caplog):
    redis_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="incidents.queue"):
            assert queue.enqueue_process_report(uuid.uuid4()) is False
            assert queue.enqueue_describe_incident(7) is False
    finally:
        redis_server.start()
    report_warning, incident_warning = (record.getMessage() for record in caplog.records)
    assert report_warning.startswith("broker unavailable, report ") and "left for the sweeper" in report_warning
    assert incident_warning.startswith("broker unavailable, incident 7 keeps its place name")
