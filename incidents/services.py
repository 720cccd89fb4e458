"""Every write of the domain. Views, API views, tasks and commands call these and nothing else."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Case, Count, Min, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from geo.area import deployment_area_contains
from geo.geocoding import describe, locate, lookups_are_local, parse_coordinates
from geo.spatial import bbox_around
from incidents import abuse, conf, events, mapversion
from incidents.errors import DomainError
from incidents.keys import device_key, source_tag
from incidents.models import (
    ACTIVE_STATUSES,
    Counter,
    Incident,
    ModerationEvent,
    Report,
    ReportState,
    Source,
    Status,
    Vote,
    check_transition,
)
from incidents.photos import photo_clean
from incidents.public.status import is_live, is_published, live_q, published_q, status_of, unrecorded_expiry_q
from incidents.queue import enqueue_process_report
from trust import services as trust_services
from trust.models import TrustedReport

logger = logging.getLogger(__name__)

MAP_COUNTER = "map"
MAX_DESCRIPTION = 500
MAX_PLACE_TEXT = 200


# --- helpers -------------------------------------------------------------------------------------


def next_versions(count: int = 1) -> int:
    """Take `count` new map versions and return the highest.

    One counter row orders every public change: a transaction that takes a version holds the row
    until it commits, so versions become visible in the order they were taken.
    """
    sql = f"UPDATE {Counter._meta.db_table} SET value = value + %s WHERE name = %s RETURNING value"
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, MAP_COUNTER])
        row = cursor.fetchone()
        if row is None:  # the migration creates the row; this covers a database emptied by hand
            Counter.objects.get_or_create(name=MAP_COUNTER)
            cursor.execute(sql, [count, MAP_COUNTER])
            row = cursor.fetchone()
    version = int(row[0])
    # Readers ask Redis whether the map changed (ETags, 304s): tell it once this version is visible.
    transaction.on_commit(lambda: mapversion.publish(version))
    return version


def _merge_lock(kind: str) -> None:
    """Serialise merges of one kind so that two reports of one thing never open two incidents."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x414C, conf.KINDS.index(kind)])
    # SpatiaLite: transactions begin IMMEDIATE (see settings), which already serialises writers.


def confidence_for(incident: Incident) -> float:
    """How sure we are, 0–1, from independent sources, never from devices (architecture §3): each source
    that reported it and still stands by it counts one, a source that only answered "still there" counts a
    half, each source whose latest answer is "gone" lowers it; reporters arriving in a burst from few
    networks scale it by BURST_CONFIDENCE_FACTOR; a trusted reporter's report and a moderator's
    verification set floors; a rejection makes it 0."""
    if incident.status == Status.REJECTED:
        return 0.0
    evidence = incident.sources_confirming + 0.5 * incident.sources_vouching
    score = 0.85 * (1 - 0.5**evidence)
    score *= 0.75**incident.sources_gone
    if incident.burst:
        score *= conf.burst_confidence_factor()
    gone = min(incident.sources_gone, 3)
    if incident.trusted:
        score = max(score, 0.9 - 0.1 * gone)
    if incident.verified_at is not None:
        score = max(score, 0.95 - 0.1 * gone)
    return round(min(max(score, 0.0), 1.0), 2)


@dataclass(frozen=True)
class Audit:
    """The audit entry of a change: what was done, the values it changed before and after, by whom and why."""

    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    actor: Any = None
    reason: str = ""


def incident_change_record(
    *, incident: Incident, now: datetime, insert: bool = False, unseen: bool = False, audit: Audit | None = None
) -> Incident:
    """Record a change made to `incident` in memory: recompute its confidence and save it (insert it when
    `insert`; `unseen`: it was saved in this transaction, before anything public was made of it); when
    the public can see the change (`events.is_public_change`: it becomes or stops being public, or its
    public Feature differs), also set `updated_at` to `now`, take a new map version and
    append the public event the change makes. Given `audit`, append its ModerationEvent. All in one
    transaction (the caller's, when there is one), so no change is ever saved without its version, its
    event and its audit entry.

    A private change (a single report under `corroborated`, a burst check or a moderator's work on an
    incident nobody can see) takes no version: every public answer, ETags included, stays byte for byte
    the same (architecture §8.2).

    `audit.after` is the caller's: a value this computes (confidence) must come from `confidence_for`.
    """
    # No savepoint inside the caller's transaction: a failure here rolls the caller's change back too.
    with transaction.atomic(savepoint=False):
        before = None if insert or unseen else events.seen(incident.pk, now=now)
        incident.confidence = confidence_for(incident)
        public = events.is_public_change(before, incident, now=now)
        if public:
            incident.version = next_versions()
        if public or not is_published(incident):
            # Unseen while unpublished; on a published incident it moves with what the public sees only.
            incident.updated_at = now
        incident.save(force_insert=insert)
        if public:
            events.record(incident=incident, before=before, now=now)
        if audit is not None:
            incident_audit_record(
                incident=incident,
                action=audit.action,
                before=audit.before,
                after=audit.after,
                actor=audit.actor,
                reason=audit.reason,
                now=now,
            )
    return incident


