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
from incidents.models import Kind
from messaging import conf as messaging_conf
from messaging.understand import Understood, command, understand

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


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number or "")


def sender_source(channel: str, sender: str) -> str:
    """What a sender counts as among independent sources (architecture §3.5): for SMS, its number's block
    (the number without its last BLOCK_DIGITS_DROPPED digits: SIM cards bought together come in runs); for
    Telegram, the account. Never the gateway's own address, which is one network for every sender."""
    if channel == "sms":
        digits = _digits(sender)
        block = digits[: -messaging_conf.BLOCK_DIGITS_DROPPED] if len(digits) > 6 else digits
        return source_key(b"sms:" + block.encode())
    return source_key(f"{channel}:{sender}".encode())


def _token(channel: str, sender: str) -> str:
    return sender_token(channel, "+" + _digits(sender) if channel == "sms" else sender)


# --- what a shared location leaves for the next message ----------------------------------------------------


def _pending_set(token: str, lat_lon: tuple[float, float]) -> None:
    try:
        get_redis().set(f"alc:msg-pending:{pending_key(token)}", json.dumps(lat_lon), ex=messaging_conf.PENDING_TTL_S)
    except redis.RedisError as exc:
        logger.warning("a shared location was not kept, Redis unreachable: %s", exc.__class__.__name__)


def _pending_take(token: str) -> tuple[float, float] | None:
    try:
        value = get_redis().getdel(f"alc:msg-pending:{pending_key(token)}")
    except redis.RedisError as exc:
        logger.warning("no shared location looked up, Redis unreachable: %s", exc.__class__.__name__)
        return None
    if not value:
        return None
    lat, lon = json.loads(value)
    return float(lat), float(lon)


# --- replies ---------------------------------------------------------------------------------------------


def help_text() -> str:
    return _(
        "Alcabala: write what you see and where, e.g. \u201ccheckpoint GNB at the entrance of Petare 10 min "
        "ago\u201d, or share a map link or your location. STILL N or GONE N says whether incident N is still there."
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
        "Received: %(kind)s, %(when)s, but where? Send it again with the place, e.g. \u201c%(example)s\u201d, "
        "or a map link."
    ) % {"kind": Kind(kind).label, "when": _when(minutes), "example": _("checkpoint at the entrance of Petare")}


# --- the service -----------------------------------------------------------------------------------------


def _observed_at(minutes: int | None, now: datetime) -> datetime:
    if not minutes:
        return now
    # Older than reports may be: taken as the oldest accepted, rather than refusing what the sender saw.
    return now - min(timedelta(minutes=minutes), conf.report_max_age() - timedelta(minutes=1))


def _keep_unplaced(*, message: Message, token: str, client_id: uuid.UUID, kind: str | None, now: datetime):
    report, _created = services.report_submit(
        client_id=client_id,
        kind=kind or Kind.HAZARD,
        place_text=message.text[: services.MAX_PLACE_TEXT] or "?",
        description=message.text[: services.MAX_DESCRIPTION],
        channel=message.channel,
        device=token,
        unplaced=True,
        now=now,
    )
    return report


def message_receive(*, message: Message, now: datetime | None = None) -> Reply:
    """Turn one message into a report, a vote or the help text, and say what was understood.

    Rules: counted against RATE_LIMIT_MESSAGES_PER_SENDER and _PER_GATEWAY (`abuse.message_guard`; past
    them the reply says so and nothing is stored); AYUDA/HELP answers the help text; SIGUE N / YA NO N /
    STILL N / GONE N is `incident_vote` with the sender's token and source; a location alone waits
    PENDING_TTL_S for the message that says what is there; anything else is a report through
    `report_submit` with the sender's source, placed by coordinates, a map link, the location, or its place
    words for the geocoder. The reply asks for the place when none was found.
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
        if order is not None and order.incident_id is not None:
            # As the API: only public incidents take votes, so that an answer never tells a private one exists.
            if selectors.incident_public(incident_id=order.incident_id) is None:
                return Reply(_("There is no such incident."))
            try:
                services.incident_vote(
                    incident_id=order.incident_id,
                    device=token,
                    still_there=order.name == "still",
                    source=source,
                    now=now,
                )
            except DomainError as exc:
                return Reply(exc.detail)
            if order.name == "still":
                return Reply(_("Thank you: incident %(id)d is still there.") % {"id": order.incident_id})
            return Reply(_("Thank you: incident %(id)d is gone.") % {"id": order.incident_id})
        if not text and message.lat_lon is None:
            return Reply(help_text())
        if not text and message.lat_lon is not None:
            _pending_set(token, message.lat_lon)
            return Reply(_("Location received. What is there? Reply e.g. \u201ccheckpoint\u201d."))
        return _report(message=message, understood=understood, token=token, source=source, now=now)


def _report(*, message: Message, understood: Understood, token: str, source: str, now: datetime) -> Reply:
    client_id = uuid.uuid4()
    if message.message_id:
        client_id = uuid.uuid5(_CLIENT_ID_NAMESPACE, f"{token}:{message.message_id}")
    lat_lon = message.lat_lon or understood.lat_lon
    if lat_lon is None and not understood.place_text:
        lat_lon = _pending_take(token)
    kind = understood.kind
    if kind is None:
        report = _keep_unplaced(message=message, token=token, client_id=client_id, kind=None, now=now)
        return Reply(_("Not understood; a moderator will read it.") + " " + help_text(), report.pk)
    point = Point(lat_lon[1], lat_lon[0], srid=4326) if lat_lon is not None else None
    place_text = "" if point is not None else understood.place_text
    try:
        report, _created = services.report_submit(
            client_id=client_id,
            kind=kind,
            point=point,
            # Without a place the text goes to the geocoder whole; what it cannot place waits for a moderator.
            place_text=place_text or understood.description[: services.MAX_PLACE_TEXT],
            observed_at=_observed_at(understood.minutes_ago, now),
            description=understood.description[: services.MAX_DESCRIPTION],
            channel=message.channel,
            device=token,
            source=source,
            now=now,
        )
    except DomainError as exc:  # a point outside the area: kept for a moderator, and the sender told why
        report = _keep_unplaced(message=message, token=token, client_id=client_id, kind=kind, now=now)
        return Reply(exc.detail, report.pk)
    if point is not None:
        return Reply(_understood_reply(kind, f"{point.y:.5f}, {point.x:.5f}", understood.minutes_ago), report.pk)
    # The gazetteer answers in memory, so the reply can say now whether the place is known; a remote
    # geocoder is left to the worker.
    if not place_text or (lookups_are_local() and locate(place_text) is None):
        return Reply(_ask_place_reply(kind, understood.minutes_ago), report.pk)
    return Reply(_understood_reply(kind, place_text, understood.minutes_ago), report.pk)
