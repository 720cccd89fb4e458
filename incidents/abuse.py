"""Abuse resistance that never learns who anyone is (architecture §6.1).

Rate limits and the burst signal key on a *network key*: an HMAC of the client's address (of an IPv6
address's /64, which one phone rotates within) under a random secret that exists only in Redis, one per
UTC day, and expires an hour after its day ends. Once it is gone, nobody, us included, can tell which
address a hash came from or link it to another day's hashes. The address itself is never stored, logged
or handed to a task.

Redis unreachable: everything here fails open. A person reporting is never refused because Redis is down
(architecture §4); there is then no hash, no count and no burst signal.

Entry points for views: `same_origin_guard` (raises `CrossSiteRefused`), `report_guard`, `vote_guard` (raise
`RateLimited`) and `honeypot_tripped`.
Entry points for services: `report_network_remember`, `report_network_take`, `burst_observe`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

import redis
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext

from config.redis import get_redis
from incidents import conf
from incidents.errors import DomainError
from incidents.keys import device_key

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The HTML form's field that people never see and so never fill; bots that fill every field do. Not in the JSON
# API: a client generated from its schema fills every field it is told of, and would lose its reports.
HONEYPOT_FIELD = "website"

# A day's secret outlives its day by this much, for requests in flight at midnight and clock skew between
# web servers; keeping it longer would only keep yesterday's hashes linkable for longer.
NETKEY_GRACE = timedelta(hours=1)
# How long a received report's network key waits in Redis for the worker (which deletes it on reading).
REPORT_NETWORK_TTL_S = 24 * 3600


class RateLimited(DomainError):
    """Too many attempts from one network or device.

    `retry_after` is the number of whole seconds (at least 1) until the next attempt would be accepted;
    `detail` is a translated sentence that says so. Left to travel up, it is answered (config/errors.py)
    429 {"error": "throttled", "detail": ..., "fields": {}} with a `Retry-After` header; an HTML form view
    catches it and shows `detail`.
    """

    status_code = 429

    def __init__(self, *, retry_after: int, detail: str):
        super().__init__("throttled", detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class CrossSiteRefused(DomainError):
    """A browser said that this write comes from a page of another site: answered 403 `cross_site`."""

    status_code = 403


# --- cross-site writes -----------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_tuple(value: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not parts.hostname or scheme not in _DEFAULT_PORTS:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def _is_own_origin(request: HttpRequest, origin: str) -> bool:
    # As the request sees itself: is_secure() follows SECURE_PROXY_SSL_HEADER behind the proxy, get_host()
    # the Host header nginx passes on (checked against ALLOWED_HOSTS).
    scheme = "https" if request.is_secure() else "http"
    own = _origin_tuple(f"{scheme}://{request.get_host()}")
    return own is not None and _origin_tuple(origin) == own


def same_origin_guard(request: HttpRequest) -> None:
    """Refuse a write that a browser says comes from another site's page (architecture §8.3).

    A page anywhere can make its visitors' browsers post to us (an auto-submitted form, a no-cors fetch),
    each from a real network of its own; browsers say so in headers no page can set. Refused when
    `Sec-Fetch-Site` is `cross-site` or `same-site` (no sibling site of ours writes here), or when `Origin`
    is another origin, or `null` (a sandboxed frame, a file:// page) without `Sec-Fetch-Site: same-origin`:
    our own scripts send their real origin. A request with neither header (a native app, curl, a gateway)
    is not a browser's and passes: this guard is about borrowed visitors, not about who the client is.
    Call it before anything is parsed, counted or stored, so that a foreign page cannot spend a visitor's
    rate limit either.
    """
    fetch_site = (request.META.get("HTTP_SEC_FETCH_SITE") or "").strip().lower()
    origin = request.META.get("HTTP_ORIGIN")
    if fetch_site in ("cross-site", "same-site"):
        refused = True
    elif origin is None:
        refused = False
    elif origin.strip() == "null":
        refused = fetch_site != "same-origin"
    else:
        refused = not _is_own_origin(request, origin.strip())
    if refused:
        raise CrossSiteRefused(
            "cross_site",
            gettext(
                "This was sent from a page of another website, so it was refused. "
                "Report and vote from this site's own pages or app."
            ),
        )


# --- the client's address ------------------------------------------------------------------------


def _parse_ip(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:203.0.113.7 is the IPv4 client it wraps
    return address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The address of the client that sent `request`, for hashing only: never store or log it.

    REMOTE_ADDR, unless it is one of TRUSTED_PROXIES: then X-Forwarded-For is read from the right (each
    proxy appends the address it saw), skipping trusted proxies, and the first address that is not one
    is the client. A malformed hop ends the walk: what lies to its left was written by the client and
    proves nothing, so REMOTE_ADDR is used instead, which puts the request in the proxy's bucket.
    """
    raw = request.META.get("REMOTE_ADDR") or ""
    remote = _parse_ip(raw)
    if remote is None:
        return raw
    networks = _networks(conf.trusted_proxies())
    if not _trusted(remote, networks):
        return str(remote)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR") or ""
    for hop in reversed(forwarded.split(",")):
        address = _parse_ip(hop)
        if address is None:
            break
        if not _trusted(address, networks):
            return str(address)
    return str(remote)


# --- the network key -----------------------------------------------------------------------------


def _day_secret(client: redis.Redis, now: datetime) -> bytes:
    """Today's (UTC) random secret, created by whichever process asks first (SET NX) and read back."""
    name = f"alc:netkey:{now:%Y-%m-%d}"
    end_of_day = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    # Relative expiry from the server's clock, so that the key's life follows the same clock as its name.
    ttl = math.ceil((end_of_day - now + NETKEY_GRACE).total_seconds())
    pipe = client.pipeline(transaction=True)
    pipe.set(name, secrets.token_bytes(32), nx=True, ex=ttl)
    pipe.get(name)
    _created, secret = pipe.execute()
    return secret


def _address_material(ip: str) -> bytes:
    address = _parse_ip(ip)
    if address is None:
        return b"?" + ip.encode("utf-8", "surrogatepass")
    if isinstance(address, ipaddress.IPv6Address):
        return b"6" + address.packed[:8]  # the /64: one phone's rotating addresses are one network
    return b"4" + address.packed


def _network_key(client: redis.Redis, ip: str, now: datetime) -> str:
    secret = _day_secret(client, now)
    return hmac.new(secret, _address_material(ip), hashlib.sha256).hexdigest()[:32]


def _server_now() -> datetime:
    # The web server's clock, not Redis's: windows and day keys move with it (and with a test's clock).
    return datetime.fromtimestamp(time.time(), tz=UTC)


def network_key(ip: str) -> str | None:
    """A keyed hash of `ip` (of its /64 for IPv6) under today's secret, or None if Redis is unreachable."""
    try:
        return _network_key(get_redis(), ip, _server_now())
    except redis.RedisError as exc:
        logger.warning("no network key, Redis unreachable: %s", exc.__class__.__name__)
        return None


# --- rate limits ---------------------------------------------------------------------------------

# A sliding log per (action, scope, window): a sorted set of accepted attempts scored by time in ms.
# All limits of one attempt are checked, and counted only if every one allows it, in one atomic script,
# so concurrent requests cannot race past a limit. Refused attempts are not counted: a client that keeps
# trying gets in again exactly when the oldest counted attempt leaves the window, which is what
# Retry-After says. A set holds at most `limit` members (tens), so the exactness is cheap.
_SLIDING_LOG = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[1 + 2 * i])
    local window = tonumber(ARGV[2 + 2 * i])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local count = redis.call('ZCARD', key)
    if count >= limit then
        local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
        local free_at = tonumber(oldest[2]) + window
        if free_at - now > wait then
            wait = free_at - now
        end
    end
