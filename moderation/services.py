"""Every write a moderator makes. Views, the moderation API and the admin call these and nothing else.

Each action checks that the actor is a moderator, keeps to the transitions of architecture §3, takes a map
version for every incident it changes (so the public changes feed sees it) and appends one
`ModerationEvent` per incident it touches, in the same transaction as the change.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from geo.area import deployment_area_contains
from incidents import conf as incidents_conf
from incidents import queue as incident_queue
from incidents import services as incident_services
from incidents.errors import DomainError
from incidents.models import (
    ACTIVE_STATUSES,
    ENDED_STATUSES,
    Incident,
    InvalidTransition,
    Report,
    ReportState,
    Source,
    Status,
    Vote,
    check_transition,
)
from incidents.public.status import status_of
from incidents.services import Audit
from moderation import conf
from trust.models import TrustedReport

logger = logging.getLogger(__name__)

MAX_NOTE = 1000
MAX_REASON = 1000
BULK_LIMIT = 200


# --- helpers -------------------------------------------------------------------------------------


def _require_moderator(actor: Any) -> None:
    if not conf.is_moderator(actor):
        raise DomainError("forbidden", _("Only moderators may do this."), status_code=403)


def _locked(incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None:
        raise DomainError("not_found", _("There is no such incident."), status_code=404)
    return incident


def _refused(exc: InvalidTransition) -> DomainError:
    return DomainError(
        "invalid_transition",
        _("An incident cannot go from %(current)s to %(target)s.") % {"current": exc.current, "target": exc.target},
        status_code=409,
    )


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise DomainError("reason_required", _("Give a reason; it goes into the audit log."), field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(
            "too_long", _("The reason is limited to %(n)d characters.") % {"n": MAX_REASON}, field="reason"
        )
    return reason


def _point_dict(point: Point | None) -> dict[str, float] | None:
    return None if point is None else {"lon": round(point.x, 6), "lat": round(point.y, 6)}


def _checked_point(point: Point) -> Point:
    point = Point(point.x, point.y, srid=4326)
    if not (-180 <= point.x <= 180 and -90 <= point.y <= 90) or not deployment_area_contains(point):
        raise DomainError("outside_area", _("The point is outside the area this service covers."), field="point")
    return point


def _recount(incident: Incident) -> None:
    incident_services.incident_recount(incident)


def _snapshot(incident: Incident) -> dict[str, Any]:
    return {
        "status": incident.status,
        "reporters": incident.reporters,
        "point": _point_dict(incident.point),
        "expires_at": incident.expires_at.isoformat(),
    }


# --- status --------------------------------------------------------------------------------------


def _transition(*, incident_id: int, status: str, moderator: Any, reason: str, now: datetime | None) -> Incident:
    _require_moderator(moderator)
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise DomainError("not_found", _("There is no such incident."), status_code=404)
    try:
        return incident_services.incident_transition(
            incident=incident, status=status, actor=moderator, reason=reason, now=now
        )
    except InvalidTransition as exc:
        raise _refused(exc) from None


def incident_verify(*, incident_id: int, moderator: Any, reason: str = "", now: datetime | None = None) -> Incident:
    """Verify an unverified, live incident (architecture §3); its confidence gets the verified floor."""
    return _transition(
        incident_id=incident_id,
        status=Status.VERIFIED,
        moderator=moderator,
        reason=_reason(reason, required=False),
        now=now,
    )


def incident_reject(*, incident_id: int, moderator: Any, reason: str, now: datetime | None = None) -> Incident:
    """Reject a live incident as false or mistaken. A reason is required; it is kept in the audit log."""
    return _transition(
        incident_id=incident_id,
        status=Status.REJECTED,
        moderator=moderator,
        reason=_reason(reason, required=True),
        now=now,
    )


def incident_clear(*, incident_id: int, moderator: Any, reason: str = "", now: datetime | None = None) -> Incident:
    """Close a live incident that is no longer there."""
    return _transition(
        incident_id=incident_id,
        status=Status.CLEARED,
        moderator=moderator,
        reason=_reason(reason, required=False),
        now=now,
    )


def _kept(incident: Incident) -> dict[str, Any]:
    return {
        "reported_gone": incident.reported_gone,
        "contested": incident.contested,
        "last_confirmed_at": incident.last_confirmed_at.isoformat(),
        "expires_at": incident.expires_at.isoformat(),
    }


def incident_keep(
    *, incident_id: int, moderator: Any, reason: str = "", contested: bool = False, now: datetime | None = None
) -> Incident:
    """A moderator confirms a live incident is still there: its `reported_gone` flag is cleared (and, with
    `contested`, its `contested` flag), and it counts as confirmed now, so that the "gone" answers already
    counted cannot raise the flag again; only fresh ones can (architecture §3). Refused (409) if there is no
    flag to clear. The sources' own answers and counts stay as they are."""
    _require_moderator(moderator)
    reason = _reason(reason, required=False)
    now = now or timezone.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        if status_of(incident, now) not in ACTIVE_STATUSES:
            raise DomainError(
                "incident_ended", _("This incident has ended; there is nothing to keep."), status_code=409
            )
        if not incident.reported_gone and not (contested and incident.contested):
            raise DomainError(
                "nothing_to_keep",
                _("This incident is not reported gone or contested; there is nothing to clear."),
                status_code=409,
            )
        before = _kept(incident)
        incident.reported_gone = False
        if contested:
            incident.contested = False
        incident.last_confirmed_at = max(incident.last_confirmed_at, now)
        incident.expires_at = max(incident.expires_at, now + incidents_conf.kind_settings(incident.kind).ttl)
        audit = Audit(action="keep", before=before, after=_kept(incident), actor=moderator, reason=reason)
        incident_services.incident_change_record(incident=incident, now=now, audit=audit)
    return incident


