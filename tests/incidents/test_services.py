from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.db import connection, connections
from django.utils import timezone, translation

from incidents import selectors, services
from incidents.errors import DomainError
from incidents.models import Incident, IncidentEvent, InvalidTransition, ModerationEvent, Report, Status
from tests.factories import CARACAS, IncidentFactory, network_of, offset, vote

pytestmark = pytest.mark.django_db

SAN_ANTONIO = (-72.4447, 7.8146)


def submit(lon=CARACAS[0], lat=CARACAS[1], *, kind="checkpoint", device=None, **extra) -> Report:
    report, _ = services.report_submit(
        client_id=extra.pop("client_id", uuid.uuid4()),
        kind=kind,
        point=Point(lon, lat, srid=4326),
        device=device,
        source=extra.pop("source", network_of(device)),
        **extra,
    )
    return report


def submit_and_process(*args, **kwargs) -> Report:
    report = submit(*args, **kwargs)
    return services.report_process(report_id=report.pk)


def test_three_devices_near_one_checkpoint_make_one_incident_and_a_far_report_another():
    reports = [
        submit_and_process(*offset(*CARACAS, east_m=east, north_m=north), device=f"phone-{n}")
        for n, (east, north) in enumerate([(0, 0), (60, 20), (-30, 70)])
    ]
    assert {r.incident_id for r in reports} == {reports[0].incident_id}
    incident = Incident.objects.get()
    assert incident.reporters == 3

    far = submit_and_process(*offset(*CARACAS, east_m=2000), device="phone-9")
    assert far.incident_id != incident.pk
    assert Incident.objects.count() == 2


def test_same_device_reporting_again_adds_no_reporter_but_confirms():
    first = submit_and_process(device="phone-a", observed_at=timezone.now() - timedelta(hours=1))
    second = submit_and_process(*offset(*CARACAS, north_m=50), device="phone-a")
    incident = Incident.objects.get()
    assert first.incident_id == second.incident_id == incident.pk
    assert incident.reporters == 1
    assert incident.last_confirmed_at == second.observed_at
    assert incident.expires_at == second.observed_at + timedelta(hours=6)


def test_reports_without_device_each_count_as_a_reporter():
    submit_and_process()
    submit_and_process(*offset(*CARACAS, east_m=30))
    assert Incident.objects.get().reporters == 2


def test_merge_needs_the_same_kind():
    submit_and_process(kind="checkpoint")
    submit_and_process(kind="militia")
    assert sorted(Incident.objects.values_list("kind", flat=True)) == ["checkpoint", "militia"]


def test_merge_radius_follows_the_kind():
    submit_and_process(kind="militia", device="a")
    joined = submit_and_process(*offset(*CARACAS, east_m=500), kind="militia", device="b")
    submit_and_process(kind="checkpoint", device="c")
    apart = submit_and_process(*offset(*CARACAS, east_m=500), kind="checkpoint", device="d")
    assert Incident.objects.get(pk=joined.incident_id).reporters == 2
    assert Incident.objects.get(pk=apart.incident_id).reporters == 1


def test_report_joins_the_nearest_of_two_incidents():
    left = IncidentFactory(point=Point(*offset(*CARACAS, east_m=-200), srid=4326), reporters=1)
    right = IncidentFactory(point=Point(*offset(*CARACAS, east_m=150), srid=4326), reporters=1)
    report = submit_and_process()
    assert report.incident_id == right.pk
    assert Incident.objects.get(pk=left.pk).reporters == 1


def test_report_near_an_ended_incident_opens_a_new_one():
    ended = IncidentFactory(status=Status.CLEARED)
    report = submit_and_process()
    assert report.incident_id != ended.pk


def test_report_near_an_incident_past_its_expiry_opens_a_new_one():
    stale = IncidentFactory(expires_at=timezone.now() - timedelta(minutes=1))
    report = submit_and_process()
    assert report.incident_id != stale.pk


def test_processing_twice_counts_the_report_once():
    report = submit(device="a")
    services.report_process(report_id=report.pk)
    services.report_process(report_id=report.pk)
    incident = Incident.objects.get()
    assert incident.reporters == 1
    assert Report.objects.get().state == "processed"


def test_processing_a_missing_report_is_quiet():
    assert services.report_process(report_id=uuid.uuid4()) is None


