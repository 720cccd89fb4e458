"""The changes feed: everything public that changed after a map version, as Features and tombstones.

Versions are taken from one counter row that a writer holds until it commits (incidents/mapversion.py,
`services.next_versions`), so they become visible in the order they were taken: once a reader sees
version v, every version below v that will ever be visible already is. A cursor (the last version a
client has seen) therefore never skips a change that commits later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, Case, QuerySet, Value, When

from incidents import mapversion
from incidents.models import ACTIVE_STATUSES, Incident
from incidents.public.features import dumps, feature_of, features_page, rows
from incidents.public.fields import context, public_time
from incidents.public.status import effective_status, live_q, published_q

UNPUBLISHED = "unpublished"


@dataclass
class ChangesPage:
    features: list[str]  # Feature texts, in version order
    tombstones: list[dict[str, Any]]  # {"id", "status", "updated_at"} of what left the public map
    count: int  # incidents on this page, Features and tombstones
    last_version: int  # the cursor to send back
    has_more: bool


def incidents_changed(*, since_version: int | None, now: datetime) -> QuerySet[Incident]:
    """Incidents whose map version is above `since_version`, in version order, each annotated `public`.

    With no `since_version` (a client's first call): only what is public and live now, since a client
    with no copy needs no tombstones. Otherwise every change, for the caller to send as a Feature or a
    tombstone.
    """
    queryset = Incident.objects.all()
    if since_version is None:
        queryset = queryset.filter(published_q(), live_q(now))
    else:
        queryset = queryset.filter(version__gt=since_version)
    public = Case(When(published_q(), then=Value(True)), default=Value(False), output_field=BooleanField())
    return queryset.annotate(public=public).order_by("version")


def changes_page(*, since_version: int | None, limit: int, now: datetime) -> ChangesPage:
    """Up to `limit` changes after `since_version` (None: a first call, every live public incident).

    A change to something public and live is its Feature; anything else is a tombstone with the status
    the public reads, or `unpublished` for a live incident the policy no longer shows.
    """
    changes = incidents_changed(since_version=since_version, now=now)
    if since_version is None:
        # The database builds the Features. The map version read first is a safe cursor once the last
        # page is out: every version up to it had committed, so the query saw every live incident it names.
        floor = mapversion.from_database()
        page = features_page(changes, limit=limit, now=now, ordering="version")
        last_version = page.last_version or 0
        if not page.has_more:
            last_version = max(last_version, floor)
        features = [page.body] if page.body else []
        return ChangesPage(features, [], page.count, last_version, page.has_more)
    ctx = context(now)
    found = list(rows(changes, "public")[: limit + 1])
    has_more = len(found) > limit
    found = found[:limit]
    features, tombstones = [], []
    for row in found:
        status = effective_status(row.status, row.expires_at, now)
        if row.public and status in ACTIVE_STATUSES:
            features.append(dumps(feature_of(row, ctx)))
        else:
            tombstones.append(
                {
                    "id": row.id,
                    "status": status if row.public or status not in ACTIVE_STATUSES else UNPUBLISHED,
                    "updated_at": public_time(row.updated_at, ctx.step_s),
                }
            )
    last_version = found[-1].version if found else since_version
    return ChangesPage(features, tombstones, len(found), last_version, has_more)
