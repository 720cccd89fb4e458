"""What a trusted reporter's word does on the map (issue 15 items 2, 4, 7; architecture §3, §6.9): a report
publishes at once, marked `trusted`; "gone" clears, a verified incident too; a revoked token is a stranger's;
a moderator's rejection is counted on the reporter. Through the HTTP API, from one network only."""

from __future__ import annotations

import json
import uuid

import pytest
from rest_framework.test import APIClient

from incidents import services
from incidents.models import Incident, ModerationEvent, Status
from tests.factories import CARACAS, address
from trust import services as trust
from trust.models import TrustedReporter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def token(moderator) -> str:
    _enrolment, code = trust.enrol(label="T-17", actor=moderator)
    return trust.redeem(code=code)


def report(api, *, device: str, ip: str = address(1)) -> Incident:
    body = {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": {"type": "Point", "coordinates": list(CARACAS)},
        "device": device,
    }
    response = api.post("/api/v1/reports", data=json.dumps(body), content_type="application/json", REMOTE_ADDR=ip)
    assert response.status_code == 201, response.content
    processed = services.report_process(report_id=response.json()["id"])
    return Incident.objects.get(pk=processed.incident_id)


def vote(api, incident: Incident, *, device: str, still_there: bool, ip: str = address(2)):
    return api.post(
        f"/api/v1/incidents/{incident.pk}/votes",
        data=json.dumps({"still_there": still_there, "device": device}),
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def test_a_trusted_reporters_report_is_public_at_once_and_marked_trusted(api, token):
    incident = report(api, device=token)
    assert (incident.sources, incident.trusted) == (1, True)
    feature = api.get(f"/api/v1/incidents/{incident.pk}").json()
    assert feature["properties"]["flags"] == ["trusted"]
    assert feature["properties"]["confidence"] >= 0.9
    assert TrustedReporter.objects.get().reports == 1


def test_a_stranger_with_a_made_up_token_of_the_same_shape_is_not_trusted(api, token):
    incident = report(api, device="f" * 64)
    assert incident.trusted is False
    assert api.get("/api/v1/incidents").json()["features"] == []


def test_a_revoked_token_is_a_strangers(api, token, moderator):
    trust.revoke(reporter=TrustedReporter.objects.get(), actor=moderator)
    incident = report(api, device=token)
    assert incident.trusted is False
    assert api.get("/api/v1/incidents").json()["features"] == []


def test_a_trusted_gone_clears_even_a_verified_incident(api, token, moderator):
    incident = report(api, device="someone", ip=address(3))
    report(api, device="someone-else", ip=address(4))
    services.incident_transition(incident=incident, status=Status.VERIFIED, actor=moderator)
    assert vote(api, incident, device="stranger", still_there=False).status_code == 201
    incident.refresh_from_db()
    assert incident.status == Status.VERIFIED
    assert vote(api, incident, device=token, still_there=False).status_code == 201
    incident.refresh_from_db()
    assert incident.status == Status.CLEARED and not incident.cleared_by_votes
    assert "trusted reporter T-17" in ModerationEvent.objects.get(incident=incident, action="clear").reason


def test_a_moderators_rejection_of_a_trusted_report_is_counted_once(api, token, moderator):
    incident = report(api, device=token)
    services.incident_transition(incident=incident, status=Status.REJECTED, actor=moderator, reason="false")
    assert TrustedReporter.objects.get().rejections == 1