def test_same_client_id_twice_makes_one_report():
    client_id = uuid.uuid4()
    first, created = services.report_submit(client_id=client_id, kind="checkpoint", point=Point(*CARACAS))
    again, created_again = services.report_submit(client_id=client_id, kind="roadblock", point=Point(*CARACAS))
    assert created and not created_again
    assert again.pk == first.pk
    assert Report.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_same_client_id_sent_concurrently_makes_one_report():
    client_id = uuid.uuid4()
    barrier = threading.Barrier(6)
    results, errors = [], []

    def send():
        try:
            barrier.wait()
            results.append(services.report_submit(client_id=client_id, kind="checkpoint", point=Point(*CARACAS)))
        except Exception as exc:  # noqa: BLE001 -- collected and asserted on below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Report.objects.count() == 1
    assert {report.pk for report, _ in results} == {Report.objects.get().pk}
    assert sum(created for _, created in results) == 1


def test_report_outside_the_area_is_refused():
    with pytest.raises(DomainError) as caught:
        submit(-3.70, 40.42)  # Madrid
    assert caught.value.code == "outside_area"
    assert Report.objects.count() == 0


def test_swapped_coordinates_are_refused_with_a_hint():
    with pytest.raises(DomainError) as caught, translation.override("en"):
        submit(CARACAS[1], CARACAS[0])
    assert "longitude first" in caught.value.detail


def test_out_of_range_coordinates_are_refused():
    with pytest.raises(DomainError) as caught:
        submit(-66.9, 95.0)
    assert caught.value.code == "invalid_location"


def test_unknown_kind_is_refused():
    with pytest.raises(DomainError) as caught:
        submit(kind="ufo")
    assert caught.value.field == "kind"


def test_observation_in_the_future_is_refused_but_small_clock_skew_is_forgiven():
    with pytest.raises(DomainError) as caught:
        submit(observed_at=timezone.now() + timedelta(hours=1))
    assert caught.value.code == "in_future"
    report = submit(observed_at=timezone.now() + timedelta(minutes=2))
    assert report.observed_at <= timezone.now()


def test_observation_older_than_a_day_is_refused():
    with pytest.raises(DomainError) as caught:
        submit(observed_at=timezone.now() - timedelta(hours=25))
    assert caught.value.code == "too_old"
    assert submit(observed_at=timezone.now() - timedelta(hours=23)).pk


def test_description_is_limited_to_500_characters():
    with pytest.raises(DomainError):
        submit(description="x" * 501)
    assert submit(description="x" * 500).description == "x" * 500


def test_typed_coordinates_become_the_point():
    report, _ = services.report_submit(client_id=uuid.uuid4(), kind="checkpoint", place_text="10.4806, -66.9036")
    assert (round(report.point.x, 4), round(report.point.y, 4)) == (-66.9036, 10.4806)


def test_a_place_that_cannot_be_located_leaves_the_report_unlocatable():
    report, _ = services.report_submit(client_id=uuid.uuid4(), kind="checkpoint", place_text="somewhere unknown")
    processed = services.report_process(report_id=report.pk)
    assert processed.state == "unlocatable"
    assert Incident.objects.count() == 0


def test_device_tokens_are_stored_only_as_keyed_hashes():
    report = submit(device="my-secret-device-token")
    stored = Report.objects.get(pk=report.pk).reporter_key
    assert stored and "my-secret-device-token" not in stored
    assert len(stored) == 64


# --- expiry ---------------------------------------------------------------------------------------


def test_unconfirmed_militia_sighting_leaves_public_reads_before_the_job_and_is_expired_by_it():
    start = timezone.now()
    submit_and_process(kind="militia", device="a")
    submit_and_process(*offset(*CARACAS, east_m=40), kind="militia", device="b")
    incident = Incident.objects.get()
    assert list(selectors.incidents_public()) == [incident]

    with time_machine.travel(start + timedelta(hours=2, minutes=1), tick=False):
        assert list(selectors.incidents_public()) == []
        assert list(selectors.incidents_public(statuses=["expired"])) == [incident]
        version_before = Incident.objects.get().version
        assert services.incidents_expire() == 1
        incident.refresh_from_db()
        assert incident.status == Status.EXPIRED
        assert incident.version > version_before
        changed = selectors.incidents_public(updated_since=start + timedelta(hours=2))
        assert [(i.pk, i.status) for i in changed] == [(incident.pk, "expired")]
        assert ModerationEvent.objects.filter(incident=incident, action="expire").count() == 1
        assert services.incidents_expire() == 0