def incidents_bulk(
    *, incident_ids: Iterable[int], action: str, moderator: Any, reason: str = "", now: datetime | None = None
) -> list[Incident]:
    """Verify or reject several incidents at once, all or none: one refusal rolls back the others."""
    _require_moderator(moderator)
    ids = sorted({int(pk) for pk in incident_ids})
    if not ids:
        raise DomainError("no_incidents", _("Choose at least one incident."), field="incidents")
    if len(ids) > BULK_LIMIT:
        raise DomainError("too_many", _("At most %(n)d incidents at once.") % {"n": BULK_LIMIT}, field="incidents")
    actions = {"verify": incident_verify, "reject": incident_reject}
    if action not in actions:
        raise DomainError("unknown_action", _("Bulk actions are verify and reject."), field="action")
    done = []
    with transaction.atomic():
        for pk in ids:
            try:
                done.append(actions[action](incident_id=pk, moderator=moderator, reason=reason, now=now))
            except DomainError as exc:
                raise DomainError(
                    exc.code, f"#{pk}: {exc.detail}", field=exc.field, status_code=exc.status_code
                ) from None
    return done


# --- content -------------------------------------------------------------------------------------


def incident_move(
    *, incident_id: int, moderator: Any, point: Point, reason: str = "", now: datetime | None = None
) -> Incident:
    """Move a live incident's point (inside the deployment area). Ended incidents stay where they ended."""
    _require_moderator(moderator)
    point = _checked_point(point)
    reason = _reason(reason, required=False)
    now = now or timezone.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        if status_of(incident, now) not in ACTIVE_STATUSES:
            raise DomainError("incident_ended", _("This incident has ended; it cannot be moved."), status_code=409)
        before = _point_dict(incident.point)
        incident.point = point
        audit = Audit(
            action="move", before={"point": before}, after={"point": _point_dict(point)}, actor=moderator, reason=reason
        )
        incident_services.incident_change_record(incident=incident, now=now, audit=audit)
        # The place name follows the point, looked up by a worker outside this transaction.
        transaction.on_commit(partial(incident_queue.enqueue_describe_incident, incident.pk))
    return incident


