"""What moderators read: the queue, one incident with its reports, the audit log. Nothing here is public."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.gis.geos import Polygon
from django.db.models import Count, QuerySet
from django.utils import timezone

from incidents.models import ACTIVE_STATUSES, Incident, ModerationEvent, Report, ReportState, Status
from incidents.public.status import status_of, status_q

QUEUE_LIMIT = 100


@dataclass
class Queue:
    """The moderation queue in the order it should be worked: new incidents, bursts, unlocatable reports,
    then reports with photos."""

    new: list[Incident] = field(default_factory=list)
    bursts: list[Incident] = field(default_factory=list)
    unlocatable: list[Report] = field(default_factory=list)
    photos: list[Report] = field(default_factory=list)


def moderation_queue(
    *,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
    bbox: Polygon | None = None,
    now: datetime | None = None,
    limit: int = QUEUE_LIMIT,
) -> Queue:
    """The queue, filtered by kind, incident status (default: unverified) and area."""
    now = now or timezone.now()
    incidents = Incident.objects.filter(status_q(statuses or [Status.UNVERIFIED], now), merged_into__isnull=True)
    reports = Report.objects.filter(purged_at__isnull=True)
    if kinds:
        incidents = incidents.filter(kind__in=list(kinds))
        reports = reports.filter(kind__in=list(kinds))
    if bbox is not None:
        incidents = incidents.filter(point__bboverlaps=bbox)
    incidents = incidents.annotate(report_count=Count("reports"))
    photos = reports.exclude(photo="").filter(photo_approved=False, incident__isnull=False)
    if bbox is not None:
        photos = photos.filter(incident__point__bboverlaps=bbox)
    return Queue(
        new=list(incidents.filter(burst=False).order_by("-created_at", "-id")[:limit]),
        bursts=list(incidents.filter(burst=True).order_by("-created_at", "-id")[:limit]),
        unlocatable=list(reports.filter(state=ReportState.UNLOCATABLE).order_by("-received_at")[:limit]),
        photos=list(photos.filter(incident__status__in=ACTIVE_STATUSES).order_by("-received_at")[:limit]),
    )


def incident_for_moderation(*, incident_id: int) -> Incident | None:
    return Incident.objects.filter(pk=incident_id).select_related("merged_into").first()


def incident_reports(*, incident: Incident) -> QuerySet[Report]:
    return Report.objects.filter(incident=incident).order_by("observed_at", "received_at")


def incident_audit(*, incident: Incident) -> QuerySet[ModerationEvent]:
    return ModerationEvent.objects.filter(incident=incident).select_related("actor").order_by("created_at", "id")


def report_for_moderation(*, report_id: Any) -> Report | None:
    return Report.objects.filter(pk=report_id).first()


def effective_status(incident: Incident, now: datetime | None = None) -> str:
    """The status everyone reads (incidents/public/status.py), for the moderation pages."""
    return status_of(incident, now or timezone.now())
