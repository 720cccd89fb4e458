"""Every public read of the domain, under the publication policy and read-time expiry of incidents/public/status.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db.models import QuerySet
from django.utils import timezone

from incidents.keys import device_key
from incidents.models import Incident, Report
from incidents.public.extent import Extent, public_extent
from incidents.public.filters import step_start, within_bbox
from incidents.public.status import live_q, published_q, status_q


def incidents_public(
    *,
    bbox: Polygon | MultiPolygon | None = None,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
    updated_since: datetime | None = None,
    after_id: int | None = None,
    now: datetime | None = None,
) -> QuerySet[Incident]:
    """Public incidents in a stable order (by id).

    With no `statuses` and no `updated_since`: the live ones only. With `updated_since` and no
    `statuses`: everything public that changed since then, ended incidents included, so that a
    client keeping a copy learns what ended.
    """
    now = now or timezone.now()
    queryset = Incident.objects.filter(published_q())
    if statuses:
        queryset = queryset.filter(status_q(statuses, now))
    elif updated_since is None:
        queryset = queryset.filter(live_q(now))
    if updated_since is not None:
        queryset = queryset.filter(updated_at__gte=step_start(updated_since))
    if kinds:
        queryset = queryset.filter(kind__in=list(kinds))
    if bbox is not None:
        queryset = within_bbox(queryset, bbox)
    if after_id is not None:
        queryset = queryset.filter(pk__gt=after_id)
    return queryset.order_by("pk")


def incidents_public_extent() -> Extent:
    """Where and when the public incidents lie, ended ones included, from their public values."""
    return public_extent(Incident.objects.filter(published_q()))


def incident_public(*, incident_id: int) -> Incident | None:
    return Incident.objects.filter(published_q(), pk=incident_id).first()


def report_status(*, report_id) -> Report | None:
    return Report.objects.filter(pk=report_id).only("id", "state", "incident_id").first()


def report_latest_of(*, device: str, since: datetime | None = None) -> Report | None:
    """The latest report sent with the device token `device` (received after `since`), not withdrawn nor
    spam: what a sender's "cancel" or number-less "still there" is about."""
    reports = Report.objects.filter(reporter_key=device_key(device)).exclude(state__in=["withdrawn", "spam"])
    if since is not None:
        reports = reports.filter(received_at__gte=since)
    return reports.order_by("-received_at").first()


def report_get(*, report_id) -> Report | None:
    return Report.objects.filter(pk=report_id).first()