end
if wait > 0 then
    return wait
end
for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * i]))
end
return 0
"""


def _limits_for(action: str, network: str, device_hash: str | None) -> list[tuple[str, int, int]]:
    """(Redis key, limit, window in s) for each limit that applies to one attempt."""
    scopes = [("net", network, conf.rate_limits(f"RATE_LIMIT_{action.upper()}S_PER_NETWORK"))]
    if device_hash:
        scopes.append(("dev", device_hash, conf.rate_limits(f"RATE_LIMIT_{action.upper()}S_PER_DEVICE")))
    return [
        (f"alc:rl:{action}:{scope}:{window}:{ident}", limit, window)
        for scope, ident, limits in scopes
        for limit, window in limits
    ]


def _count(client: redis.Redis, limits: list[tuple[str, int, int]], now: datetime) -> int:
    """Count one attempt against every limit and return 0, or refuse it and return the wait in ms."""
    if not limits:
        return 0
    args: list[int | str] = [int(now.timestamp() * 1000), secrets.token_hex(8)]  # the member: any unique id
    for _key, limit, window in limits:
        args += [limit, window * 1000]
    script = client.register_script(_SLIDING_LOG)
    return int(script(keys=[key for key, _limit, _window in limits], args=args))


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _guard(request: HttpRequest, *, action: str, device: str | None) -> str | None:
    try:
        client = get_redis()
        now = _server_now()
        network = _network_key(client, client_ip(request), now)
        wait_ms = _count(client, _limits_for(action, network, device_key(device)), now)
    except redis.RedisError as exc:
        logger.warning("%s accepted without rate limits, Redis unreachable: %s", action, exc.__class__.__name__)
        return None
    if wait_ms > 0:
        retry_after = max(1, math.ceil(wait_ms / 1000))
        if action == "report":
            detail = gettext(
                "Too many reports have come from this connection or this phone in a short time. "
                "Please try again in %(wait)s."
            )
        else:
            detail = gettext(
                "Too many votes have come from this connection or this phone in a short time. "
                "Please try again in %(wait)s."
            )
        raise RateLimited(retry_after=retry_after, detail=detail % {"wait": _wait_text(retry_after)})
    return network


def report_guard(request: HttpRequest, *, device: str | None, client_id: uuid.UUID | None = None) -> str | None:
    """Check and count one report from `request`'s network and from `device` (the raw device token).

    Limits: RATE_LIMIT_REPORTS_PER_NETWORK and, when there is a device token, RATE_LIMIT_REPORTS_PER_DEVICE.
    Raises RateLimited when any limit is reached; that attempt is then not counted. Returns the network key
    to hand to `services.report_submit(network_key=...)` for the burst signal, or None when there is
    nothing to hand on: Redis is unreachable (nothing is checked then), or `client_id` names a report
    already accepted, whose retries (an offline queue that missed the answer) are neither limited nor
    counted, since they create nothing.
    """
    if client_id is not None:
        from incidents.models import Report  # this module is imported before the app registry is ready

        if Report.objects.filter(client_id=client_id).exists():
            return None
    return _guard(request, action="report", device=device)


def vote_guard(request: HttpRequest, *, device: str | None) -> str | None:
    """Check and count one vote, like `report_guard`, under RATE_LIMIT_VOTES_PER_NETWORK / _PER_DEVICE."""
    return _guard(request, action="vote", device=device)


def honeypot_tripped(value: object) -> bool:
    """True when the HTML form's hidden `website` field was filled in: most likely a bot. The caller keeps
    the report as `spam` (never processed, never public; moderators can still read it) and answers as for
    any report, so nothing sent is lost and the bot learns nothing to adapt to."""
    if value is None or not str(value).strip():
        return False
    logger.info("honeypot field filled in; the report is kept as spam")
    return True


# --- the burst signal ----------------------------------------------------------------------------


def _report_network_name(report_id: uuid.UUID | str) -> str:
    return f"alc:report-net:{report_id}"


def report_network_remember(*, report_id: uuid.UUID | str, network_key: str | None) -> None:
    """Keep a received report's network key in Redis (never in the database) until the worker takes it."""
    if not network_key:
        return
    try:
        get_redis().set(_report_network_name(report_id), network_key, ex=REPORT_NETWORK_TTL_S)
    except redis.RedisError as exc:
        logger.warning(
            "report %s kept without its network key, Redis unreachable: %s", report_id, exc.__class__.__name__
        )


