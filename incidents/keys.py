"""Keyed hashes of device tokens and of network groups (architecture §6.1, §6.2): neither is ever stored.

A leaf module, so that services, abuse limits and views can all hash without importing each other. The key
is the server's own (REPORTER_KEY_SECRET, else SECRET_KEY), never in the database or in Redis: a dump of
either, or of both, cannot undo these hashes.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

# Bits of a source's tag within one incident (architecture §8.6): enough that two honest networks rarely
# share one (1 in 4096 a pair), few enough that even with the server's key a tag names no network: about
# 4096 IPv4 /24s share each tag.
SOURCE_TAG_HEX = 3


def _key(purpose: bytes) -> bytes:
    secret = getattr(settings, "REPORTER_KEY_SECRET", None) or settings.SECRET_KEY
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def device_key(token: str | None) -> str | None:
    """A keyed hash of a device token, or None without one."""
    if not token:
        return None
    return hmac.new(_key(b"alcabala.device-key"), token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def sender_token(channel: str, sender: str) -> str:
    """The device token of a message's sender (a phone number, a Telegram user id), e.g. "sms:3f…".

    Reports and votes carry it as any device token, so their `reporter_key` is `device_key` of it; the
    number itself is never stored: only the server's key links the two."""
    digest = hmac.new(_key(b"alcabala.sender"), f"{channel}:{sender}".encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"{channel}:{digest.hexdigest()}"


def pending_key(token: str) -> str:
    """The Redis name of what a sender's last message left for the next one (a shared location): keyed
    under its own purpose, so it equals no `reporter_key` and no counter."""
    return hmac.new(_key(b"alcabala.pending"), token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


def source_key(group: bytes) -> str:
    """The source pseudonym of a network group (`abuse.network_group`): what a report carries to the worker.

    Only in Redis, only while the report waits for the worker, and never beside the day's secret material:
    without the server's key it names no network."""
    return hmac.new(_key(b"alcabala.source"), group, hashlib.sha256).hexdigest()


def source_tag(source: str, incident_id: int) -> str:
    """The tag of a source within one incident: what the database keeps (a few bits, see SOURCE_TAG_HEX).

    Tags of one network differ from incident to incident, so no dump links incidents through a network."""
    message = f"{incident_id}:{source}".encode()
    return hmac.new(_key(b"alcabala.source-tag"), message, hashlib.sha256).hexdigest()[:SOURCE_TAG_HEX]


def reach_member(source: str, incident_id: int) -> str:
    """The opaque entry that says "this source weighed in on this incident" in the source's reach log."""
    message = f"{incident_id}:{source}".encode()
    return hmac.new(_key(b"alcabala.reach"), message, hashlib.sha256).hexdigest()[:16]


def counter_key(day_secret: bytes, purpose: bytes, material: bytes) -> str:
    """The name under which Redis counts a network's or a device's requests today (architecture §8.6).

    Keyed twice: by the day's secret, which lives only in Redis and dies an hour after its day, and by the
    server's key, which lives in neither Redis nor the database. A dump of Redis and the database together
    cannot test candidate networks against it; the server's key alone, after the day, cannot either."""
    inner = hmac.new(day_secret, purpose + b"\0" + material, hashlib.sha256).digest()
    return hmac.new(_key(b"alcabala.counter"), inner, hashlib.sha256).hexdigest()[:32]
