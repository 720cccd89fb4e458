"""What moderators read: the queue, one incident with its reports, the audit log. Nothing here is public.

The evidence of an incident is shown as counts and a timeline in which devices are numbered within the
incident ("device 1", "device 2"): no device hash and no source tag ever leaves this module. Sources cannot be
linked to reports (architecture §8.6), so networks are only counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.gis.geos import Polygon
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from incidents.models import ACTIVE_STATUSES, Channel, Incident, Kind, ModerationEvent, Report, ReportState, Status
from incidents.public.status import live_q, status_of, status_q
from messaging.understand import understand

QUEUE_LIMIT = 100

# The flags a moderator looks at first, most urgent first: the queue's order and the badges of its rows.
ATTENTION_FLAGS = ("reported_gone", "contested", "burst")
BADGES = (*ATTENTION_FLAGS, "trusted")

# The audit entries that are evidence of how an incident's reports and votes came in, for its timeline.
EVIDENCE_ACTIONS = ("burst", "reopen", "clear", "reported_gone", "keep", "verified")


@dataclass
class Queue:
    """The moderation queue in the order it should be worked: live incidents flagged reported gone, then
    contested, then bursts, then the other incidents, newest first; unlocatable reports; reports with photos.

    Flagged incidents are listed before the rest, but each part has its own limit: a flood of bursts cannot
    push the new incidents out of the queue."""

    incidents: list[Incident] = field(default_factory=list)
    unlocatable: list[Report] = field(default_factory=list)
    photos: list[Report] = field(default_factory=list)

    @property
    def new(self) -> list[Incident]:
        """The incidents without the burst flag, in the queue's order."""
        return [incident for incident in self.incidents if not incident.burst]

    @property
    def bursts(self) -> list[Incident]:
        return [incident for incident in self.incidents if incident.burst]


