"""The outbox of public changes: an `IncidentEvent` per change of what the public sees of an incident.

Services call `seen` before a change and `record` after it, inside the change's transaction. Whether an
incident is on the public map is asked of the database with the very predicate the public list uses
(`incidents.public.status.published_q` and `live_q`), before and after, so the publication policy lives in one place.
Once the transaction commits, `public_events_committed` is sent, once per transaction however many events
it appended; the watch app connects its webhook fan-out to it (watch/apps.py), so this app never imports
watch. A beat job sweeps up what a broker outage lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import BooleanField, Case, Value, When
from django.dispatch import Signal

from incidents.models import ENDED_STATUSES, EventType, Incident, IncidentEvent, Status
from incidents.public.features import feature
from incidents.public.status import is_published, live_q, published_q

logger = logging.getLogger(__name__)

# Sent (sender=IncidentEvent, no arguments) after a transaction that appended public events commits.
public_events_committed = Signal()


@dataclass(frozen=True)
class Seen:
    """What the public sees of an incident at one moment."""

    listed: bool  # on the public live map: published under the policy, active and not past its expiry
    published: bool  # public at all under the policy (ended ones too: the list shows them by status)
    status: str
    feature: dict[str, Any]  # its public Feature, as anyone could read it then


def seen(incident_id: int | None, *, now: datetime) -> Seen | None:
    """The incident as the database holds it now (in the caller's transaction); None if it is not there yet."""
    if incident_id is None:
        return None
    listed = Case(
        When(published_q() & live_q(now), then=Value(True)), default=Value(False), output_field=BooleanField()
    )
    published = Case(When(published_q(), then=Value(True)), default=Value(False), output_field=BooleanField())
    incident = Incident.objects.filter(pk=incident_id).annotate(listed=listed, published=published).first()
    if incident is None:
        return None
    return Seen(
        listed=bool(incident.listed),
        published=bool(incident.published),
        status=incident.status,
        feature=feature(incident, now=now),
    )


def is_public_change(before: Seen | None, incident: Incident, *, now: datetime) -> bool:
    """Whether saving `incident` as it is in memory changes anything the public can read: it becomes or stops
    being public under the policy, or its public Feature differs (its `updated_at` aside, which the change
    itself sets only when this is true). A private change takes no map version, so every public answer, its
    ETag, the changes feed and the outbox stay exactly as they were."""
    published = is_published(incident)
    was_published = before is not None and before.published
    if not published and not was_published:
        return False
    if before is None or published != was_published:
        return True
    return _but_updated_at(before.feature) != _but_updated_at(feature(incident, now=now))


def _but_updated_at(public: dict[str, Any]) -> dict[str, Any]:
    return {**public, "properties": {**public["properties"], "updated_at": None}}


def classify(before: Seen | None, after: Seen) -> str | None:
    """Which public event a change was, or None when the public saw nothing of it."""
    if before is None or not before.listed:
        return EventType.PUBLISHED if after.listed else None
    if not after.listed:
        return EventType.ENDED if after.status in ENDED_STATUSES else EventType.UNPUBLISHED
    if before.status == Status.UNVERIFIED and after.status == Status.VERIFIED:
        return EventType.VERIFIED
    if before.feature["geometry"] != after.feature["geometry"]:
        return EventType.MOVED
    return EventType.UPDATED


def _event(incident: Incident, event_type: str, now: datetime) -> IncidentEvent:
    public = feature(incident, now=now)
    lon, lat = public["geometry"]["coordinates"]
    # Events are appended for public changes only, and every public change takes a version.
    assert incident.version is not None, "a public event needs the version of its change"
    return IncidentEvent(
        incident=incident,
        type=event_type,
        kind=incident.kind,
        status=incident.status,
        # The public, snapped point: feed areas and webhook areas are matched against what the public sees.
        point=Point(lon, lat, srid=4326),
        version=incident.version,
        feature=public,
        created_at=now,
    )


def record(*, incident: Incident, before: Seen | None, now: datetime) -> IncidentEvent | None:
    """Append the event of a change just saved (`before` from `seen` ahead of it), if the public saw one."""
    after = seen(incident.pk, now=now)
    if after is None:
        return None
    event_type = classify(before, after)
    if event_type is None:
        return None
    event = _event(incident, event_type, now)
    event.save(force_insert=True)
    _fan_out_on_commit()
    return event


def record_ended(*, incidents: Sequence[Incident], now: datetime) -> int:
    """Append an `ended` event for each incident of a batch that the public saw before it ended.

    For the expiry job: the incidents carry a `public` annotation (`published_q`) taken before the change;
    their `expires_at` has passed, so the public already reads them as expired.
    """
    events = [_event(incident, EventType.ENDED, now) for incident in incidents if getattr(incident, "public", False)]
    if events:
        IncidentEvent.objects.bulk_create(events)
        _fan_out_on_commit()
    return len(events)


def _fan_out_on_commit() -> None:
    # Once per transaction: one fan-out takes every pending event (a bulk moderation makes hundreds).
    pending = transaction.get_connection().run_on_commit
    if not any(hook[1] is _committed for hook in pending):
        transaction.on_commit(_committed)


def _committed() -> None:
    public_events_committed.send(sender=IncidentEvent)
