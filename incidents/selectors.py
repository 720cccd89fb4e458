"""Every public read of the domain. Publication policy and read-time expiry apply here, once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.gis.geos import Polygon
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone

from incidents import conf
from incidents.models import ACTIVE_STATUSES, Incident, Report, Status


def published_q(policy: str | None = None) -> Q:
    """Which incidents the public may see at all, under PUBLISH_POLICY (DESIGN §3)."""
    policy = policy or conf.publish_policy()
    if policy == "open":
        # Every row, but not an empty Q(): callers build When(published_q()), which refuses an empty one.
        return Q(pk__isnull=False)
    if policy == "moderated":
        return Q(verified_at__isnull=False)
    return Q(verified_at__isnull=False) | Q(reporters__gte=conf.corroboration_reporters())


def live_q(now: datetime) -> Q:
    """Active and not yet past its expiry, whatever the expiry job has recorded so far."""
    return Q(status__in=ACTIVE_STATUSES, expires_at__gt=now)


def status_q(status: str, now: datetime) -> Q:
    if status in ACTIVE_STATUSES:
        return Q(status=status, expires_at__gt=now)
    if status == Status.EXPIRED:
        return Q(status=Status.EXPIRED) | Q(status__in=ACTIVE_STATUSES, expires_at__lte=now)
    return Q(status=status)


def effective_status(incident: Incident, now: datetime) -> str:
    if incident.status in ACTIVE_STATUSES and incident.expires_at <= now:
        return Status.EXPIRED
    return incident.status


def incidents_public(
    *,
    bbox: Polygon | None = None,
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
        condition = Q()
        for status in statuses:
            condition |= status_q(status, now)
        queryset = queryset.filter(condition)
    elif updated_since is None:
        queryset = queryset.filter(live_q(now))
    if updated_since is not None:
        queryset = queryset.filter(updated_at__gte=updated_since)
    if kinds:
        queryset = queryset.filter(kind__in=list(kinds))
    if bbox is not None:
        queryset = queryset.filter(point__bboverlaps=bbox, point__intersects=bbox)
    if after_id is not None:
        queryset = queryset.filter(pk__gt=after_id)
    return queryset.order_by("pk")


def incidents_changed(*, since_version: int | None, now: datetime | None = None) -> QuerySet[Incident]:
    """Incidents whose map version is above `since_version`, in version order, each annotated `public`.

    With no `since_version` (a client's first call): only what is public and live now, since a client
    with no copy needs no tombstones. Otherwise every change, for the caller to send as a Feature or a
    tombstone.
    """
    now = now or timezone.now()
    queryset = Incident.objects.all()
    if since_version is None:
        queryset = queryset.filter(published_q(), live_q(now))
    else:
        queryset = queryset.filter(version__gt=since_version)
    public = Case(When(published_q(), then=Value(True)), default=Value(False), output_field=BooleanField())
    return queryset.annotate(public=public).order_by("version")


def incident_public(*, incident_id: int) -> Incident | None:
    return Incident.objects.filter(published_q(), pk=incident_id).first()


def report_status(*, report_id) -> Report | None:
    return Report.objects.filter(pk=report_id).only("id", "state", "incident_id").first()