def incident_audit_record(
    *, incident: Incident, action: str, before: dict, after: dict, actor: Any = None, reason: str = "", now: datetime
) -> ModerationEvent:
    """Append an audit entry for an incident without changing it (the audit log is append-only: entries
    are never edited). For an entry that goes with a change, pass `audit` to `incident_change_record`."""
    return ModerationEvent.objects.create(
        incident=incident, actor=actor, action=action, before=before, after=after, reason=reason, created_at=now
    )


# --- reports -------------------------------------------------------------------------------------


def _check_point(point: Point, field: str) -> None:
    lon, lat = point.x, point.y
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        hint = ""
        if -90 <= lon <= 90 and -180 <= lat <= 180:
            hint = " " + _("GeoJSON puts longitude first: [lon, lat].")
        raise DomainError(
            "invalid_location",
            _("Longitude must be within ±180 and latitude within ±90; got [%(lon)s, %(lat)s].")
            % {"lon": lon, "lat": lat}
            + hint,
            field=field,
        )
    if not deployment_area_contains(point):
        swapped = Point(lat, lon, srid=4326)
        if -180 <= lat <= 180 and -90 <= lon <= 90 and deployment_area_contains(swapped):
            raise DomainError(
                "outside_area",
                _(
                    "[%(lon)s, %(lat)s] is outside the area this service covers, but [%(lat)s, %(lon)s] is inside: "
                    "GeoJSON puts longitude first, [lon, lat]."
                )
                % {"lon": lon, "lat": lat},
                field=field,
            )
        raise DomainError(
            "outside_area",
            _("[%(lon)s, %(lat)s] is outside the area this service covers.") % {"lon": lon, "lat": lat},
            field=field,
        )


