"""The moderation pages' forms reach the services and answer bad input with a 4xx or a message."""

from __future__ import annotations

import pytest

from incidents.models import Incident, ModerationEvent, Report, ReportState, Status
from tests.factories import IncidentFactory, ReportFactory

pytestmark = pytest.mark.django_db


def test_queue_filters_by_kind_and_area_and_refuses_a_bad_area(mod_client):
    checkpoint = IncidentFactory(kind="checkpoint")
    roadblock = IncidentFactory(kind="roadblock")
    page = mod_client.get("/moderate/", {"kind": "roadblock"}).content.decode()
    assert f"/moderate/incidents/{roadblock.pk}" in page and f"/moderate/incidents/{checkpoint.pk}" not in page
    elsewhere = mod_client.get("/moderate/", {"area": "-70,5,-69,6"}).content.decode()
    assert f"/moderate/incidents/{roadblock.pk}" not in elsewhere
    assert mod_client.get("/moderate/", {"area": "nonsense"}).status_code == 400
    assert mod_client.get("/moderate/", {"status": "nonsense"}).status_code == 400


def test_placing_an_unlocatable_report_by_typed_coordinates(mod_client):
    report = ReportFactory(point=None, place_text="el peaje", state=ReportState.UNLOCATABLE)
    page = mod_client.get(f"/moderate/reports/{report.pk}/place")
    assert page.status_code == 200 and b"leaflet" in page.content
    assert mod_client.post(f"/moderate/reports/{report.pk}/place", {"coordinates": "48.85, 2.35"}).status_code == 400
    response = mod_client.post(f"/moderate/reports/{report.pk}/place", {"coordinates": "10.4806, -66.9036"})
    report.refresh_from_db()
    assert report.state == ReportState.PROCESSED
    assert response.status_code == 303 and response["Location"] == f"/moderate/incidents/{report.incident_id}"


def test_split_and_bulk_from_the_pages(mod_client):
    incident = IncidentFactory()
    ReportFactory(incident=incident, reporter_key="a", state="processed")
    moved = ReportFactory(incident=incident, reporter_key="b", state="processed")
    response = mod_client.post(f"/moderate/reports/{moved.pk}/split")
    created = Report.objects.get(pk=moved.pk).incident_id
    assert created != incident.pk and response["Location"] == f"/moderate/incidents/{created}"
    refused = mod_client.post("/moderate/bulk", {"incident": [incident.pk, created], "action": "reject"}, follow=True)
    assert b"reason" in refused.content.lower()
    assert set(Incident.objects.values_list("status", flat=True)) == {Status.UNVERIFIED}
    mod_client.post("/moderate/bulk", {"incident": [incident.pk, created], "action": "verify"})
    assert set(Incident.objects.values_list("status", flat=True)) == {Status.VERIFIED}


def test_an_unknown_action_or_a_bad_merge_target_is_a_message_not_an_error(mod_client):
    incident = IncidentFactory()
    for data in ({"action": "explode"}, {"action": "merge", "other": "abc"}, {"action": "merge", "other": "999"}):
        response = mod_client.post(f"/moderate/incidents/{incident.pk}/act", data, follow=True)
        assert response.status_code == 200 and b"msg-error" in response.content
    assert not ModerationEvent.objects.exists()
    assert mod_client.get("/moderate/incidents/999999").status_code == 404