def test_the_expiry_job_runs_under_the_open_policy_too(settings):
    settings.PUBLISH_POLICY = "open"
    incident = IncidentFactory(reporters=1, expires_at=timezone.now() - timedelta(minutes=1))
    assert services.incidents_expire() == 1
    assert Incident.objects.get(pk=incident.pk).status == Status.EXPIRED


def test_expiry_runs_in_batches_and_leaves_live_incidents_alone():
    now = timezone.now()
    stale = [IncidentFactory(expires_at=now - timedelta(minutes=n + 1)) for n in range(7)]
    live = IncidentFactory(expires_at=now + timedelta(hours=1))
    assert services.incidents_expire(now=now, batch_size=3) == 7
    assert set(Incident.objects.filter(status="expired").values_list("pk", flat=True)) == {i.pk for i in stale}
    assert Incident.objects.get(pk=live.pk).status == "unverified"
    versions = list(Incident.objects.filter(status="expired").values_list("version", flat=True))
    assert len(set(versions)) == 7


def test_expiry_query_uses_the_active_only_index():
    if connection.vendor != "postgresql":
        pytest.skip("the plan is checked on PostGIS")
    now = timezone.now()
    IncidentFactory.create_batch(5, status=Status.EXPIRED, expires_at=now - timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        query = Incident.objects.filter(status__in=["unverified", "verified"], expires_at__lte=now).order_by(
            "expires_at"
        )
        plan = query.explain()
        cursor.execute("SET enable_seqscan = on")
    assert "incident_active_expires_idx" in plan


# --- votes ----------------------------------------------------------------------------------------


def test_two_distinct_gone_votes_newer_than_the_last_report_clear_the_incident():
    incident = IncidentFactory(last_confirmed_at=timezone.now() - timedelta(minutes=30))
    vote(incident_id=incident.pk, device="a", still_there=False)
    assert Incident.objects.get(pk=incident.pk).status == Status.UNVERIFIED
    cleared = vote(incident_id=incident.pk, device="b", still_there=False)
    assert cleared.status == Status.CLEARED
    assert cleared.gone == 2
    assert ModerationEvent.objects.filter(incident=incident, action="clear").exists()


def test_one_gone_vote_does_not_clear():
    incident = IncidentFactory()
    result = vote(incident_id=incident.pk, device="a", still_there=False)
    assert result.status == Status.UNVERIFIED
    assert result.gone == 1


def test_the_same_device_voting_gone_twice_counts_once():
    incident = IncidentFactory()
    vote(incident_id=incident.pk, device="a", still_there=False)
    result = vote(incident_id=incident.pk, device="a", still_there=False)
    assert result.status == Status.UNVERIFIED
    assert result.gone == 1


def test_gone_votes_older_than_a_new_report_do_not_count():
    start = timezone.now()
    submit_and_process(device="x", observed_at=start - timedelta(minutes=10))
    incident = Incident.objects.get()
    vote(incident_id=incident.pk, device="a", still_there=False, now=start)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        submit_and_process(device="y")  # a fresh confirmation
        result = vote(incident_id=incident.pk, device="b", still_there=False)
    assert result.status == Status.UNVERIFIED


def test_latest_vote_of_a_device_wins():
    incident = IncidentFactory()
    vote(incident_id=incident.pk, device="a", still_there=False)
    result = vote(incident_id=incident.pk, device="a", still_there=True)
    assert (result.still_there, result.gone) == (1, 0)


def test_still_there_vote_confirms_and_extends_expiry():
    incident = IncidentFactory(expires_at=timezone.now() + timedelta(minutes=5))
    result = vote(incident_id=incident.pk, device="a", still_there=True)
    assert result.expires_at > timezone.now() + timedelta(hours=5)


def test_votes_on_an_ended_incident_are_refused():
    incident = IncidentFactory(status=Status.EXPIRED)
    with pytest.raises(DomainError) as caught:
        vote(incident_id=incident.pk, device="a", still_there=False)
    assert caught.value.status_code == 409


def test_a_vote_needs_a_device():
    incident = IncidentFactory()
    with pytest.raises(DomainError):
        vote(incident_id=incident.pk, device="", still_there=False)


# --- transitions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target"),
    [("cleared", "verified"), ("expired", "unverified"), ("rejected", "verified"), ("verified", "unverified")],
)
def test_transitions_outside_the_design_are_refused(start, target):
    incident = IncidentFactory(status=start)
    with pytest.raises(InvalidTransition):
        services.incident_transition(incident=incident, status=target)
    assert Incident.objects.get(pk=incident.pk).status == start