def incident_note(*, incident_id: int, moderator: Any, note: str, now: datetime | None = None) -> Incident:
    """Write the public note of an incident (plain text, at most 1000 characters; empty removes it)."""
    _require_moderator(moderator)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError("too_long", _("The note is limited to %(n)d characters.") % {"n": MAX_NOTE}, field="note")
    now = now or timezone.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        if incident.note == note:
            return incident
        before = incident.note
        incident.note = note
        audit = Audit(action="note", before={"note": before}, after={"note": note}, actor=moderator)
        incident_services.incident_change_record(incident=incident, now=now, audit=audit)
    return incident


# --- merge and split -----------------------------------------------------------------------------


def incidents_merge(
    *, incident_ids: Iterable[int], moderator: Any, reason: str = "", now: datetime | None = None
) -> Incident:
    """Merge two incidents of one kind into the older one (the lower id, which stays stable).

    The survivor must be live. Reports and the votes of devices it has not heard from move to it; its
    counts, span and expiry are recomputed. The absorbed incident becomes a tombstone: `merged_into`
    points at the survivor and, since only ended statuses may follow (architecture §3), a live one is
    `rejected` with the reason "merged into #N"; one already ended keeps its status. Both take a
    version, so the changes feed shows the tombstone and the grown survivor.
    """
    _require_moderator(moderator)
    ids = sorted({int(pk) for pk in incident_ids})
    if len(ids) != 2:
        raise DomainError("two_incidents", _("Choose exactly two different incidents to merge."), field="incidents")
    reason = _reason(reason, required=False)
    now = now or timezone.now()
    with transaction.atomic():
        survivor, absorbed = (_locked(pk) for pk in ids)
        if survivor.kind != absorbed.kind:
            raise DomainError("kind_mismatch", _("Only incidents of the same kind can be merged."), status_code=409)
        if absorbed.merged_into_id is not None:
            raise DomainError("already_merged", _("#%(id)d was already merged.") % {"id": absorbed.pk}, status_code=409)
        if status_of(survivor, now) not in ACTIVE_STATUSES:
            raise DomainError(
                "incident_ended",
                _("The older incident #%(id)d has ended, and ended incidents cannot come back.") % {"id": survivor.pk},
                status_code=409,
            )
        before_survivor, before_absorbed = _snapshot(survivor), _snapshot(absorbed)
        moved = Report.objects.filter(incident=absorbed).update(incident=survivor)
        known = set(survivor.votes.values_list("voter_key", flat=True))
        Vote.objects.filter(incident=absorbed).exclude(voter_key__in=known).update(incident=survivor)
        # Its sources too. Tags are per incident, so a network that reached both may count twice: the
        # moderator's judgement that the two are one thing stands in for the check (architecture §8.6).
        tags = set(survivor.source_rows.values_list("tag", flat=True))
        Source.objects.filter(incident=absorbed).exclude(tag__in=tags).update(incident=survivor)
        _recount(survivor)
        survivor.first_reported_at = min(survivor.first_reported_at, absorbed.first_reported_at)
        survivor.last_confirmed_at = max(survivor.last_confirmed_at, absorbed.last_confirmed_at)
        survivor.expires_at = max(survivor.expires_at, absorbed.expires_at)
        survivor.burst = survivor.burst or absorbed.burst
        survivor.contested = survivor.contested or absorbed.contested
        survivor.trusted = survivor.trusted or absorbed.trusted
        survivor.reported_gone = survivor.reported_gone or absorbed.reported_gone
        if not survivor.note:
            survivor.note = absorbed.note
        incident_services.incident_change_record(
            incident=survivor,
            now=now,
            audit=Audit(
                action="merge",
                before=before_survivor,
                after={**_snapshot(survivor), "absorbed": absorbed.pk, "reports_moved": moved},
                actor=moderator,
                reason=reason or f"absorbed #{absorbed.pk}",
            ),
        )

        tombstone_reason = f"merged into #{survivor.pk}"
        if absorbed.status in ACTIVE_STATUSES:
            check_transition(absorbed.status, Status.REJECTED)
            absorbed.status = Status.REJECTED
        absorbed.merged_into = survivor
        # The tombstone keeps the counts the public knew it by, so it stays visible as ended where it was
        # visible, and clients that kept a copy learn that it ended.
        incident_services.incident_change_record(
            incident=absorbed,
            now=now,
            audit=Audit(
                action="merged",
                before=before_absorbed,
                after={**_snapshot(absorbed), "merged_into": survivor.pk},
                actor=moderator,
                reason=f"{tombstone_reason}: {reason}" if reason else tombstone_reason,
            ),
        )
    return survivor


