"""Private work leaves every public answer byte for byte the same, ETags included (issue 14, finding 2).

A watcher polling the changes feed, the list's ETag or the Atom feed must not learn that somebody just
reported near a checkpoint before anyone corroborated it, nor which incidents exist unpublished. Only a
change the public can see takes a map version; a tombstone goes only to an incident that was public.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import Point

from config.redis import get_redis
from incidents import services
from incidents.api import params
from incidents.models import Incident
from incidents.public.status import is_published, published_q
from moderation import services as moderation
from tests.factories import CARACAS, IncidentFactory, network_of, offset

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 12, 1, 9, 3, 17, 250_000, tzinfo=UTC)
PUBLIC_PATHS = [
    "/api/v1/incidents",
    "/api/v1/incidents?format=columns",
    "/api/v1/incidents?format=csv",
    "/api/v1/incidents?bbox=-67.2,10.2,-66.6,10.7",
    "/api/v1/incidents?status=unverified,verified,cleared,expired,rejected",
    "/api/v1/incidents/changes",
    "/feeds/incidents.atom",
    "/ogc/collections/incidents/items?f=json",
    "/ogc/collections/incidents/items?f=json&datetime=2026-11-30T00:00:00Z/..",
]


@pytest.fixture
def moderator(db) -> User:
    user = User.objects.create_user("mod", password="a long passphrase 1")
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return user


def snapshot(client, paths: list[str]) -> dict[str, tuple[int, str | None, bytes]]:
    answers = {}
    for path in paths:
        response = client.get(path)
        answers[path] = (response.status_code, response.get("ETag"), response.content)
    return answers


def report(point: tuple[float, float], device: str) -> Incident:
    submitted, _created = services.report_submit(
        client_id=uuid.uuid4(),
        kind="checkpoint",
        point=Point(*point, srid=4326),
        device=device,
        source=network_of(device),
    )
    processed = services.report_process(report_id=submitted.pk)
    assert processed is not None and processed.incident is not None
    return processed.incident


# Committed for real, so that after-commit work runs as in production: map versions reach Redis, the webhook
# fan-out is queued.
@pytest.mark.django_db(transaction=True)
def test_private_work_changes_no_public_answer(client, moderator, settings):
    settings.PUBLISH_POLICY = "corroborated"
    with time_machine.travel(MORNING, tick=False):
        public = report(CARACAS, "device-a")
        report(CARACAS, "device-b")  # corroborated: public
        first = client.get("/api/v1/incidents/changes").json()
        paths = [*PUBLIC_PATHS, f"/api/v1/incidents/changes?since={first['next']}", f"/api/v1/incidents/{public.pk}"]
        before = snapshot(client, paths)

        # A single report elsewhere, a second one from the same device, a burst flag, a moderator's note
        # and a rejection of another private incident, a vote refused on it.
        lone = report(offset(*CARACAS, east_m=3000), "device-c")
        report(offset(*CARACAS, east_m=3010), "device-c")
        lone.refresh_from_db()
        lone.burst = True
        services.incident_change_record(incident=lone, now=MORNING)
        moderation.incident_note(incident_id=lone.pk, moderator=moderator, note="seen by one person only")
        other = report(offset(*CARACAS, north_m=5000), "device-d")
        moderation.incident_reject(incident_id=other.pk, moderator=moderator, reason="nobody else saw it")
        vote = client.post(
            f"/api/v1/incidents/{lone.pk}/votes",
            {"still_there": True, "device": "device-e"},
            content_type="application/json",
        )
        assert vote.status_code == 404

        assert get_redis().get("alc:map:version") == str(Incident.objects.get(pk=public.pk).version).encode()
        get_redis().flushdb()  # no answer kept from before: each is built again from the database
        after = snapshot(client, paths)
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_a_public_change_does_move_the_answers(client, moderator, settings):
    settings.PUBLISH_POLICY = "corroborated"
    with time_machine.travel(MORNING, tick=False):
        public = report(CARACAS, "device-a")
        report(CARACAS, "device-b")
        before = snapshot(client, PUBLIC_PATHS)
        moderation.incident_note(incident_id=public.pk, moderator=moderator, note="two lanes closed")
        after = snapshot(client, PUBLIC_PATHS)
    assert all(after[path][1] != before[path][1] for path in PUBLIC_PATHS if before[path][1])


def test_a_forged_cursor_finds_no_incident_that_was_never_public(client, moderator, settings):
    settings.PUBLISH_POLICY = "corroborated"
    with time_machine.travel(MORNING, tick=False):
        lone = report(CARACAS, "device-a")
        moderation.incident_reject(incident_id=lone.pk, moderator=moderator, reason="a test")
        shown = report(offset(*CARACAS, east_m=3000), "device-b")
        report(offset(*CARACAS, east_m=3000), "device-c")
        moderation.incident_reject(incident_id=shown.pk, moderator=moderator, reason="false")
        body = client.get(f"/api/v1/incidents/changes?since={params.encode_version_cursor(0)}").json()
    named = {f["id"] for f in body["features"]} | {t["id"] for t in body["tombstones"]}
    assert lone.pk not in named
    assert {t["id"]: t["status"] for t in body["tombstones"]} == {shown.pk: "rejected"}  # it was public


@pytest.mark.parametrize("policy", ["open", "moderated", "corroborated"])
def test_is_published_agrees_with_published_q(policy, settings):
    settings.PUBLISH_POLICY = policy
    rng = random.Random(policy)
    now = datetime.now(UTC)
    for _ in range(60):
        IncidentFactory(reporters=rng.randint(0, 4), verified_at=rng.choice([None, now - timedelta(hours=1)]))
    published = set(Incident.objects.filter(published_q()).values_list("pk", flat=True))
    assert published == {incident.pk for incident in Incident.objects.all() if is_published(incident)}
    assert 0 < len(published) or policy == "moderated"
