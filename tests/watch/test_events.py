"""The outbox of public changes: one event per change the public can see, none for what it cannot."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from incidents import services
from incidents.events import public_events_committed
from incidents.models import IncidentEvent, Report
from moderation import services as moderation
from tests.factories import CARACAS, IncidentFactory, ReportFactory, network_of, offset, vote

pytestmark = pytest.mark.django_db


def process(lon: float, lat: float, device: str, kind: str = "checkpoint") -> Report:
    report, _ = services.report_submit(
        client_id=uuid.uuid4(), kind=kind, point=Point(lon, lat, srid=4326), device=device, source=network_of(device)
    )
    return services.report_process(report_id=report.pk)


def types(incident_id: int) -> list[str]:
    return list(IncidentEvent.objects.filter(incident_id=incident_id).order_by("id").values_list("type", flat=True))


def test_an_incident_is_published_when_its_second_reporter_makes_it_public():
    first = process(*CARACAS, device="phone-1")
    assert types(first.incident_id) == []  # one reporter: not public under the corroborated policy
    process(*offset(*CARACAS, east_m=60), device="phone-2")
    assert types(first.incident_id) == ["published"]
    event = IncidentEvent.objects.get()
    assert event.feature["properties"]["reporters"] == 2
    assert event.feature["properties"]["status"] == "unverified"
    process(*offset(*CARACAS, north_m=60), device="phone-3")
    assert types(first.incident_id) == ["published", "updated"]


def test_the_event_keeps_only_the_public_feature(settings):
    settings.PUBLISH_POLICY = "open"
    report, _ = services.report_submit(
        client_id=uuid.uuid4(),
        kind="checkpoint",
        point=Point(-66.903612, 10.480634, srid=4326),
        device="phone-1",
        description="the soldier asked for my ID at 10:03",
    )
    services.report_process(report_id=report.pk)
    event = IncidentEvent.objects.get()
    text = str(event.feature)
    assert "soldier" not in text and "phone" not in text and report.reporter_key not in text
    lon, lat = event.feature["geometry"]["coordinates"]
    assert (lon, lat) != (-66.903612, 10.480634)  # snapped to the public grid
    assert event.feature["properties"]["first_reported_at"].endswith(("0:00Z", "5:00Z"))


def test_under_the_moderated_policy_verification_publishes(settings, moderator):
    settings.PUBLISH_POLICY = "moderated"
    incident = IncidentFactory(reporters=5)
    moderation.incident_verify(incident_id=incident.pk, moderator=moderator)
    assert types(incident.pk) == ["published"]
    assert IncidentEvent.objects.get().status == "verified"


def test_verify_move_and_clear_of_a_public_incident(moderator):
    incident = IncidentFactory()
    moderation.incident_verify(incident_id=incident.pk, moderator=moderator)
    moderation.incident_move(
        incident_id=incident.pk, moderator=moderator, point=Point(*offset(*CARACAS, east_m=120), srid=4326)
    )
    moderation.incident_note(incident_id=incident.pk, moderator=moderator, note="Two trucks, southbound lane.")
    moderation.incident_clear(incident_id=incident.pk, moderator=moderator)
    assert types(incident.pk) == ["verified", "moved", "updated", "ended"]
    assert IncidentEvent.objects.order_by("-id").first().status == "cleared"


def test_changes_to_an_incident_the_public_never_saw_make_no_event(moderator):
    incident = IncidentFactory(reporters=1)
    moderation.incident_note(incident_id=incident.pk, moderator=moderator, note="checking")
    moderation.incident_reject(incident_id=incident.pk, moderator=moderator, reason="a prank")
    assert types(incident.pk) == []


def test_a_merge_ends_the_absorbed_incident_and_updates_the_survivor(moderator):
    older = IncidentFactory()
    newer = IncidentFactory(point=Point(*offset(*CARACAS, east_m=100), srid=4326))
    ReportFactory(incident=older, reporter_key="a", state="processed")
    ReportFactory(incident=newer, reporter_key="b", state="processed")
    moderation.incidents_merge(incident_ids=[older.pk, newer.pk], moderator=moderator)
    assert types(newer.pk) == ["ended"]
    assert IncidentEvent.objects.get(incident=newer).status == "rejected"
    assert types(older.pk) == ["updated"]
    assert IncidentEvent.objects.get(incident=older).feature["properties"]["reporters"] == 2


def test_a_split_that_leaves_one_reporter_withdraws_the_incident(moderator):
    incident = IncidentFactory()
    ReportFactory(incident=incident, reporter_key="a", state="processed")
    moved = ReportFactory(incident=incident, reporter_key="b", state="processed")
    created = moderation.report_split(report_id=moved.pk, moderator=moderator)
    assert types(incident.pk) == ["unpublished"]  # one reporter left: below the corroborated policy's two
    assert types(created.pk) == []


def test_a_rolled_back_change_leaves_no_event(moderator):
    incident = IncidentFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        moderation.incident_verify(incident_id=incident.pk, moderator=moderator)
        raise RuntimeError("the request failed after the write")
    assert types(incident.pk) == []


def test_the_expiry_job_records_an_end_for_public_incidents_only():
    now = timezone.now()
    public = IncidentFactory(expires_at=now + timedelta(minutes=5))
    private = IncidentFactory(reporters=1, expires_at=now + timedelta(minutes=5))
    live = IncidentFactory(expires_at=now + timedelta(hours=5))
    with time_machine.travel(now + timedelta(minutes=10), tick=False):
        assert services.incidents_expire(batch_size=1) == 2
    assert types(public.pk) == ["ended"]
    assert IncidentEvent.objects.get(incident=public).feature["properties"]["status"] == "expired"
    assert types(private.pk) == [] and types(live.pk) == []


def test_a_vote_that_clears_ends_the_incident():
    incident = IncidentFactory(last_confirmed_at=timezone.now() - timedelta(minutes=30))
    vote(incident_id=incident.pk, device="d1", still_there=False)
    vote(incident_id=incident.pk, device="d2", still_there=False)
    assert types(incident.pk) == ["updated", "ended"]


def _queued_tasks(redis_server) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in redis_server.client().lrange("celery", 0, -1)]


def test_a_bulk_moderation_queues_one_fan_out_once_it_commits(
    moderator, redis_server, django_capture_on_commit_callbacks
):
    incidents = [IncidentFactory(point=Point(*offset(*CARACAS, east_m=400 * n), srid=4326)) for n in range(3)]
    with django_capture_on_commit_callbacks() as callbacks:
        moderation.incidents_bulk(incident_ids=[i.pk for i in incidents], action="verify", moderator=moderator)
    assert IncidentEvent.objects.filter(type="verified").count() == 3
    assert _queued_tasks(redis_server) == []  # nothing before the commit
    sent = []

    def count(sender, **kwargs):
        sent.append(sender)

    public_events_committed.connect(count)
    try:
        for callback in callbacks:
            callback()
    finally:
        public_events_committed.disconnect(count)
    assert sent == [IncidentEvent]  # once for the transaction, not once per event
    assert _queued_tasks(redis_server) == ["watch.fan_out"]