def _with_counts(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Each incident with `report_count` and `networks`: its Source rows, weighted or not (a network past its
    reach is seen but weighs nothing)."""
    return incidents.annotate(
        report_count=Count("reports", distinct=True), networks=Count("source_rows", distinct=True)
    )


def moderation_queue(
    *,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
    bbox: Polygon | None = None,
    now: datetime | None = None,
    limit: int = QUEUE_LIMIT,
) -> Queue:
    """The queue, filtered by kind, incident status (default: unverified) and area.

    A live incident reported gone is listed whatever the status filter: it is verified, and only a
    moderator may end it (architecture §3)."""
    now = now or timezone.now()
    wanted = status_q(statuses or [Status.UNVERIFIED], now) | (live_q(now) & Q(reported_gone=True))
    incidents = Incident.objects.filter(wanted, merged_into__isnull=True)
    reports = Report.objects.filter(purged_at__isnull=True)
    if kinds:
        incidents = incidents.filter(kind__in=list(kinds))
        reports = reports.filter(kind__in=list(kinds))
    if bbox is not None:
        incidents = incidents.filter(point__bboverlaps=bbox)
    incidents = _with_counts(incidents)
    flagged = Q(reported_gone=True) | Q(contested=True) | Q(burst=True)
    order = [f"-{flag}" for flag in ATTENTION_FLAGS] + ["-created_at", "-id"]
    photos = reports.exclude(photo="").filter(photo_approved=False, incident__isnull=False)
    if bbox is not None:
        photos = photos.filter(incident__point__bboverlaps=bbox)
    return Queue(
        incidents=list(incidents.filter(flagged).order_by(*order)[:limit])
        + list(incidents.exclude(flagged).order_by("-created_at", "-id")[:limit]),
        unlocatable=list(reports.filter(state=ReportState.UNLOCATABLE).order_by("-received_at")[:limit]),
        photos=list(photos.filter(incident__status__in=ACTIVE_STATUSES).order_by("-received_at")[:limit]),
    )


def incident_for_moderation(*, incident_id: int) -> Incident | None:
    return _with_counts(Incident.objects.filter(pk=incident_id)).select_related("merged_into").first()


def incident_reports(*, incident: Incident) -> QuerySet[Report]:
    return Report.objects.filter(incident=incident).order_by("observed_at", "received_at")


def incident_audit(*, incident: Incident) -> QuerySet[ModerationEvent]:
    return ModerationEvent.objects.filter(incident=incident).select_related("actor").order_by("created_at", "id")


def incident_badges(incident: Incident) -> list[str]:
    """The flags set on an incident, most urgent first (names only: the templates and the API label them)."""
    return [flag for flag in BADGES if getattr(incident, flag)]


def incident_counts(incident: Incident) -> dict[str, int]:
    """What a moderator weighs an incident by. `sources`: independent sources (weighted networks) that
    reported it; `networks`: every network seen on it, including those past their reach; `devices`: its
    reporters; `still_there` / `gone`: devices by their latest vote; `sources_gone`: weighted sources whose
    latest answer is "gone"."""
    networks = getattr(incident, "networks", None)
    if networks is None:
        networks = incident.source_rows.count()
    return {
        "sources": incident.sources,
        "networks": networks,
        "devices": incident.reporters,
        "still_there": incident.still_there,
        "gone": incident.gone,
        "sources_gone": incident.sources_gone,
    }


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to an incident. `type` is "report", "vote" or "event"; `device` is the
    device's number within this incident (None for a report without a device, or whose device was purged);
    `still_there` is a vote's answer; `action` and `actor` an audit entry's."""

    at: datetime
    type: str
    device: int | None = None
    still_there: bool | None = None
    action: str = ""
    actor: str | None = None
    reason: str = ""
    report: Any = None


def incident_timeline(*, incident: Incident) -> list[TimelineEntry]:
    """The incident's reports (by time received), its devices' latest votes and its evidence audit entries,
    in time order. Devices are numbered 1, 2, ... in the order they first appear, across reports and votes
    (both carry the same keyed hash of a device token); the hash itself is never returned."""
    entries: list[tuple[datetime, int, Any]] = []
    for report in Report.objects.filter(incident=incident).only("pk", "received_at", "reporter_key"):
        entries.append((report.received_at, 0, report))
    for vote in incident.votes.all():
        entries.append((vote.updated_at, 1, vote))
    events = ModerationEvent.objects.filter(incident=incident, action__in=EVIDENCE_ACTIONS).select_related("actor")
    for event in events:
        entries.append((event.created_at, 2, event))
    entries.sort(key=lambda entry: (entry[0], entry[1], str(entry[2].pk)))
    numbers: dict[str, int] = {}

    def number(key: str | None) -> int | None:
        if not key:
            return None
        return numbers.setdefault(key, len(numbers) + 1)

    timeline = []
    for at, rank, item in entries:
        if rank == 0:
            timeline.append(TimelineEntry(at=at, type="report", device=number(item.reporter_key), report=item.pk))
        elif rank == 1:
            timeline.append(
                TimelineEntry(at=at, type="vote", device=number(item.voter_key), still_there=item.still_there)
            )
        else:
            actor = item.actor.get_username() if item.actor else None
            timeline.append(TimelineEntry(at=at, type="event", action=item.action, actor=actor, reason=item.reason))
    return timeline


def report_for_moderation(*, report_id: Any) -> Report | None:
    return Report.objects.filter(pk=report_id).first()


def effective_status(incident: Incident, now: datetime | None = None) -> str:
    """The status everyone reads (incidents/public/status.py), for the moderation pages."""
    return status_of(incident, now or timezone.now())


@dataclass(frozen=True)
class Understood:
    """What the message intake understood of a text message's original text, beside what the report holds."""

    kind: str | None
    place: str
    minutes_ago: int | None

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label) if self.kind else ""


def report_understood(report: Report) -> Understood | None:
    """For a report that came as a text message: what `messaging.understand` reads in its text (the text is
    kept whole as the description), so that a moderator sees an unknown kind as unknown rather than as the
    placeholder it was kept under. None for other channels, or once the text is purged."""
    if report.channel not in (Channel.SMS, Channel.TELEGRAM) or not report.description:
        return None
    found = understand(report.description)
    place = f"{found.lat_lon[0]:.5f}, {found.lat_lon[1]:.5f}" if found.lat_lon else found.place_text
    return Understood(kind=found.kind, place=place, minutes_ago=found.minutes_ago)
