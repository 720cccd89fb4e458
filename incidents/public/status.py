"""Which incidents the public sees, and with which status: one rule, in Python, in Q objects and in SQL.

Expiry is a fact of time, not of a job (architecture §3): an active incident whose `expires_at` has passed
reads as `expired` everywhere, whatever the expiry job has recorded so far. Every public read, the
moderation queue and the SQL that builds Features apply it through the functions here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

from incidents import conf
from incidents.models import ACTIVE_STATUSES, Incident, Status

_ACTIVE_SQL = ", ".join(f"'{status}'" for status in ACTIVE_STATUSES)


def effective_status(status: str, expires_at: datetime, now: datetime) -> str:
    """The status everyone reads: `expired` for an active incident past its expiry, else the stored one."""
    if status in ACTIVE_STATUSES and expires_at <= now:
        return Status.EXPIRED
    return status


def status_of(incident: Incident, now: datetime) -> str:
    return effective_status(incident.status, incident.expires_at, now)


def is_live(incident: Incident, now: datetime) -> bool:
    return status_of(incident, now) in ACTIVE_STATUSES


def effective_status_sql(status: str, expires_at: str, now: str = "%s") -> str:
    """The same rule as an SQL expression over two columns and a `now` (a placeholder by default)."""
    return f"CASE WHEN {status} IN ({_ACTIVE_SQL}) AND {expires_at} <= {now} THEN '{Status.EXPIRED}' ELSE {status} END"


def live_q(now: datetime) -> Q:
    """Active and not yet past its expiry."""
    return Q(status__in=ACTIVE_STATUSES, expires_at__gt=now)


def unrecorded_expiry_q(now: datetime) -> Q:
    """Read as expired but still stored as active: what the expiry job has yet to record."""
    return Q(status__in=ACTIVE_STATUSES, expires_at__lte=now)


def status_q(statuses: Iterable[str], now: datetime) -> Q:
    """Incidents whose effective status is one of `statuses` (none: no incident)."""
    condition = Q(pk__in=[])
    for status in statuses:
        if status in ACTIVE_STATUSES:
            condition |= Q(status=status, expires_at__gt=now)
        elif status == Status.EXPIRED:
            condition |= Q(status=Status.EXPIRED) | unrecorded_expiry_q(now)
        else:
            condition |= Q(status=status)
    return condition


def is_published(incident: Incident, policy: str | None = None) -> bool:
    """`published_q` for an incident in memory (a change about to be saved); tests hold the two together."""
    policy = policy or conf.publish_policy()
    if policy == "open":
        return True
    if policy == "moderated":
        return incident.verified_at is not None
    return incident.verified_at is not None or incident.trusted or incident.sources >= conf.corroboration_sources()


def published_q(policy: str | None = None) -> Q:
    """Which incidents the public may see at all, under PUBLISH_POLICY (architecture §3)."""
    policy = policy or conf.publish_policy()
    if policy == "open":
        # Every row, but not an empty Q(): callers build When(published_q()), which refuses an empty one.
        return Q(pk__isnull=False)
    if policy == "moderated":
        return Q(verified_at__isnull=False)
    # Corroborated by independent sources, not devices; or vouched for by a person (architecture §3).
    return Q(verified_at__isnull=False) | Q(trusted=True) | Q(sources__gte=conf.corroboration_sources())