def report_split(
    *, report_id: uuid.UUID | str, moderator: Any, reason: str = "", now: datetime | None = None
) -> Incident:
    """Take a report out of its incident into a new unverified incident at the report's point.

    The incident must keep at least one other report. Both incidents are recounted and take a version.
    """
    _require_moderator(moderator)
    reason = _reason(reason, required=False)
    now = now or timezone.now()
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.incident_id is None or report.point is None:
            raise DomainError("not_found", _("There is no such report on the map."), status_code=404)
        source = _locked(report.incident_id)
        if Report.objects.filter(incident=source).count() < 2:
            raise DomainError(
                "last_report", _("This is the incident's only report; there is nothing to split."), status_code=409
            )
        before = _snapshot(source)
        ttl = incidents_conf.kind_settings(report.kind).ttl
        created = Incident(
            kind=report.kind,
            point=report.point,
            status=Status.UNVERIFIED,
            first_reported_at=report.observed_at,
            last_confirmed_at=report.observed_at,
            expires_at=report.observed_at + ttl,
            reporters=1,
            created_at=now,
        )
        incident_services.incident_change_record(incident=created, now=now, insert=True)
        Report.objects.filter(pk=report.pk).update(incident=created)
        _recount(source)
        incident_services.incident_change_record(
            incident=source,
            now=now,
            audit=Audit(
                action="split",
                before=before,
                after={**_snapshot(source), "split_into": created.pk, "report": str(report.pk)},
                actor=moderator,
                reason=reason,
            ),
        )
        # The new incident's own entry, after the source's: its change was recorded when it was inserted.
        incident_services.incident_audit_record(
            incident=created,
            action="split_from",
            before={"incident": source.pk, "report": str(report.pk)},
            after=_snapshot(created),
            actor=moderator,
            reason=reason,
            now=now,
        )
    return created


def report_place(*, report_id: uuid.UUID | str, moderator: Any, point: Point, now: datetime | None = None) -> Report:
    """Put an unlocatable report on the map at `point`, then process it like any located report."""
    _require_moderator(moderator)
    point = _checked_point(point)
    now = now or timezone.now()
    claimed = Report.objects.filter(pk=report_id, state=ReportState.UNLOCATABLE).update(
        state=ReportState.RECEIVED, point=point
    )
    if not claimed:
        raise DomainError(
            "not_unlocatable", _("Only a report that could not be located can be placed."), status_code=409
        )
    report = incident_services.report_process(report_id=report_id, now=now)
    if report is None or report.incident is None:  # pragma: no cover - processing a located report always places it
        raise DomainError("not_found", _("There is no such report."), status_code=404)
    incident_services.incident_audit_record(
        incident=report.incident,
        action="place",
        before={"report": str(report.pk), "state": ReportState.UNLOCATABLE},
        after={"report": str(report.pk), "state": report.state, "point": _point_dict(point)},
        actor=moderator,
        now=now,
    )
    return report