def test_verifying_records_an_audit_event_and_raises_confidence():
    incident = IncidentFactory(reporters=1, confidence=0.4)
    verified = services.incident_transition(incident=incident, status="verified", reason="seen by staff")
    assert verified.status == "verified"
    assert verified.confidence >= 0.9
    event = ModerationEvent.objects.get(incident=incident)
    assert (event.action, event.before, event.after) == ("verified", {"status": "unverified"}, {"status": "verified"})


def test_an_incident_past_its_expiry_cannot_be_verified():
    incident = IncidentFactory(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidTransition):
        services.incident_transition(incident=incident, status="verified")


def test_moderation_events_cannot_be_changed_or_deleted():
    incident = IncidentFactory()
    services.incident_transition(incident=incident, status="verified")
    event = ModerationEvent.objects.get()
    event.reason = "rewritten"
    with pytest.raises(Exception, match="cannot be changed"):
        event.save()
    with pytest.raises(Exception, match="cannot be deleted"):
        event.delete()


# --- recording a change ---------------------------------------------------------------------------


def test_a_recorded_change_is_saved_with_a_new_version_its_public_event_and_its_audit_entry():
    incident = IncidentFactory(reporters=3)
    old_version = incident.version
    now = timezone.now()
    incident.note = "Two trucks, southbound lane."
    incident.sources_gone = 1
    audit = services.Audit(action="note", before={"note": ""}, after={"note": incident.note}, reason="seen")
    services.incident_change_record(incident=incident, now=now, audit=audit)

    stored = Incident.objects.get(pk=incident.pk)
    assert stored.note == "Two trucks, southbound lane."
    assert stored.version != old_version and stored.updated_at == now
    assert (
        stored.confidence
        == services.confidence_for(stored)
        < services.confidence_for(IncidentFactory.build(reporters=3))
    )
    assert list(IncidentEvent.objects.filter(incident=stored).values_list("type", "version")) == [
        ("updated", stored.version)
    ]
    entry = ModerationEvent.objects.get(incident=stored)
    assert (entry.action, entry.before, entry.after, entry.reason) == (
        "note",
        {"note": ""},
        {"note": incident.note},
        "seen",
    )
    assert entry.created_at == now

    incident.note = "Gone south."
    services.incident_change_record(incident=incident, now=now)
    assert Incident.objects.get(pk=incident.pk).version > stored.version
    assert ModerationEvent.objects.filter(incident=stored).count() == 1  # no audit given, none written


def test_an_audit_entry_alone_changes_nothing_the_public_sees():
    incident = IncidentFactory()
    now = timezone.now()
    services.incident_audit_record(
        incident=incident, action="place", before={"state": "unlocatable"}, after={}, now=now
    )
    stored = Incident.objects.get(pk=incident.pk)
    assert (stored.version, stored.updated_at) == (incident.version, incident.updated_at)
    assert not IncidentEvent.objects.exists()
    assert list(ModerationEvent.objects.values_list("action", "before")) == [("place", {"state": "unlocatable"})]


# --- publication policy ---------------------------------------------------------------------------


def test_corroborated_policy_publishes_two_reporters_but_not_one(settings):
    settings.PUBLISH_POLICY = "corroborated"
    single = IncidentFactory(reporters=1)
    double = IncidentFactory(reporters=2, point=Point(*SAN_ANTONIO, srid=4326))
    verified = IncidentFactory(reporters=1, status="verified", verified_at=timezone.now())
    assert set(selectors.incidents_public()) == {double, verified}
    assert selectors.incident_public(incident_id=single.pk) is None


def test_moderated_policy_publishes_only_verified(settings):
    settings.PUBLISH_POLICY = "moderated"
    IncidentFactory(reporters=5)
    verified = IncidentFactory(reporters=1, status="verified", verified_at=timezone.now())
    assert list(selectors.incidents_public()) == [verified]


def test_open_policy_publishes_everything_live(settings):
    settings.PUBLISH_POLICY = "open"
    single = IncidentFactory(reporters=1)
    assert list(selectors.incidents_public()) == [single]


def test_confidence_grows_with_reporters():
    submit_and_process(device="a")
    one = Incident.objects.get().confidence
    submit_and_process(device="b")
    two = Incident.objects.get().confidence
    submit_and_process(device="c")
    three = Incident.objects.get().confidence
    assert 0 < one < two < three < 0.9