def report_network_take(*, report_id: uuid.UUID | str) -> str | None:
    """The network key a report arrived with, deleted as it is read; None if unknown or Redis is down."""
    try:
        value = get_redis().getdel(_report_network_name(report_id))
    except redis.RedisError as exc:
        logger.warning("no burst check for report %s, Redis unreachable: %s", report_id, exc.__class__.__name__)
        return None
    if not value:
        return None
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class BurstCheck:
    reporters: int
    networks: int
    burst: bool


def is_burst(reporters: int, networks: int) -> bool:
    """The rule: at least BURST_MIN_REPORTERS distinct reporters within the window, from at most half as
    many networks (3 reporters from 1 network, 4 from 2, 6 from 3...). People who happen to share a
    carrier's NAT can trip it too, which is why it only lowers confidence and asks for a moderator."""
    return reporters >= conf.burst_min_reporters() and networks * 2 <= reporters


def burst_observe(*, incident_id: int, reporter: str, network_key: str, at: datetime) -> BurstCheck | None:
    """Record that `reporter` (a device hash, or the report's id without one) reached the incident from
    `network_key` at `at` (when the report was received), and judge the reporters of the BURST window
    that ends then. None when Redis is unreachable: the signal is skipped, processing goes on."""
    window_ms = int(conf.burst_window().total_seconds() * 1000)
    at_ms = int(at.timestamp() * 1000)
    name = f"alc:burst:{incident_id}"
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.zadd(name, {f"{reporter}|{network_key}": at_ms})
        pipe.zremrangebyscore(name, "-inf", at_ms - window_ms)
        pipe.zrangebyscore(name, at_ms - window_ms, at_ms)
        pipe.pexpire(name, 2 * window_ms)  # reports are processed in about their order of arrival
        members = pipe.execute()[2]
    except redis.RedisError as exc:
        logger.warning("no burst check for incident %s, Redis unreachable: %s", incident_id, exc.__class__.__name__)
        return None
    arrivals = [member.decode().rsplit("|", 1) for member in members]
    reporters = len({who for who, _network in arrivals})
    networks = len({network for _who, network in arrivals})
    return BurstCheck(reporters=reporters, networks=networks, burst=is_burst(reporters, networks))
