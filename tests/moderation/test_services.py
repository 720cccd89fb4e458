from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.utils import timezone

from incidents import queue as incident_queue
from incidents import services as incident_services
from incidents.errors import DomainError
from incidents.models import Incident, ModerationEvent, Report, ReportState, Status
from moderation import services
from tests.factories import CARACAS, IncidentFactory, ReportFactory, offset

pytestmark = pytest.mark.django_db


def test_verify_takes_a_version_and_leaves_an_audit_row(moderator):
    incident = IncidentFactory()
    done = services.incident_verify(incident_id=incident.pk, moderator=moderator)
    assert done.status == Status.VERIFIED and done.version != incident.version
    event = ModerationEvent.objects.get(incident=incident)
    assert (event.actor, event.action, event.before, event.after) == (
        moderator,
        "verified",
        {"status": "unverified"},
        {"status": "verified"},
    )


def test_reject_needs_a_reason(moderator):
    incident = IncidentFactory()
    with pytest.raises(DomainError) as caught:
        services.incident_reject(incident_id=incident.pk, moderator=moderator, reason="  ")
    assert caught.value.code == "reason_required"
    services.incident_reject(incident_id=incident.pk, moderator=moderator, reason="staged photo")
    assert ModerationEvent.objects.get(incident=incident).reason == "staged photo"


def test_only_the_transitions_of_the_design_are_allowed(moderator):
    incident = IncidentFactory(status=Status.CLEARED)
    with pytest.raises(DomainError) as caught:
        services.incident_verify(incident_id=incident.pk, moderator=moderator)
    assert caught.value.status_code == 409
    assert not ModerationEvent.objects.exists()


def test_a_non_moderator_is_refused(citizen):
    incident = IncidentFactory()
    with pytest.raises(DomainError) as caught:
        services.incident_verify(incident_id=incident.pk, moderator=citizen)
    assert caught.value.status_code == 403
    assert Incident.objects.get().status == Status.UNVERIFIED


def test_merge_keeps_the_older_id_and_leaves_a_rejected_tombstone(moderator):
    older = IncidentFactory(reporters=1)
    newer = IncidentFactory(reporters=1, point=Point(*offset(*CARACAS, east_m=100), srid=4326))
    ReportFactory(incident=older, reporter_key="a", state="processed")
    ReportFactory(incident=newer, reporter_key="b", state="processed")
    ReportFactory(incident=newer, reporter_key="a", state="processed")
    survivor = services.incidents_merge(incident_ids=[newer.pk, older.pk], moderator=moderator)
    assert survivor.pk == older.pk and survivor.reporters == 2
    assert Report.objects.filter(incident=older).count() == 3
    newer.refresh_from_db()
    assert (newer.status, newer.merged_into_id) == (Status.REJECTED, older.pk)
    assert newer.version != older.version and survivor.version < 10**6
    assert ModerationEvent.objects.get(incident=newer, action="merged").reason == f"merged into #{older.pk}"
    assert ModerationEvent.objects.filter(incident=older, action="merge").exists()


def test_merge_into_an_ended_incident_is_refused(moderator):
    older = IncidentFactory(status=Status.EXPIRED)
    newer = IncidentFactory()
    with pytest.raises(DomainError) as caught:
        services.incidents_merge(incident_ids=[older.pk, newer.pk], moderator=moderator)
    assert caught.value.code == "incident_ended"
    assert Incident.objects.get(pk=newer.pk).status == Status.UNVERIFIED


def test_split_moves_a_report_to_a_new_incident(moderator):
    incident = IncidentFactory()
    kept = ReportFactory(incident=incident, reporter_key="a", state="processed")
    moved = ReportFactory(incident=incident, reporter_key="b", state="processed")
    created = services.report_split(report_id=moved.pk, moderator=moderator)
    assert created.pk != incident.pk and created.status == Status.UNVERIFIED
    assert Report.objects.get(pk=moved.pk).incident_id == created.pk
    assert Report.objects.get(pk=kept.pk).incident_id == incident.pk
    assert Incident.objects.get(pk=incident.pk).reporters == 1
    with pytest.raises(DomainError):
        services.report_split(report_id=kept.pk, moderator=moderator)


