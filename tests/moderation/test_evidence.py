"""Moderators see incidents reported gone, contested incidents and bursts first, with the evidence as counts and
a timeline in which devices are numbered within the incident; no device hash and no source tag is ever shown.
A verified incident reported gone is kept (the flag cleared, with an audit entry) or cleared by a moderator."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.utils import timezone

from incidents import services as incident_services
from incidents.errors import DomainError
from incidents.keys import device_key
from incidents.models import Incident, ModerationEvent, Source, Status, Vote
from moderation import accounts, selectors, services
from tests.factories import CARACAS, IncidentFactory, ReportFactory, network, offset, vote
from tests.moderation.conftest import verify

pytestmark = pytest.mark.django_db

# Tags no test could print by chance (real ones are three hex digits, which any page may contain).
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

TAGS = ["Zq9Xw7a", "Yk8Vu6b", "Xj7Ts5c"]


def api(client, moderator):
    return {"HTTP_AUTHORIZATION": f"Token {accounts.token_issue(user=moderator).token}"}


def row_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr class="incident-row" data-incident="(\d+)"', page)]


def cell(page: str, incident: Incident, name: str) -> str:
    row = re.search(rf'data-incident="{incident.pk}">(.*?)</tr>', page, re.S)
    assert row, incident.pk
    found = re.search(rf'<td class="{name}">(.*?)</td>', row.group(1), re.S)
    assert found, name
    return found.group(1).strip()


@pytest.fixture
def flagged():
    """Four live incidents made in the order the queue must not follow: the plain one is the newest."""
    now = timezone.now()
    gone = IncidentFactory(
        status=Status.VERIFIED, verified_at=now, reported_gone=True, created_at=now - timedelta(minutes=40)
    )
    contested = IncidentFactory(contested=True, created_at=now - timedelta(minutes=30))
    burst = IncidentFactory(burst=True, created_at=now - timedelta(minutes=20))
    plain = IncidentFactory(created_at=now - timedelta(minutes=10))
    return {"gone": gone, "contested": contested, "burst": burst, "plain": plain}


def test_the_queue_lists_reported_gone_then_contested_then_bursts_then_the_rest(mod_client, client, moderator, flagged):
    expected = [flagged[name].pk for name in ("gone", "contested", "burst", "plain")]
    page = mod_client.get("/moderate/", **EN).content.decode()
    # The verified incident reported gone is there under the default filter (unverified): it waits for a moderator.
    assert row_ids(page) == expected
    body = client.get("/api/moderation/v1/queue", **api(client, moderator)).json()
    assert [item["id"] for item in body["incidents"]] == expected
    assert [item["id"] for item in body["bursts"]] == [flagged["burst"].pk]
    assert flagged["burst"].pk not in [item["id"] for item in body["new"]]


def test_a_flood_of_flagged_incidents_does_not_push_the_others_out_of_the_queue():
    bursts = [IncidentFactory(burst=True, contested=True) for _ in range(3)]
    plain = IncidentFactory(created_at=timezone.now() - timedelta(hours=1))
    queue = selectors.moderation_queue(limit=2)
    assert [incident.pk for incident in queue.incidents] == [bursts[2].pk, bursts[1].pk, plain.pk]


def test_an_ended_incident_is_not_in_the_queue_for_being_reported_gone(mod_client):
    ended = IncidentFactory(status=Status.VERIFIED, verified_at=timezone.now(), reported_gone=True)
    Incident.objects.filter(pk=ended.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert ended.pk not in row_ids(mod_client.get("/moderate/", **EN).content.decode())


def _evidence_incident() -> Incident:
    """An incident with three networks, one of them past its reach, three devices and three votes."""
    incident = IncidentFactory(
        reporters=3,
        sources=2,
        sources_confirming=0,
        sources_gone=1,
        still_there=1,
        gone=2,
        contested=True,
        trusted=True,
    )
    now = timezone.now()
    Source.objects.bulk_create(
        [
            Source(incident=incident, tag=TAGS[0], reported=True, confirmed_at=now),
            Source(incident=incident, tag=TAGS[1], reported=True, confirmed_at=now, gone_at=now + timedelta(seconds=1)),
            Source(incident=incident, tag=TAGS[2], weighted=False, reported=True, confirmed_at=now),
        ]
    )
    for n in range(3):
        ReportFactory(incident=incident, state="processed", reporter_key=device_key(f"phone-{n}"))
    for n, still_there in ((0, True), (1, False), (2, False)):
        Vote.objects.create(incident=incident, voter_key=device_key(f"phone-{n}"), still_there=still_there)
    return incident


def _no_secrets(text: str) -> None:
    for tag in TAGS:
        assert tag not in text
    for n in range(3):
        assert device_key(f"phone-{n}") not in text


def test_rows_and_the_incident_page_show_badges_and_counts_but_no_tag_or_device_hash(mod_client):
    incident = _evidence_incident()
    queue = mod_client.get("/moderate/", **EN).content.decode()
    assert 'data-flag="contested"' in cell(queue, incident, "badges")
    assert 'data-flag="trusted"' in cell(queue, incident, "badges")
    assert 'data-flag="burst"' not in cell(queue, incident, "badges")
    assert cell(queue, incident, "count-sources") == "2"
    assert cell(queue, incident, "count-networks") == "3"  # the one past its reach too
    assert cell(queue, incident, "count-devices") == "3"
    assert cell(queue, incident, "count-votes") == "1 / 2"
    assert cell(queue, incident, "count-sources-gone") == "1"
    _no_secrets(queue)

    page = mod_client.get(f"/moderate/incidents/{incident.pk}", **EN).content.decode()
    assert re.search(r'id="count-networks">3<', page) and re.search(r'id="count-sources">2<', page)
    assert re.search(r'id="count-sources-gone">1<', page) and re.search(r'id="count-votes">1 / 2<', page)
    assert 'data-flag="contested"' in page and 'data-flag="trusted"' in page
    assert "Networks are counted, never linked to reports." in page
    _no_secrets(page)
    _no_secrets(mod_client.get(f"/moderate/incidents/{incident.pk}/audit", **EN).content.decode())


def test_the_api_carries_flags_and_counts_but_no_tag_or_device_hash(client, moderator):
    incident = _evidence_incident()
    auth = api(client, moderator)
    queue = client.get("/api/moderation/v1/queue", **auth)
    item = next(item for item in queue.json()["incidents"] if item["id"] == incident.pk)
    assert item["flags"] == ["contested", "trusted"]
    counts = {"sources": 2, "networks": 3, "devices": 3, "still_there": 1, "gone": 2, "sources_gone": 1}
    assert item["counts"] == counts
    one = client.get(f"/api/moderation/v1/incidents/{incident.pk}", **auth)
    assert one.status_code == 200 and one.json()["counts"] == counts and one.json()["flags"] == item["flags"]
    assert client.get("/api/moderation/v1/incidents/999999", **auth).status_code == 404
    for response in (queue, one):
        _no_secrets(response.content.decode())


def test_the_timeline_numbers_devices_within_the_incident_across_reports_and_votes(mod_client, client, moderator):
    start = timezone.now() - timedelta(hours=1)
    incident = IncidentFactory(first_reported_at=start)
    other = IncidentFactory(kind="roadblock")
    at = [start + timedelta(minutes=m) for m in range(8)]
    ReportFactory(incident=incident, reporter_key=device_key("a"), received_at=at[0], state="processed")
    ReportFactory(incident=incident, reporter_key=device_key("b"), received_at=at[1], state="processed")
    ReportFactory(incident=incident, reporter_key=device_key("a"), received_at=at[2], state="processed")
    ReportFactory(incident=incident, reporter_key=None, received_at=at[3], state="processed")
    Vote.objects.create(incident=incident, voter_key=device_key("b"), still_there=False, updated_at=at[5])
    Vote.objects.create(incident=incident, voter_key=device_key("c"), still_there=True, updated_at=at[6])
    incident_services.incident_audit_record(
        incident=incident, action="burst", before={}, after={"burst": True}, reason="3 reporters", now=at[4]
    )
    incident_services.incident_audit_record(incident=incident, action="note", before={}, after={}, now=at[7])
    # In another incident "b" comes first: it is device 1 there.
    ReportFactory(incident=other, reporter_key=device_key("b"), received_at=at[0], state="processed")

    body = client.get(f"/api/moderation/v1/incidents/{incident.pk}", **api(client, moderator)).json()
    assert [
        (entry["type"], entry.get("device"), entry.get("still_there"), entry.get("action"))
        for entry in body["timeline"]
    ] == [
        ("report", 1, None, None),
        ("report", 2, None, None),
        ("report", 1, None, None),
        ("report", None, None, None),
        ("event", None, None, "burst"),
        ("vote", 2, False, None),
        ("vote", 3, True, None),
    ]  # the note is in the audit log, not in the evidence
    assert body["timeline"][0]["at"].startswith(at[0].isoformat()[:19])
    other_body = client.get(f"/api/moderation/v1/incidents/{other.pk}", **api(client, moderator)).json()
    assert [entry["device"] for entry in other_body["timeline"]] == [1]

    page = mod_client.get(f"/moderate/incidents/{incident.pk}", **EN).content.decode()
    timeline = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", timeline).split())
    order = [
        "report from device 1",
        "report from device 2",
        "report from device 1",
        "report without a device",
        "burst: many reporters from few networks",
        "device 2 says gone",
        "device 3 says still there",
    ]
    position = 0
    for phrase in order:  # each after the one before
        position = text.index(phrase, position) + len(phrase)
    for key in ("a", "b", "c"):
        assert device_key(key) not in page


def test_the_timeline_speaks_spanish(mod_client):
    incident = IncidentFactory()
    ReportFactory(incident=incident, reporter_key=device_key("a"), state="processed")
    Vote.objects.create(incident=incident, voter_key=device_key("a"), still_there=False)
    page = mod_client.get(f"/moderate/incidents/{incident.pk}", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "reporte del dispositivo 1" in page and "el dispositivo 1 dice que ya no está" in page
    assert "Las redes se cuentan, nunca se vinculan a los reportes." in page


def test_a_network_past_its_reach_is_counted_among_the_networks_not_the_sources(mod_client):
    source = network(9)
    reports = []
    for n in range(4):
        report, _ = incident_services.report_submit(
            client_id=uuid.uuid4(),
            kind="checkpoint",
            point=Point(*offset(*CARACAS, east_m=3000 * n), srid=4326),
            device=f"phone-{n}",
            source=source,
        )
        reports.append(incident_services.report_process(report_id=report.pk))
    past = Incident.objects.get(pk=reports[-1].incident_id)
    assert past.sources == 0 and past.reporters == 1
    page = mod_client.get(f"/moderate/incidents/{past.pk}", **EN).content.decode()
    assert re.search(r'id="count-networks">1<', page) and re.search(r'id="count-sources">0<', page)


# --- keeping a verified incident reported gone ----------------------------------------------------


def _reported_gone(moderator) -> Incident:
    """A verified incident that two independent sources, through the real vote service, say is gone."""
    incident = IncidentFactory(last_confirmed_at=timezone.now() - timedelta(minutes=30))
    services.incident_verify(incident_id=incident.pk, moderator=moderator)
    for device in ("gone-1", "gone-2"):
        vote(incident_id=incident.pk, device=device, still_there=False)
    incident.refresh_from_db()
    assert incident.status == Status.VERIFIED and incident.reported_gone
    return incident


def test_keep_clears_reported_gone_with_an_audit_entry_and_old_gone_votes_cannot_raise_it_again(moderator):
    incident = _reported_gone(moderator)
    version = incident.version
    later = timezone.now() + timedelta(minutes=5)
    kept = services.incident_keep(incident_id=incident.pk, moderator=moderator, reason="seen it at 10:40", now=later)
    assert not kept.reported_gone and kept.status == Status.VERIFIED
    assert kept.last_confirmed_at == later and kept.version != version  # the public sees the flag go
    event = ModerationEvent.objects.filter(incident=incident).last()
    assert event.action == "keep" and event.actor == moderator and event.reason == "seen it at 10:40"
    assert event.before["reported_gone"] is True and event.after["reported_gone"] is False
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        vote(incident_id=incident.pk, device="gone-3", still_there=False)
        assert not Incident.objects.get(pk=incident.pk).reported_gone  # the earlier "gone" came before the keep
        vote(incident_id=incident.pk, device="gone-4", still_there=False)
        vote(incident_id=incident.pk, device="gone-5", still_there=False)
    assert Incident.objects.get(pk=incident.pk).reported_gone  # fresh ones raise it again


def test_keep_clears_contested_only_when_asked_and_refuses_when_there_is_nothing_to_clear(moderator):
    incident = IncidentFactory(contested=True)
    with pytest.raises(DomainError) as refused:
        services.incident_keep(incident_id=incident.pk, moderator=moderator)
    assert refused.value.code == "nothing_to_keep" and refused.value.status_code == 409
    kept = services.incident_keep(incident_id=incident.pk, moderator=moderator, contested=True)
    assert not kept.contested
    assert list(ModerationEvent.objects.values_list("action", flat=True)) == ["keep"]
    ended = IncidentFactory(reported_gone=True, status=Status.CLEARED)
    with pytest.raises(DomainError) as refused:
        services.incident_keep(incident_id=ended.pk, moderator=moderator)
    assert refused.value.code == "incident_ended"


def test_only_a_moderator_may_keep(citizen):
    incident = IncidentFactory(reported_gone=True, status=Status.VERIFIED, verified_at=timezone.now())
    with pytest.raises(DomainError) as refused:
        services.incident_keep(incident_id=incident.pk, moderator=citizen)
    assert refused.value.status_code == 403
    assert Incident.objects.get(pk=incident.pk).reported_gone and not ModerationEvent.objects.exists()


def test_the_incident_page_offers_keep_for_an_incident_reported_gone_and_it_works(mod_client, moderator):
    incident = _reported_gone(moderator)
    page = mod_client.get(f"/moderate/incidents/{incident.pk}", **EN).content.decode()
    assert 'id="keep"' in page and 'id="clear"' in page and 'id="reported-gone"' in page
    assert "reported gone by independent sources" in page  # the audit entry, in the timeline
    response = mod_client.post(f"/moderate/incidents/{incident.pk}/act", {"action": "keep", "reason": "still there"})
    assert response.status_code == 303
    assert not Incident.objects.get(pk=incident.pk).reported_gone
    assert ModerationEvent.objects.filter(incident=incident, action="keep", actor=moderator).exists()
    page = mod_client.get(f"/moderate/incidents/{incident.pk}", **EN).content.decode()
    assert 'id="keep"' not in page and "kept as still there by a moderator" in page
    plain = IncidentFactory()
    assert 'id="keep"' not in mod_client.get(f"/moderate/incidents/{plain.pk}", **EN).content.decode()


def test_the_keep_form_clears_contested_when_ticked(mod_client):
    incident = IncidentFactory(contested=True, reported_gone=True, status=Status.VERIFIED, verified_at=timezone.now())
    mod_client.post(f"/moderate/incidents/{incident.pk}/act", {"action": "keep"})
    incident.refresh_from_db()
    assert not incident.reported_gone and incident.contested
    incident = IncidentFactory(contested=True)
    mod_client.post(f"/moderate/incidents/{incident.pk}/act", {"action": "keep", "contested": "1"})
    assert not Incident.objects.get(pk=incident.pk).contested


def test_keep_through_the_api(client, moderator, citizen):
    incident = _reported_gone(moderator)
    url = f"/api/moderation/v1/incidents/{incident.pk}/actions"
    denied = client.post(url, {"action": "keep"}, content_type="application/json", **api(client, citizen))
    assert denied.status_code == 403 and Incident.objects.get(pk=incident.pk).reported_gone
    assert client.post(url, {"action": "keep"}, content_type="application/json").status_code == 403
    auth = api(client, moderator)
    done = client.post(url, json.dumps({"action": "keep", "reason": "seen"}), content_type="application/json", **auth)
    assert done.status_code == 200 and "reported_gone" not in done.json()["flags"]
    assert done.json()["counts"]["sources_gone"] == 2
    again = client.post(url, {"action": "keep"}, content_type="application/json", **auth)
    assert again.status_code == 409 and again.json()["error"] == "nothing_to_keep"
    events = client.get(f"/api/moderation/v1/incidents/{incident.pk}/events", **auth).json()
    assert [event["action"] for event in events][-2:] == ["reported_gone", "keep"]


def test_a_moderator_without_the_second_factor_cannot_keep(client, moderator):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    incident = IncidentFactory(reported_gone=True, status=Status.VERIFIED, verified_at=timezone.now())
    TOTPDevice.objects.create(user=moderator, name="default", confirmed=True)
    client.force_login(moderator)
    response = client.post(f"/moderate/incidents/{incident.pk}/act", {"action": "keep"})
    assert response.status_code == 302 and response["Location"].startswith("/moderate/verify")
    assert Incident.objects.get(pk=incident.pk).reported_gone
    verify(client, moderator)
    client.post(f"/moderate/incidents/{incident.pk}/act", {"action": "keep"})
    assert not Incident.objects.get(pk=incident.pk).reported_gone
