"""A text message (SMS, Telegram) becomes a normal report, a vote or a help text, and the reply says what was
understood, in the sender's language (architecture §3.1, §6.10).

The sender (a phone number, a Telegram user id) is used within this call only: it becomes the report's
device token (`keys.sender_token`, so `reporter_key` is a keyed hash of a keyed hash) and its independent
source (`sender_source`), and is then dropped. It is never stored, logged, put in a task argument or shown.
Nothing sent is lost: a message whose kind is not understood, or whose place is refused, is kept as an
unlocatable report with its text, for moderators.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.contrib.gis.geos import Point
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.redis import get_redis
from geo.geocoding import locate, lookups_are_local
from incidents import abuse, conf, selectors, services
from incidents.errors import DomainError
from incidents.keys import pending_key, sender_token, source_key
from incidents.models import Kind, Report, ReportState
from messaging import conf as messaging_conf
from messaging.understand import Command, Understood, command, is_noise, understand

logger = logging.getLogger(__name__)

# client_ids of messages are made from the sender's token and the gateway's message id, so that a gateway's
# retry of one message returns the first report.
_CLIENT_ID_NAMESPACE = uuid.UUID("6f1d0c7e-1c5a-4b8e-9a4e-3d2f0a7b9c11")


@dataclass(frozen=True)
class Message:
    channel: str  # the report's channel: "sms" or "telegram"
    gateway: str  # what carried it: "smssync", "twilio", "telegram"
    sender: str  # the phone number or Telegram user id: used here, never kept
    text: str
    message_id: str = ""
    lat_lon: tuple[float, float] | None = None  # a Telegram location


@dataclass(frozen=True)
class Reply:
    text: str
    report_id: uuid.UUID | None = None


def normalised_number(number: str) -> str:
    """One way of writing a phone number, "+<country code><number>", whichever way it came: "+58 414-555
    1234", "0058 4145551234", "58414 5551234", "0414 5551234" and "414 5551234" are one SIM (the last two
    read in MESSAGING_COUNTRY_CODE). A number that already begins with the country code is taken as
    written in full: in Venezuela no national number begins with 58."""
    written = (number or "").strip()
    digits = re.sub(r"\D", "", written)
    code = messaging_conf.country_code()
    if written.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+" + code + digits[1:]
    if digits.startswith(code) and len(digits) > 10:
        return "+" + digits
    return "+" + code + digits if digits else ""


def sender_source(channel: str, sender: str) -> str:
    """What a sender counts as among independent sources (architecture §3.5): for SMS, its number's block
    (the number without its last BLOCK_DIGITS_DROPPED digits: SIM cards bought together come in runs); for
    Telegram, the account. Never the gateway's own address, which is one network for every sender."""
    if channel == "sms":
        digits = normalised_number(sender).lstrip("+")
        block = digits[: -messaging_conf.BLOCK_DIGITS_DROPPED] if len(digits) > 6 else digits
        return source_key(b"sms:" + block.encode())
    return source_key(f"{channel}:{sender}".encode())


def _token(channel: str, sender: str) -> str:
    return sender_token(channel, normalised_number(sender) if channel == "sms" else sender)


# --- what one message leaves for the next --------------------------------------------------------------
# A shared location waiting for the words that say what is there ({"lat_lon": [lat, lon]}), or a report
# waiting for its place ({"report": id, "kind": kind}); under the sender's keyed hash, never the number.


def _pending_set(token: str, value: dict) -> None:
    try:
        get_redis().set(f"alc:msg-pending:{pending_key(token)}", json.dumps(value), ex=messaging_conf.PENDING_TTL_S)
    except redis.RedisError as exc:
        logger.warning("what a message left was not kept, Redis unreachable: %s", exc.__class__.__name__)


def _pending_get(token: str) -> dict:
    try:
        value = get_redis().get(f"alc:msg-pending:{pending_key(token)}")
    except redis.RedisError as exc:
        logger.warning("nothing waiting looked up, Redis unreachable: %s", exc.__class__.__name__)
        return {}
    if not value:
        return {}
    data = json.loads(value)
    return data if isinstance(data, dict) else {"lat_lon": data}