def report_submit(
    *,
    client_id: uuid.UUID,
    kind: str,
    point: Point | None = None,
    place_text: str = "",
    accuracy_m: float | None = None,
    observed_at: datetime | None = None,
    description: str = "",
    channel: str = "api",
    device: str | None = None,
    photo: File | None = None,
    source: str | None = None,
    spam: bool = False,
    unplaced: bool = False,
    now: datetime | None = None,
) -> tuple[Report, bool]:
    """Accept one report, or return the one already accepted under the same `client_id`.

    Rules: a known kind; a point (or typed coordinates) inside the deployment area, or a place name
    to geocode later; observed no later than now (a few minutes of phone clock skew are forgiven)
    and no earlier than REPORT_MAX_AGE_HOURS ago; description at most 500 characters. Processing is
    enqueued after commit; if the broker is down the sweeper picks the report up later.
    A photo is re-encoded with no metadata at all (architecture §6.3) and stored only with a new report.
    `source` (the network's pseudonym, from `abuse.report_guard`) waits in Redis, never in the database,
    for the worker to count the report's independent source. `spam` (the HTML form's honeypot was
    filled) keeps the report as `spam` for moderators, never processed nor public, and purged like any
    report without an incident. `unplaced` (a text message whose kind could not be understood) keeps it
    `unlocatable` at once, for a moderator to read and place, never placed by the worker. Returns
    (report, created).
    """
    now = now or timezone.now()
    # Before the replay: a client_id sent again with a kind that is none is refused, not answered as the first.
    if kind not in conf.KINDS:
        raise DomainError(
            "unknown_kind",
            _("Unknown kind %(kind)r; use one of %(kinds)s.") % {"kind": kind, "kinds": ", ".join(conf.KINDS)},
            field="kind",
        )
    existing = Report.objects.filter(client_id=client_id).first()
    if existing is not None:
        return existing, False

    place_text = (place_text or "").strip()
    if len(place_text) > MAX_PLACE_TEXT:
        raise DomainError(
            "too_long", _("The place is limited to %(n)d characters.") % {"n": MAX_PLACE_TEXT}, field="place"
        )
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(
            "too_long",
            _("The description is limited to %(n)d characters.") % {"n": MAX_DESCRIPTION},
            field="description",
        )
    if point is None and place_text:
        point = parse_coordinates(place_text)
        if point is not None:
            _check_point(point, "place")
    elif point is not None:
        point = Point(point.x, point.y, srid=4326)
        _check_point(point, "location")
    if point is None and not place_text:
        raise DomainError("no_location", _("Give a location or type the name of the place."), field="location")
    if accuracy_m is not None and not (0 <= accuracy_m <= 100_000):
        raise DomainError("invalid", _("accuracy_m must be between 0 and 100000 metres."), field="accuracy_m")

    if observed_at is None:
        observed_at = now
    if timezone.is_naive(observed_at):
        observed_at = observed_at.replace(tzinfo=UTC)
    if observed_at > now + conf.CLOCK_SKEW:
        raise DomainError("in_future", _("observed_at is in the future; check the phone's clock."), field="observed_at")
    observed_at = min(observed_at, now)
    max_age = conf.report_max_age()
    if observed_at < now - max_age:
        hours = int(max_age.total_seconds() // 3600)
        raise DomainError(
            "too_old",
            _("Reports older than %(hours)d hours are not accepted; they would be out of date.") % {"hours": hours},
            field="observed_at",
        )

    photo_file = photo_clean(photo) if photo is not None else None
    trusted_by = None if spam else trust_services.trusted_reporter(device)
    report = Report(
        client_id=client_id,
        kind=kind,
        point=point,
        place_text=place_text,
        accuracy_m=accuracy_m,
        observed_at=observed_at,
        received_at=now,
        description=description,
        channel=channel,
        reporter_key=device_key(device),
        photo=photo_file,
        state=ReportState.SPAM if spam else ReportState.UNLOCATABLE if unplaced else ReportState.RECEIVED,
        processed_at=now if unplaced and not spam else None,
    )
    try:
        with transaction.atomic():
            report.save(force_insert=True)
            if trusted_by is not None:
                trust_services.report_mark(report_id=report.pk, reporter=trusted_by)
    except IntegrityError:
        report.photo.delete(save=False)  # the row was not written: neither is its photo
        # A concurrent duplicate won the race on the unique client_id: answer with it.
        existing = Report.objects.filter(client_id=client_id).first()
        if existing is None:
            raise
        return existing, False
    except BaseException:
        report.photo.delete(save=False)
        raise

    if spam or unplaced:
        return report, True
    abuse.report_source_remember(report_id=report.pk, source=source)
    transaction.on_commit(lambda: enqueue_process_report(report.pk))
    return report, True


def report_process(
    *, report_id: uuid.UUID | str, now: datetime | None = None, geocode_fallback: bool = False
) -> Report | None:
    """Place a received report on the map: join the nearest active incident of its kind within the
    kind's merge radius, or open a new one (architecture §3). A report with only place text is geocoded
    first; one that no place or several places could match, or that lands outside the deployment
    area, becomes `unlocatable`. A new incident is named by reverse geocoding its point.

    Safe to run twice: the report is claimed by a conditional update inside the same transaction as
    the merge, so a second run (or a run after a crash) finds it already processed or untouched.
    Geocoding happens before the transaction, never inside it; its network errors (geopy's) reach the
    caller to retry, unless `geocode_fallback` lets the offline gazetteer answer instead.
    """
    report = Report.objects.filter(pk=report_id).first()
    if report is None or report.state != ReportState.RECEIVED:
        return report

    point = report.point
    if point is None:
        point = locate(report.place_text, fallback=geocode_fallback)
        if point is None or not deployment_area_contains(point):
            Report.objects.filter(pk=report.pk, state=ReportState.RECEIVED).update(
                state=ReportState.UNLOCATABLE, processed_at=now or timezone.now()
            )
            abuse.report_source_forget(report_id=report.pk)
            report.refresh_from_db()
            return report
    # A remote geocoder is asked only for a point whose incident has no name yet; the gazetteer answers
    # faster than the question could be put to the database.
    if not lookups_are_local() and _place_known_near(kind=report.kind, point=point):
        place = ""
    else:
        place = describe(point, fallback=geocode_fallback)
    source = abuse.report_source_peek(report_id=report.pk)

    with transaction.atomic():
        _merge_lock(report.kind)
        now = now or timezone.now()
        claimed = Report.objects.filter(pk=report.pk, state=ReportState.RECEIVED).update(
            state=ReportState.PROCESSED, point=point, processed_at=now
        )
        if not claimed:
            report.refresh_from_db()
            abuse.report_source_forget(report_id=report.pk)
            return report
        incident = _incident_for(kind=report.kind, point=point, now=now)
        if incident is None:
            incident = _incident_reopen(kind=report.kind, point=point, now=now)
        if incident is None:
            incident = _incident_open(report=report, point=point, now=now, place=place)
        Report.objects.filter(pk=report.pk).update(incident=incident)
        _incident_join(incident=incident, report=report, source=source, now=now, place=place)
    # Forgotten once the join is committed (a failure before leaves it for the retry).
    abuse.report_source_forget(report_id=report.pk)
    # What the updates above wrote, without reading the row again.
    report.state, report.point, report.processed_at, report.incident = ReportState.PROCESSED, point, now, incident
    return report


def _source_answer(*, incident: Incident, source: str | None, now: datetime, reported: bool, gone: bool) -> bool:
    """Record what the source `source` (a network's pseudonym) says of `incident`; True if it carries weight.

    One row per source and incident (`Source`, under the incident's tag for it): a network is one source
    however many devices it carries. A source new to the incident (or one that had none) gains weight only
    within its network's reach (`abuse.reach_take`); without a source (Redis was down, or no network is
    known) nothing is recorded and nothing weighs."""
    if source is None:
        return False
    tag = source_tag(source, incident.pk)
    row = Source.objects.filter(incident=incident, tag=tag).first()
    if row is None:
        row = Source(incident=incident, tag=tag, weighted=False)
    if not row.weighted:
        row.weighted = abuse.reach_take(source=source, incident_id=incident.pk, now=now)
    row.reported = row.reported or reported
    if gone:
        row.gone_at = now
    else:
        row.confirmed_at = now
    row.save()
    return row.weighted


def incident_sources_recount(incident: Incident) -> None:
    """Set the incident's source counts from its weighted Source rows (see the fields on `Incident`).

    A network reports through at least one report, so no more sources reported it than it has reporters
    (`reporters` counts each report without a device as one): after a moderator splits reports off, whose
    sources cannot be told (architecture §8.6), the counts are held to what remains."""
    confirming = vouching = gone = reported = 0
    for row in incident.source_rows.filter(weighted=True):
        reported += row.reported
        if row.says_gone:
            gone += 1
        elif row.reported:
            confirming += 1
        else:
            vouching += 1
    incident.sources = min(reported, incident.reporters)
    incident.sources_confirming = min(confirming, incident.sources)
    incident.sources_vouching, incident.sources_gone = vouching, gone


def _disputed(incident: Incident) -> bool:
    """A confirmation now, while some weighted source's latest answer is "gone": people disagree."""
    return any(row.says_gone for row in incident.source_rows.filter(weighted=True))


def _burst_seen(*, incident: Incident, at: datetime, now: datetime) -> tuple[int, int]:
    """Distinct reporters (devices; a report without one is its own) and distinct sources (weighted or not)
    of the incident within the BURST window that ends at `at`, as the database holds them."""
    window = conf.burst_window()
    keys = Report.objects.filter(incident=incident, received_at__gt=at - window, received_at__lte=at).values_list(
        "reporter_key", "pk"
    )
    reporters = len({key or pk for key, pk in keys})
    since = now - window
    networks = incident.source_rows.filter(Q(confirmed_at__gt=since) | Q(gone_at__gt=since)).count()
    return reporters, networks


def _within_merge_radius(*, kind: str, point: Point, condition: Q) -> QuerySet[Incident]:
    """Incidents of `kind` within its merge radius of `point` that meet `condition`."""
    radius = conf.kind_settings(kind).merge_radius_m
    return Incident.objects.filter(
        condition,
        kind=kind,
        point__bboverlaps=bbox_around(point, radius),
        point__distance_lte=(point, D(m=radius)),
    )


def _nearest_locked(*, kind: str, point: Point, condition: Q) -> Incident | None:
    """The nearest incident of `kind` within its merge radius of `point` that meets `condition`, locked."""
    nearest = (
        _within_merge_radius(kind=kind, point=point, condition=condition)
        .annotate(distance=Distance("point", point))
        .order_by("distance", "id")
        .values_list("pk", flat=True)
        .first()
    )
    return None if nearest is None else Incident.objects.select_for_update().get(pk=nearest)


def _incident_for(*, kind: str, point: Point, now: datetime) -> Incident | None:
    return _nearest_locked(kind=kind, point=point, condition=live_q(now))


def _incident_reopen(*, kind: str, point: Point, now: datetime) -> Incident | None:
    """The nearest incident of `kind` that "gone" votes cleared within its time to live, reopened and marked
    contested, with its earlier sources (architecture §3): votes cannot erase a checkpoint that people
    report again. None if there is none; what a moderator ended stays ended."""
    cleared = Q(status=Status.CLEARED, cleared_by_votes=True, merged_into__isnull=True, expires_at__gt=now)
    incident = _nearest_locked(kind=kind, point=point, condition=cleared)
    if incident is None:
        return None
    before = {"status": incident.status, "contested": incident.contested}
    # Not a transition a person can make (architecture §3): only a fresh report undoes a clearing by votes.
    incident.status = Status.UNVERIFIED
    incident.cleared_by_votes = False
    incident.contested = True
    audit = Audit(
        action="reopen",
        before=before,
        after={"status": incident.status, "contested": True},
        reason="reported again within its time to live after votes cleared it",
    )
    return incident_change_record(incident=incident, now=now, audit=audit)


def _place_known_near(*, kind: str, point: Point) -> bool:
    """Whether the incident this point would join already has a name, so that no lookup is spent on it
    (a read before the merge's transaction: at worst a name is looked up and not used)."""
    nearby = _within_merge_radius(kind=kind, point=point, condition=live_q(timezone.now()))
    return nearby.exclude(place="").exists()


def _incident_open(*, report: Report, point: Point, now: datetime, place: str = "") -> Incident:
    """A new incident for `report`, with no reporter yet: `_incident_join` counts the report."""
    ttl = conf.kind_settings(report.kind).ttl
    incident = Incident(
        kind=report.kind,
        point=point,
        place=place[: Incident._meta.get_field("place").max_length],
        status=Status.UNVERIFIED,
        first_reported_at=report.observed_at,
        last_confirmed_at=report.observed_at,
        expires_at=report.observed_at + ttl,
        reporters=0,
        created_at=now,
    )
    # Saved without a change record: the join below records the incident with its first report at once.
    incident.confidence = confidence_for(incident)
    incident.save(force_insert=True)
    incident._inserted = True  # type: ignore[attr-defined]
    return incident


def _incident_join(*, incident: Incident, report: Report, source: str | None, now: datetime, place: str = "") -> None:
    """Count `report` (already linked to `incident`) in it: its device, its source, the flags they raise."""
    ttl = conf.kind_settings(report.kind).ttl
    inserted = getattr(incident, "_inserted", False)
    if not incident.place and place:
        incident.place = place[: Incident._meta.get_field("place").max_length]
    key = report.reporter_key
    counted = (
        key is not None and Report.objects.filter(incident=incident, reporter_key=key).exclude(pk=report.pk).exists()
    )
    if not counted:
        incident.reporters += 1
    incident.first_reported_at = min(incident.first_reported_at, report.observed_at)
    weighted = _source_answer(incident=incident, source=source, now=now, reported=True, gone=False)
    # A trusted reporter's report publishes it at once (architecture §6.9), whatever its network.
    trusted = TrustedReport.objects.filter(report_id=report.pk).exists()
    if trusted:
        incident.trusted = True
    # Only what weighs keeps an incident alive: a network past its reach cannot hold a fake on the map.
    if weighted or trusted:
        if not inserted and _disputed(incident):
            incident.contested = True
        incident.last_confirmed_at = max(incident.last_confirmed_at, report.observed_at)
        incident.expires_at = max(incident.expires_at, report.observed_at + ttl)
    incident_sources_recount(incident)
    audit = None
    if source is not None and not incident.burst and incident.status in ACTIVE_STATUSES:
        reporters, networks = _burst_seen(incident=incident, at=report.received_at, now=now)
        if abuse.is_burst(reporters, networks):
            before = {"burst": False, "contested": incident.contested, "confidence": incident.confidence}
            incident.burst = incident.contested = True
            minutes = int(conf.burst_window().total_seconds() // 60)
            audit = Audit(
                action="burst",
                before=before,
                after={"burst": True, "contested": True, "confidence": confidence_for(incident)},
                reason=f"{reporters} reporters from {networks} networks within {minutes} minutes",
            )
    if inserted:
        # The row exists (the Source rows point at it); record it now as the insert it is to the public.
        incident_change_record(incident=incident, now=now, unseen=True, audit=audit)
    else:
        incident_change_record(incident=incident, now=now, audit=audit)


def incident_recount(incident: Incident) -> None:
    """Distinct reporters, the time span of its reports, its votes and its sources, from what the incident
    holds now (after a merge, a split, a report withdrawn or moved). Not saved: the caller records it."""
    reports = Report.objects.filter(incident=incident)
    span = reports.aggregate(
        keyed=Count("reporter_key", distinct=True),
        unkeyed=Count("id", filter=Q(reporter_key__isnull=True)),
        first=Min("observed_at"),
    )
    incident.reporters = span["keyed"] + span["unkeyed"]
    if span["first"] is not None:
        incident.first_reported_at = span["first"]
    incident.still_there = incident.votes.filter(still_there=True).count()
    incident.gone = incident.votes.filter(still_there=False).count()
    incident_sources_recount(incident)


def report_detach(*, report: Report, now: datetime, action: str, actor: Any = None, reason: str = "") -> None:
    """Take `report` (locked by the caller, inside its transaction) out of its incident, and recount it.

    An unverified incident left with no report at all ends as rejected: nobody reports it any more. A
    verified one stays (a person vouched for it), as does one with other reports. The report's source
    cannot be told from the others' (architecture §8.6): `incident_sources_recount` holds the sources to
    the reporters left."""
    if report.incident_id is None:
        return
    incident = Incident.objects.select_for_update().get(pk=report.incident_id)
    Report.objects.filter(pk=report.pk).update(incident=None)
    report.incident = None
    before = {"status": incident.status, "reporters": incident.reporters}
    incident_recount(incident)
    after: dict[str, Any] = {"reporters": incident.reporters, "report": str(report.pk)}
    if incident.reporters == 0 and status_of(incident, now) == Status.UNVERIFIED:
        check_transition(incident.status, Status.REJECTED)
        incident.status = Status.REJECTED
        after["status"] = incident.status
    incident_change_record(
        incident=incident, now=now, audit=Audit(action=action, before=before, after=after, actor=actor, reason=reason)
    )


def report_withdraw(*, report_id: uuid.UUID | str, now: datetime | None = None) -> Report | None:
    """Withdraw a report at its reporter's request: it leaves its incident (`report_detach`), is never
    processed, and is kept as `withdrawn` (purged like any report without an incident). None if there is
    no such report or it was withdrawn already."""
    now = now or timezone.now()
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.state in (ReportState.WITHDRAWN, ReportState.SPAM):
            return None
        report_detach(report=report, now=now, action="withdraw", reason="withdrawn by its reporter")
        Report.objects.filter(pk=report.pk).update(state=ReportState.WITHDRAWN, processed_at=now)
        report.state, report.processed_at = ReportState.WITHDRAWN, now
    abuse.report_source_forget(report_id=report.pk)
    return report


def report_locate(
    *,
    report_id: uuid.UUID | str,
    point: Point | None = None,
    place_text: str = "",
    description: str = "",
    source: str | None = None,
    ready: bool = True,
) -> Report | None:
    """Give a report kept without a place (`unlocatable`, in no incident) the place its reporter sent
    afterwards: a point, or a place name for the worker to geocode, then process it as any report, with
    `source` counted as `report_submit` counts it. `description`, when given, replaces the report's (the
    text of both messages). Not `ready` (a name nobody can place yet): only the texts are kept, for the
    next try or a moderator. None if the report is gone or no longer waits for a place (a moderator placed
    it, or it was withdrawn); DomainError for a point outside the area."""
    place_text = (place_text or "").strip()[:MAX_PLACE_TEXT]
    if point is not None:
        point = Point(point.x, point.y, srid=4326)
        _check_point(point, "location")
    elif not place_text:
        raise DomainError("no_location", _("Give a location or type the name of the place."), field="location")
    changes: dict[str, Any] = {"state": ReportState.RECEIVED, "processed_at": None, "point": point} if ready else {}
    if place_text:
        changes["place_text"] = place_text
    if description:
        changes["description"] = description.strip()[:MAX_DESCRIPTION]
    claimed = Report.objects.filter(pk=report_id, state=ReportState.UNLOCATABLE, incident__isnull=True).update(
        **changes
    )
    if not claimed:
        return None
    if not ready:
        return Report.objects.filter(pk=report_id).first()
    abuse.report_source_remember(report_id=report_id, source=source)
    transaction.on_commit(lambda: enqueue_process_report(report_id))
    return Report.objects.filter(pk=report_id).first()


def report_requeue_waiting(*, older_than_s: int, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue again the reports still `received` after `older_than_s` seconds (the broker may have lost them)."""
    now = now or timezone.now()
    ids = list(
        Report.objects.filter(state=ReportState.RECEIVED, received_at__lte=now - timedelta(seconds=older_than_s))
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for report_id in ids:
        enqueue_process_report(report_id)
    return len(ids)


# --- incidents -----------------------------------------------------------------------------------


def incident_describe(
    *, incident_id: int, now: datetime | None = None, geocode_fallback: bool = False
) -> Incident | None:
    """Name the place of an incident whose point was moved (a moderator's move keeps the old name until
    this runs). The name is looked up outside any transaction, and written only if the incident is
    still live, still at the point that was named and the name differs; so it is safe to run twice, and
    a second move in between leaves the later run to name it. Geocoding's network errors reach the
    caller to retry, unless `geocode_fallback` lets the offline gazetteer answer."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None or incident.status not in ACTIVE_STATUSES:
        return incident
    point = incident.point
    place = describe(point, fallback=geocode_fallback)
    if not place:
        return incident  # nowhere known: the old name is still the best one there is
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if not is_live(incident, now) or not incident.point.equals_exact(point) or incident.place == place:
            return incident
        incident.place = place
        incident_change_record(incident=incident, now=now)
    return incident


def incident_vote(
    *, incident_id: int, device: str, still_there: bool, source: str | None = None, now: datetime | None = None
) -> Incident:
    """Record one device's "still there" or "gone" for a live incident; its latest vote counts (architecture §3).

    The device's vote is counted in `still_there`/`gone`; what weighs is its network's, `source` (the
    pseudonym from `abuse.vote_guard`): one network is one source, whatever its devices say, and only within
    its reach. A weighted "still there" confirms the incident (moves `last_confirmed_at`, extends expiry).
    "Gone" from at least GONE_SOURCES_TO_CLEAR weighted sources newer than the last confirmation, and from
    no fewer than the sources that confirmed it within its time to live, clears an unverified incident;
    a verified one is only marked `reported_gone`, for a moderator to decide.
    """
    key = device_key(device)
    if key is None:
        raise DomainError("no_device", _("A vote needs the device token of the phone that votes."), field="device")
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None:
            raise DomainError("not_found", _("There is no such incident."), status_code=404)
        if not is_live(incident, now):
            raise DomainError(
                "incident_ended",
                _("This incident has ended; votes are closed. Report it again if it is back."),
                status_code=409,
            )
        Vote.objects.update_or_create(
            incident=incident,
            voter_key=key,
            defaults={"still_there": still_there, "updated_at": now},
            create_defaults={"still_there": still_there, "updated_at": now, "created_at": now},
        )
        incident.still_there = incident.votes.filter(still_there=True).count()
        incident.gone = incident.votes.filter(still_there=False).count()
        weighted = _source_answer(incident=incident, source=source, now=now, reported=False, gone=not still_there)
        trusted = trust_services.trusted_reporter(device)
        ttl = conf.kind_settings(incident.kind).ttl
        audit = None
        if still_there and (weighted or trusted is not None):
            if _disputed(incident):
                incident.contested = True
            incident.last_confirmed_at = max(incident.last_confirmed_at, now)
            incident.expires_at = max(incident.expires_at, now + ttl)
        incident_sources_recount(incident)
        if not still_there and trusted is not None:
            # A trusted reporter's "gone" ends it, verified or not: a person the moderators vouch for saw it.
            before = {"status": incident.status}
            check_transition(incident.status, Status.CLEARED)
            incident.status = Status.CLEARED
            audit = Audit(
                action="clear",
                before=before,
                after={"status": incident.status},
                reason=f"trusted reporter {trusted.label} reported it gone",
            )
        elif not still_there and weighted:
            audit = _gone_judged(incident=incident, now=now, ttl=ttl)
        incident_change_record(incident=incident, now=now, audit=audit)
    return incident


def _gone_judged(*, incident: Incident, now: datetime, ttl: timedelta) -> Audit | None:
    """After a weighted "gone": clear the incident, or mark a verified one `reported_gone`, if the sources
    that say "gone" since its last confirmation are at least GONE_SOURCES_TO_CLEAR and no fewer than those
    that confirmed it within its time to live and stand by it. Returns the audit entry of what it did."""
    rows = list(incident.source_rows.filter(weighted=True))
    gone = sum(1 for row in rows if row.says_gone and row.gone_at and row.gone_at > incident.last_confirmed_at)
    standing = sum(
        1 for row in rows if not row.says_gone and row.confirmed_at is not None and row.confirmed_at >= now - ttl
    )
    if gone < max(conf.gone_sources_to_clear(), standing):
        return None
    if incident.verified_at is None:
        before = {"status": incident.status}
        check_transition(incident.status, Status.CLEARED)
        incident.status = Status.CLEARED
        incident.cleared_by_votes = True
        return Audit(
            action="clear",
            before=before,
            after={"status": incident.status},
            reason=f"{gone} independent sources reported it gone",
        )
    if incident.reported_gone:
        return None
    # Votes never end what a moderator verified (architecture §3): it goes to the top of the queue instead.
    incident.reported_gone = True
    return Audit(
        action="reported_gone",
        before={"reported_gone": False},
        after={"reported_gone": True},
        reason=f"{gone} independent sources reported it gone; it is verified, so a moderator decides",
    )


def incident_transition(
    *, incident: Incident, status: str, actor=None, reason: str = "", now: datetime | None = None
) -> Incident:
    """Move an incident to `status` if architecture §3 allows it (otherwise InvalidTransition), with an audit entry."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        current = locked.status
        # Read-time expiry: an incident past its expiry is already ended to everyone, except to the change
        # that records the expiry itself.
        check_transition(current if status == Status.EXPIRED else status_of(locked, now), status)
        locked.status = status
        if status == Status.VERIFIED:
            locked.verified_at = now
        if status == Status.REJECTED and actor is not None:
            # A moderator found it false: every trusted reporter who reported it has that counted, and shown.
            report_ids = list(Report.objects.filter(incident=locked).values_list("pk", flat=True))
            trust_services.rejections_record(report_ids=report_ids, actor=actor, now=now)
        audit = Audit(action=status, before={"status": current}, after={"status": status}, actor=actor, reason=reason)
        incident_change_record(incident=locked, now=now, audit=audit)
    return locked


def incidents_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Record the end of incidents whose `expires_at` has passed, in batches.

    Reads go through the index on `expires_at` that covers active incidents only, so the cost
    follows the rows ended, not the size of the table. Public reads already treat these incidents
    as ended; this gives them their status and audit entry, and those the public saw a version and an
    `ended` event.
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            candidates = Incident.objects.filter(unrecorded_expiry_q(now)).order_by("expires_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True)
            # Which of them the public saw, by the public list's own rule, for their `ended` events.
            public = Case(When(published_q(), then=Value(True)), default=Value(False), output_field=BooleanField())
            batch = list(candidates.annotate(public=public)[:batch_size])
            if not batch:
                break
            # Only what the public saw takes a version (its tombstone on the changes feed); the rest ends unseen.
            seen = [incident for incident in batch if getattr(incident, "public", False)]
            top = next_versions(len(seen)) if seen else 0
            for offset, incident in enumerate(seen):
                incident.version = top - len(seen) + 1 + offset
            audit = []
            for incident in batch:
                before = incident.status
                check_transition(before, Status.EXPIRED)
                incident.status = Status.EXPIRED
                incident.updated_at = now
                incident.confidence = confidence_for(incident)
                audit.append(
                    ModerationEvent(
                        incident=incident,
                        action="expire",
                        before={"status": before},
                        after={"status": Status.EXPIRED},
                        reason="not confirmed within its time to live",
                        created_at=now,
                    )
                )
            Incident.objects.bulk_update(batch, ["status", "updated_at", "version", "confidence"])
            ModerationEvent.objects.bulk_create(audit)
            events.record_ended(incidents=batch, now=now)
            total += len(batch)
        if len(batch) < batch_size:
            break
    return total