def report_correct(
    *,
    report_id: uuid.UUID | str,
    moderator: Any,
    kind: str,
    point: Point | None = None,
    observed_at: datetime | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Report:
    """Correct what was understood of a report (its kind, its place, when it was seen) and process it again,
    so that it joins the incident it belongs to (`report_process`), audited on both incidents.

    The report leaves its incident first (`report_detach`: an unverified incident left without reports is
    rejected); with its kind and point unchanged it stays and only the time is corrected. A report without
    a point needs one. Withdrawn and spam reports are not corrected. Its source was spent when it was first
    processed (architecture §8.6): the corrected report counts as a reporter, not as a new source."""
    _require_moderator(moderator)
    reason = _reason(reason, required=False)
    if kind not in incidents_conf.KINDS:
        raise DomainError("unknown_kind", _("Choose a kind from the list."), field="kind")
    if point is not None:
        point = _checked_point(point)
    now = now or timezone.now()
    if observed_at is not None and observed_at > now:
        raise DomainError("in_future", _("The time seen cannot be in the future."), field="observed_at")
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise DomainError("not_found", _("There is no such report."), status_code=404)
        if report.state in (ReportState.SPAM, ReportState.WITHDRAWN):
            raise DomainError("not_correctable", _("A withdrawn or spam report cannot be corrected."), status_code=409)
        point = point or report.point
        if point is None:
            raise DomainError("no_location", _("Put the point on the map or type its coordinates."), field="point")
        before = {
            "report": str(report.pk),
            "kind": report.kind,
            "point": _point_dict(report.point),
            "observed_at": report.observed_at.isoformat(),
            "incident": report.incident_id,
        }
        observed_at = observed_at or report.observed_at
        after = {**before, "kind": kind, "point": _point_dict(point), "observed_at": observed_at.isoformat()}
        same_place = report.point is not None and point.equals_exact(report.point, 1e-9)
        if report.incident_id is not None and kind == report.kind and same_place:
            Report.objects.filter(pk=report.pk).update(observed_at=observed_at)
            incident = _locked(report.incident_id)
            _recount(incident)
            incident_services.incident_change_record(
                incident=incident,
                now=now,
                audit=Audit(action="correct", before=before, after=after, actor=moderator, reason=reason),
            )
            report.refresh_from_db()
            return report
        incident_services.report_detach(report=report, now=now, action="correct_out", actor=moderator, reason=reason)
        Report.objects.filter(pk=report.pk).update(
            kind=kind, point=point, observed_at=observed_at, state=ReportState.RECEIVED, processed_at=None
        )
    # Outside the transaction: naming a new incident may ask the geocoder.
    processed = incident_services.report_process(report_id=report_id, now=now)
    if processed is None or processed.incident is None:  # pragma: no cover - a located report is always placed
        raise DomainError("not_found", _("There is no such report."), status_code=404)
    after["incident"] = processed.incident_id
    incident_services.incident_audit_record(
        incident=processed.incident,
        action="correct",
        before=before,
        after=after,
        actor=moderator,
        reason=reason,
        now=now,
    )
    return processed


# --- retention -----------------------------------------------------------------------------------


def reports_purge_retained(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Remove raw report data (architecture §6.8) RETENTION_DAYS after it stopped being needed.

    Purged: the description and typed place, the device hash, the photo file and the link to a trusted
    reporter who sent it. When: the report's
    incident ended (or, read-time, expired) at least RETENTION_DAYS ago, or the report never reached an
    incident (spam, unlocatable) and arrived that long ago. The report row, its point and times stay
    for the counts and the audit log. Returns how many reports were purged.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.retention_days())
    ended = Q(incident__status__in=ENDED_STATUSES, incident__updated_at__lte=cutoff) | Q(
        incident__status__in=ACTIVE_STATUSES, incident__expires_at__lte=cutoff
    )
    orphaned = Q(incident__isnull=True, received_at__lte=cutoff) & ~Q(state=ReportState.RECEIVED)
    total = 0
    while True:
        batch = list(Report.objects.filter(purged_at__isnull=True).filter(ended | orphaned).order_by("pk")[:batch_size])
        if not batch:
            break
        for report in batch:
            if report.photo:
                report.photo.delete(save=False)
        ids = [report.pk for report in batch]
        Report.objects.filter(pk__in=ids).update(
            description="", place_text="", reporter_key=None, photo="", photo_approved=False, purged_at=now
        )
        TrustedReport.objects.filter(report_id__in=ids).delete()  # which trusted reporter sent it
        total += len(batch)
        if len(batch) < batch_size:
            break
    if total:
        logger.info("purged raw data of %d reports past retention", total)
    return total