def test_move_note_and_bulk(moderator):
    first, second = IncidentFactory(), IncidentFactory()
    moved = services.incident_move(
        incident_id=first.pk, moderator=moderator, point=Point(*offset(*CARACAS, north_m=300), srid=4326)
    )
    assert moved.point.y > CARACAS[1]
    with pytest.raises(DomainError):
        services.incident_move(incident_id=first.pk, moderator=moderator, point=Point(2.35, 48.85, srid=4326))
    services.incident_note(incident_id=first.pk, moderator=moderator, note="Army checkpoint, asks for papers")
    assert Incident.objects.get(pk=first.pk).note == "Army checkpoint, asks for papers"
    services.incidents_bulk(incident_ids=[first.pk, second.pk], action="reject", moderator=moderator, reason="fakes")
    assert set(Incident.objects.values_list("status", flat=True)) == {Status.REJECTED}
    assert [e.action for e in ModerationEvent.objects.filter(incident=first)] == ["move", "note", "rejected"]


def test_bulk_is_all_or_nothing(moderator):
    live, ended = IncidentFactory(), IncidentFactory(status=Status.CLEARED)
    with pytest.raises(DomainError):
        services.incidents_bulk(incident_ids=[live.pk, ended.pk], action="verify", moderator=moderator)
    assert Incident.objects.get(pk=live.pk).status == Status.UNVERIFIED


def test_placing_an_unlocatable_report_processes_it(moderator):
    report = ReportFactory(point=None, place_text="somewhere nobody knows", state=ReportState.UNLOCATABLE)
    placed = services.report_place(report_id=report.pk, moderator=moderator, point=Point(*CARACAS, srid=4326))
    assert placed.state == ReportState.PROCESSED and placed.incident is not None
    assert ModerationEvent.objects.filter(incident=placed.incident, action="place", actor=moderator).exists()


def test_retention_purges_raw_data_of_ended_incidents_after_the_period(moderator, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    incident = IncidentFactory()
    report = ReportFactory(incident=incident, state="processed", description="two soldiers", reporter_key="k")
    report.photo.save("p.jpg", ContentFile(b"jpeg"), save=True)
    path = report.photo.path
    live = ReportFactory(incident=IncidentFactory(expires_at=timezone.now() + timedelta(days=90)), description="x")
    services.incident_clear(incident_id=incident.pk, moderator=moderator)
    assert services.reports_purge_retained() == 0
    with time_machine.travel(timezone.now() + timedelta(days=29)):
        assert services.reports_purge_retained() == 0
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert services.reports_purge_retained() == 1
    report.refresh_from_db()
    assert (report.description, report.reporter_key, report.photo.name) == ("", None, "")
    assert report.purged_at is not None
    import os

    assert not os.path.exists(path)
    assert Report.objects.get(pk=live.pk).description == "x"


def test_a_moved_incident_is_renamed_for_its_new_point_after_the_move_commits(
    moderator, django_capture_on_commit_callbacks
):
    incident = IncidentFactory(point=Point(*CARACAS, srid=4326), place="Caracas, Distrito Capital")
    maracay = Point(-67.595, 10.247, srid=4326)
    with django_capture_on_commit_callbacks() as callbacks:
        moved = services.incident_move(incident_id=incident.pk, moderator=moderator, point=maracay)
    assert moved.place == "Caracas, Distrito Capital"  # the name is looked up by a worker, after commit
    assert [c for c in callbacks if getattr(c, "func", None) is incident_queue.enqueue_describe_incident]
    version = Incident.objects.get(pk=incident.pk).version
    named = incident_services.incident_describe(incident_id=incident.pk)
    assert named.place == "Maracay, Aragua" and named.version > version
    # Safe to run twice: nothing changes the second time.
    again = incident_services.incident_describe(incident_id=incident.pk)
    assert again.place == "Maracay, Aragua" and again.version == named.version


def test_an_ended_incident_keeps_its_name():
    incident = IncidentFactory(point=Point(-67.595, 10.247, srid=4326), place="Caracas", status=Status.CLEARED)
    assert incident_services.incident_describe(incident_id=incident.pk).place == "Caracas"
