"""Moderators see a text message's channel and original text beside what was understood of it, and correct
its kind, place and time: the report is processed again into the incident it belongs to, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from incidents.errors import DomainError
from incidents.models import Incident, ModerationEvent, Report, ReportState, Status
from moderation import services
from tests.messaging.test_channels import smssync

pytestmark = pytest.mark.django_db

CHACAO = (-66.85367, 10.49581)


@pytest.fixture(autouse=True)
def channels_on(settings):
    settings.SMSSYNC_SECRET = "smssync-secret"


def test_a_message_not_understood_shows_its_text_and_is_corrected_onto_the_map(mod_client):
    smssync(Client(), "vi algo raro por el peaje de Tazón", message_id="1")
    report = Report.objects.get()
    assert (report.kind, report.state) == ("hazard", ReportState.UNLOCATABLE)  # the placeholder kind
    queue = mod_client.get("/moderate/").content.decode()
    assert "vi algo raro por el peaje de Tazón" in queue and "tipo no entendido" in queue
    assert f"/moderate/reports/{report.pk}/correct" in queue
    page = mod_client.get(f"/moderate/reports/{report.pk}/correct").content.decode()
    assert "SMS" in page and "Texto original" in page and "tipo no entendido" in page and "peaje de Tazón" in page

    bad = mod_client.post(f"/moderate/reports/{report.pk}/correct", {"kind": "roadblock"})
    assert bad.status_code == 400  # no point yet: the form says so
    response = mod_client.post(
        f"/moderate/reports/{report.pk}/correct",
        {"kind": "roadblock", "coordinates": "10.49581, -66.85367", "reason": "read the text"},
    )
    report.refresh_from_db()
    assert response.status_code == 303 and response["Location"] == f"/moderate/incidents/{report.incident_id}"
    assert (report.kind, report.state) == ("roadblock", ReportState.PROCESSED)
    assert report.incident.kind == "roadblock" and report.incident.point.coords == pytest.approx(CHACAO)
    event = ModerationEvent.objects.get(action="correct")
    assert event.incident_id == report.incident_id and event.actor.username == "mod"
    assert (event.before["kind"], event.after["kind"], event.reason) == ("hazard", "roadblock", "read the text")
    incident_page = mod_client.get(f"/moderate/incidents/{report.incident_id}").content.decode()
    assert "vi algo raro" in incident_page and f"/moderate/reports/{report.pk}/correct" in incident_page


def test_a_report_read_as_the_wrong_kind_moves_to_the_right_incident(moderator):
    smssync(Client(), "alcabala en Chacao", message_id="1")
    report = Report.objects.get()
    wrong = report.incident
    corrected = services.report_correct(report_id=report.pk, moderator=moderator, kind="militia")
    assert corrected.incident_id != wrong.pk and corrected.incident.kind == "militia"
    assert corrected.incident.point.coords == pytest.approx(report.point.coords)  # the place was right
    wrong.refresh_from_db()
    assert (wrong.status, wrong.reporters) == (Status.REJECTED, 0)  # nobody reports it any more
    assert wrong.events.filter(action="correct_out", actor=moderator).exists()
    assert Incident.objects.filter(kind="militia", reports=report).exists()


def test_correcting_only_the_time_keeps_the_report_in_its_incident(moderator):
    smssync(Client(), "alcabala en Chacao", message_id="1")
    report = Report.objects.get()
    earlier = report.observed_at.replace(microsecond=0) - timedelta(minutes=30)
    corrected = services.report_correct(
        report_id=report.pk, moderator=moderator, kind="checkpoint", observed_at=earlier
    )
    assert corrected.incident_id == report.incident_id and corrected.observed_at == earlier
    incident = Incident.objects.get()
    assert incident.first_reported_at == earlier and incident.status == Status.UNVERIFIED


def test_only_moderators_correct_and_withdrawn_reports_stay_withdrawn(moderator, citizen):
    smssync(Client(), "alcabala en Chacao", message_id="1")
    report = Report.objects.get()
    with pytest.raises(DomainError) as refused:
        services.report_correct(report_id=report.pk, moderator=citizen, kind="militia")
    assert refused.value.status_code == 403
    smssync(Client(), "BORRAR", message_id="2")
    with pytest.raises(DomainError) as withdrawn:
        services.report_correct(report_id=report.pk, moderator=moderator, kind="militia")
    assert withdrawn.value.status_code == 409