def _pending_clear(token: str) -> None:
    try:
        get_redis().delete(f"alc:msg-pending:{pending_key(token)}")
    except redis.RedisError as exc:
        logger.warning("what a message left was not cleared, Redis unreachable: %s", exc.__class__.__name__)


# --- replies ---------------------------------------------------------------------------------------------


def help_text() -> str:
    return _(
        "Alcabala: write what you see and where, e.g. \u201ccheckpoint GNB at the entrance of Petare 10 min "
        "ago\u201d, or share a map link or your location. STILL N or GONE N says whether incident N is still there "
        "(STILL or GONE alone: the one you reported last); CANCEL withdraws your last report."
    )


def _when(minutes: int | None) -> str:
    if not minutes:
        return _("now")
    if minutes < 120:
        return _("%(n)d min ago") % {"n": minutes}
    return _("%(n)d h ago") % {"n": minutes // 60}


def _understood_reply(kind: str, place: str, minutes: int | None) -> str:
    return _("Received: %(kind)s at %(place)s, %(when)s. Thank you.") % {
        "kind": Kind(kind).label,
        "place": place,
        "when": _when(minutes),
    }


def _ask_place_reply(kind: str, minutes: int | None) -> str:
    return _(
        "Received: %(kind)s, %(when)s, but where? Reply with the place, e.g. \u201c%(example)s\u201d, a map link "
        "or your location."
    ) % {"kind": Kind(kind).label, "when": _when(minutes), "example": _("at the entrance of Petare")}


def _place_not_found_reply(place: str) -> str:
    return _(
        "%(place)s was not found on the map. Reply with a better-known place nearby, a map link or your location."
    ) % {"place": place}


def _incident_line(report: Report) -> str:
    """What the sender may answer later: the incident's number once the public can see it (a number of an
    incident nobody can see yet would tell a prober that somebody else reported there), else the
    number-less commands."""
    if report.incident_id is not None and selectors.incident_public(incident_id=report.incident_id) is not None:
        return " " + _("Incident %(id)d: later, reply STILL %(id)d or GONE %(id)d.") % {"id": report.incident_id}
    return " " + _("Later, reply STILL or GONE about it, or CANCEL to withdraw it.")


# --- the service -----------------------------------------------------------------------------------------


def _observed_at(minutes: int | None, now: datetime) -> datetime:
    if not minutes:
        return now
    # Older than reports may be: taken as the oldest accepted, rather than refusing what the sender saw.
    return now - min(timedelta(minutes=minutes), conf.report_max_age() - timedelta(minutes=1))


def _keep_unplaced(
    *, message: Message, token: str, client_id: uuid.UUID, kind: str | None, now: datetime, minutes: int | None = None
) -> Report:
    report, _created = services.report_submit(
        client_id=client_id,
        kind=kind or messaging_conf.PLACEHOLDER_KIND,
        place_text=message.text[: services.MAX_PLACE_TEXT] or "?",
        description=message.text[: services.MAX_DESCRIPTION],
        observed_at=_observed_at(minutes, now),
        channel=message.channel,
        device=token,
        unplaced=True,
        now=now,
    )
    return report


def _placed_now(report: Report) -> Report:
    """Process the report within the request when the gazetteer answers (microseconds, no network: the
    same `report_process` the worker runs, which then finds it done), so that the reply can give the
    incident. A remote geocoder is left to the worker, and the reply gives no number."""
    if not lookups_are_local() or report.state != ReportState.RECEIVED:
        return report
    return services.report_process(report_id=report.pk) or report


def message_receive(*, message: Message, now: datetime | None = None) -> Reply:
    """Turn one message into a report, a vote, a withdrawal or the help text, and say what was understood.

    Rules: counted against RATE_LIMIT_MESSAGES_PER_SENDER and _PER_GATEWAY (`abuse.message_guard`; past
    them the reply says so and nothing is stored); AYUDA/HELP, and a message of greetings alone
    (`is_noise`), answer the help text and store nothing; SIGUE N / YA NO N / STILL N / GONE N is
    `incident_vote` with the sender's token and source (without N: the incident of the sender's last
    report); BORRAR/CANCELAR/CANCEL withdraws the sender's last report of the last CANCEL_WINDOW_S; a
    location alone waits PENDING_TTL_S for the message that says what is there; a message that gives the
    place a report of the last PENDING_TTL_S was waiting for completes that report; anything else is a
    report through `report_submit` with the sender's source, placed by coordinates, a map link, the
    location, or its place words for the geocoder. The reply asks for the place when none was found, and
    gives the incident's number when it can (`_incident_line`).
    """
    now = now or timezone.now()
    text = (message.text or "").strip()
    understood: Understood = understand(text)
    token = _token(message.channel, message.sender)
    source = sender_source(message.channel, message.sender)
    with translation.override(understood.language):
        try:
            abuse.message_guard(channel=message.gateway, sender=token)
        except abuse.RateLimited as exc:
            return Reply(exc.detail)
        order = command(text)
        if order is not None and order.name == "help":
            return Reply(help_text())
        if order is not None and order.name == "cancel":
            return _cancel(token=token, now=now)
        if order is not None:
            return _vote(order=order, token=token, source=source, now=now)
        waiting = _pending_get(token)
        if message.message_id and waiting.get("completed_by") == message.message_id:
            return Reply(waiting.get("reply", ""))  # a gateway's retry of the message that completed a report
        if waiting.get("report"):
            reply = _complete(message=message, understood=understood, waiting=waiting, token=token, source=source)
            if reply is not None:
                return reply
        if not text and message.lat_lon is None:
            return Reply(help_text())
        if not text and message.lat_lon is not None:
            _pending_set(token, {"lat_lon": list(message.lat_lon)})
            return Reply(_("Location received. What is there? Reply e.g. \u201ccheckpoint\u201d."))
        if message.lat_lon is None and is_noise(text):
            return Reply(help_text())
        shared = waiting.get("lat_lon")
        return _report(
            message=message,
            understood=understood,
            token=token,
            source=source,
            shared=tuple(shared) if shared else None,
            now=now,
        )


def _cancel(*, token: str, now: datetime) -> Reply:
    since = now - timedelta(seconds=messaging_conf.CANCEL_WINDOW_S)
    report = selectors.report_latest_of(device=token, since=since)
    if report is None or services.report_withdraw(report_id=report.pk, now=now) is None:
        return Reply(_("You have no report of the last hour to withdraw."))
    _pending_clear(token)
    minutes = int((now - report.received_at).total_seconds() // 60)
    done = _("Your last report (%(kind)s, %(when)s) is withdrawn.")
    return Reply(done % {"kind": Kind(report.kind).label, "when": _when(minutes)})


def _vote(*, order: Command, token: str, source: str, now: datetime) -> Reply:
    incident_id = order.incident_id
    if incident_id is None:
        last = selectors.report_latest_of(device=token)
        incident_id = last.incident_id if last is not None else None
        if incident_id is None or selectors.incident_public(incident_id=incident_id) is None:
            return Reply(_("Your last report is not on the public map yet; thank you."))
    # As the API: only public incidents take votes, so that an answer never tells a private one exists.
    elif selectors.incident_public(incident_id=incident_id) is None:
        return Reply(_("There is no such incident."))
    try:
        services.incident_vote(
            incident_id=incident_id, device=token, still_there=order.name == "still", source=source, now=now
        )
    except DomainError as exc:
        return Reply(exc.detail)
    if order.name == "still":
        return Reply(_("Thank you: incident %(id)d is still there.") % {"id": incident_id})
    return Reply(_("Thank you: incident %(id)d is gone.") % {"id": incident_id})


def _complete(*, message: Message, understood: Understood, waiting: dict, token: str, source: str) -> Reply | None:
    """The place for the report the sender's last message left waiting, or None if this message is not
    that (it names another kind, or no place at all: it is a message of its own)."""
    if understood.kind is not None and understood.kind != waiting.get("kind"):
        return None
    lat_lon = message.lat_lon or understood.lat_lon
    if lat_lon is None and is_noise(message.text):
        return None  # "ok, gracias": no place, and no report of its own either
    # With no kind of its own, the whole message is the place ("la bomba de Tazón").
    place_text = understood.place_text if understood.kind is not None else understood.place_text or message.text
    place_text = _tidy_place(place_text)
    if lat_lon is None and not place_text:
        return None
    report_id = waiting["report"]
    previous = selectors.report_get(report_id=report_id)
    if previous is None:
        _pending_clear(token)
        return None
    text = " \u2014 ".join(part for part in (previous.description, message.text.strip()) if part)
    point = Point(lat_lon[1], lat_lon[0], srid=4326) if lat_lon is not None else None
    found = point is not None or not lookups_are_local() or locate(place_text) is not None
    try:
        report = services.report_locate(
            report_id=report_id,
            point=point,
            place_text="" if point is not None else place_text,
            description=text,
            source=source,
            ready=found,
        )
    except DomainError as exc:  # a point outside the area: the report waits on, and the sender is told why
        return Reply(exc.detail)
    if report is None:  # a moderator placed it, or it was withdrawn: this is a message of its own
        _pending_clear(token)
        return None
    if not found:
        return Reply(_place_not_found_reply(place_text), report.pk)
    minutes = int((report.received_at - report.observed_at).total_seconds() // 60) or None
    report = _placed_now(report)
    label = f"{point.y:.5f}, {point.x:.5f}" if point is not None else place_text
    reply = Reply(_understood_reply(report.kind, label, minutes) + _incident_line(report), report.pk)
    # Nothing waits any more; a retry of this very message gets the same answer, not a report of its own.
    if message.message_id:
        _pending_set(token, {"completed_by": message.message_id, "reply": reply.text})
    else:
        _pending_clear(token)
    return reply


def _tidy_place(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" \t\n,.;:-!¡?¿")[: services.MAX_PLACE_TEXT]


def _report(
    *,
    message: Message,
    understood: Understood,
    token: str,
    source: str,
    shared: tuple[float, float] | None,
    now: datetime,
) -> Reply:
    client_id = uuid.uuid4()
    if message.message_id:
        client_id = uuid.uuid5(_CLIENT_ID_NAMESPACE, f"{token}:{message.message_id}")
    lat_lon = message.lat_lon or understood.lat_lon
    if lat_lon is None and not understood.place_text and shared is not None:
        lat_lon = shared
        _pending_clear(token)
    kind = understood.kind
    if kind is None:
        report = _keep_unplaced(message=message, token=token, client_id=client_id, kind=None, now=now)
        return Reply(_("Not understood; a moderator will read it.") + " " + help_text(), report.pk)
    point = Point(lat_lon[1], lat_lon[0], srid=4326) if lat_lon is not None else None
    place_text = "" if point is not None else understood.place_text
    if point is None and (not place_text or (lookups_are_local() and locate(place_text) is None)):
        # No place yet: kept for moderators at once, and waiting PENDING_TTL_S for the sender's next message.
        report = _keep_unplaced(
            message=message, token=token, client_id=client_id, kind=kind, now=now, minutes=understood.minutes_ago
        )
        _pending_set(token, {"report": str(report.pk), "kind": kind})
        if place_text:
            return Reply(_place_not_found_reply(place_text), report.pk)
        return Reply(_ask_place_reply(kind, understood.minutes_ago), report.pk)
    try:
        report, _created = services.report_submit(
            client_id=client_id,
            kind=kind,
            point=point,
            place_text=place_text,
            observed_at=_observed_at(understood.minutes_ago, now),
            description=message.text.strip()[: services.MAX_DESCRIPTION],
            channel=message.channel,
            device=token,
            source=source,
            now=now,
        )
    except DomainError as exc:  # a point outside the area: kept for a moderator, and the sender told why
        report = _keep_unplaced(message=message, token=token, client_id=client_id, kind=kind, now=now)
        return Reply(exc.detail, report.pk)
    report = _placed_now(report)
    label = f"{point.y:.5f}, {point.x:.5f}" if point is not None else place_text
    return Reply(_understood_reply(kind, label, understood.minutes_ago) + _incident_line(report), report.pk)
