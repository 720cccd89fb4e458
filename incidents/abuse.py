"""Abuse resistance that never learns who anyone is (architecture §6.1, threat model §8.6).

Everything keys on a *network group* (an IPv4 /24, an IPv6 /48: `network_group`), never on an address, and
the address itself is never stored, logged or handed to a task. Two keyings, for two purposes:

- Counting requests (rate limits, log-in lockouts, API reads): `keys.counter_key`, an HMAC of the group
  under a random secret that exists only in Redis, one per UTC day, expiring an hour after its day ends, and
  under the server's key, which is in neither Redis nor the database. Counters hold counts per fixed
  window, no times and no entries: nothing in them lines up with a report, and without the server's key
  they do not even say which networks used the service.
- Counting independent sources (the worker, votes): the group's *source pseudonym* under the server's own
  key (`keys.source_key`), which sits in no database and no Redis. A report's pseudonym waits in Redis
  only until the worker takes it; the database keeps only a few bits of it per incident (`keys.source_tag`).

Redis unreachable: rate limits fail open. A person reporting is never refused because Redis is down
(architecture §4); there is then no count, and what they send adds no independent source's weight.

Entry points for views: `same_origin_guard` (raises `CrossSiteRefused`), `report_guard`, `vote_guard`,
`message_guard` (raise `RateLimited`) and `honeypot_tripped`.
Entry points for services: `report_source_remember`, `report_source_peek`, `report_source_forget`, `reach_take`,
`is_burst`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

import redis
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext

from config.redis import get_redis
from incidents import conf
from incidents.errors import DomainError
from incidents.keys import counter_key, reach_member, source_key

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The HTML form's field that people never see and so never fill; bots that fill every field do. Not in the JSON
# API: a client generated from its schema fills every field it is told of, and would lose its reports.
HONEYPOT_FIELD = "website"

# A day's secret outlives its day by this much, for requests in flight at midnight and clock skew between
# web servers; keeping it longer would only keep yesterday's hashes linkable for longer.
NETKEY_GRACE = timedelta(hours=1)
# How long a received report's source waits in Redis for the worker (which deletes it on reading).
REPORT_SOURCE_TTL_S = 24 * 3600


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


# --- network groups and their keys ---------------------------------------------------------------


def network_group(ip: str) -> bytes:
    """The network group of an address: its IPv4 /24 or its IPv6 /48 (architecture §6.1).

    One household, one office NAT or one attacker renting addresses in one block is one group; so is a
    phone whose IPv6 address rotates within its /64 and its provider's /48. Only hashes of it are kept."""
    address = _parse_ip(ip)
    if address is None:
        return b"?" + ip.encode("utf-8", "surrogatepass")
    if isinstance(address, ipaddress.IPv6Address):
        return b"6" + address.packed[:6]
    return b"4" + address.packed[:3]


def _day_secret(client: redis.Redis, now: datetime, *, create: bool = True) -> bytes | None:
    """The (UTC) day's random secret, created by whichever process asks first (SET NX) and read back."""
    name = f"alc:netkey:{now:%Y-%m-%d}"
    if not create:
        found = client.get(name)
        return found if isinstance(found, bytes) else None
    end_of_day = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    # Relative expiry from the server's clock, so that the key's life follows the same clock as its name.
    ttl = math.ceil((end_of_day - now + NETKEY_GRACE).total_seconds())
    pipe = client.pipeline(transaction=True)
    pipe.set(name, secrets.token_bytes(32), nx=True, ex=ttl)
    pipe.get(name)
    _created, secret = pipe.execute()
    return secret


def _network_key(client: redis.Redis, ip: str, now: datetime) -> str:
    secret = _day_secret(client, now)
    assert secret is not None
    return counter_key(secret, b"net", network_group(ip))


def _server_now() -> datetime:
    # The web server's clock, not Redis's: windows and day keys move with it (and with a test's clock).
    return datetime.fromtimestamp(time.time(), tz=UTC)


def network_key(ip: str) -> str | None:
    """A keyed hash of `ip`'s network group for today (`keys.counter_key`), or None if Redis is unreachable.

    For counting a network's requests in Redis (rate limits, log-in lockouts, API reads), never for storing
    beside anything a report or vote leaves (architecture §8.6)."""
    try:
        return _network_key(get_redis(), ip, _server_now())
    except redis.RedisError as exc:
        logger.warning("no network key, Redis unreachable: %s", exc.__class__.__name__)
        return None


def source_of(request: HttpRequest) -> str:
    """The source pseudonym of `request`'s network group (`keys.source_key`), for the worker's counting."""
    return source_key(network_group(client_ip(request)))


# --- rate limits ---------------------------------------------------------------------------------

# Counters per (action, scope, window) in fixed windows, and the sliding estimate over the current and the
# previous one: previous × (time left of the window) + current. Only counts are kept, never a time or an
# entry per attempt, so that nothing in Redis lines up with a report's time in the database (architecture
# §8.6). All limits of one attempt are checked, and counted only if every one allows it, in one atomic
# script, so concurrent requests cannot race past a limit; refused attempts are not counted.
_WINDOWED_COUNT = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i])
    local window = tonumber(ARGV[1 + 2 * i])
    local bucket = math.floor(now / window)
    local elapsed = now - bucket * window
    local current = tonumber(redis.call('GET', key .. ':' .. bucket) or '0')
    local previous = tonumber(redis.call('GET', key .. ':' .. (bucket - 1)) or '0')
    local left = (window - elapsed) / window
    if previous * left + current + 1 > limit then
        -- When the estimate drops low enough for one more: during this window as the previous one
        -- fades, or else after it, as this one fades in turn.
        local free_at
        if current + 1 <= limit and previous > 0 then
            free_at = window - (limit - 1 - current) * window / previous
        else
            free_at = window + window * (1 - (limit - 1) / math.max(current, 1))
        end
        if free_at - elapsed > wait then
            wait = free_at - elapsed
        end
    end
end
if wait > 0 then
    return math.ceil(wait)
end
for i, key in ipairs(KEYS) do
    local window = tonumber(ARGV[1 + 2 * i])
    local name = key .. ':' .. math.floor(now / window)
    redis.call('INCR', name)
    redis.call('PEXPIRE', name, 2 * window)
end
return 0
"""


def _limits_for(action: str, network: str, device: str | None) -> list[tuple[str, int, int]]:
    """(Redis key, limit, window in s) for each limit that applies to one attempt."""
    scopes = [("net", network, conf.rate_limits(f"RATE_LIMIT_{action.upper()}S_PER_NETWORK"))]
    if device:
        scopes.append(("dev", device, conf.rate_limits(f"RATE_LIMIT_{action.upper()}S_PER_DEVICE")))
    return [
        (f"alc:rl:{action}:{scope}:{window}:{ident}", limit, window)
        for scope, ident, limits in scopes
        for limit, window in limits
    ]


def _count(client: redis.Redis, limits: list[tuple[str, int, int]], now: datetime) -> int:
    """Count one attempt against every limit and return 0, or refuse it and return the wait in ms."""
    if not limits:
        return 0
    args: list[int | str] = [int(now.timestamp() * 1000)]
    for _key, limit, window in limits:
        args += [limit, window * 1000]
    script = client.register_script(_WINDOWED_COUNT)
    return int(script(keys=[key for key, _limit, _window in limits], args=args))


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _guard(request: HttpRequest, *, action: str, device: str | None) -> None:
    try:
        client = get_redis()
        now = _server_now()
        secret = _day_secret(client, now)
        assert secret is not None
        network = counter_key(secret, b"net", network_group(client_ip(request)))
        # The device's counter is keyed by the day's secret too, never by its reporter_key: only the token
        # itself links a counter to the reports in the database.
        ident = counter_key(secret, b"dev", device.encode("utf-8", "surrogatepass")) if device else None
        wait_ms = _count(client, _limits_for(action, network, ident), now)
    except redis.RedisError as exc:
        logger.warning("%s accepted without rate limits, Redis unreachable: %s", action, exc.__class__.__name__)
        return
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


def report_guard(request: HttpRequest, *, device: str | None, client_id: uuid.UUID | None = None) -> str | None:
    """Check and count one report from `request`'s network and from `device` (the raw device token).

    Limits: RATE_LIMIT_REPORTS_PER_NETWORK and, when there is a device token, RATE_LIMIT_REPORTS_PER_DEVICE.
    Raises RateLimited when any limit is reached; that attempt is then not counted. Returns the source
    pseudonym (`source_of`) to hand to `services.report_submit(source=...)`, or None when `client_id` names
    a report already accepted, whose retries (an offline queue that missed the answer) are neither limited
    nor counted, since they create nothing. Without Redis nothing is checked, and the source is returned.
    """
    if client_id is not None:
        from incidents.models import Report  # this module is imported before the app registry is ready

        if Report.objects.filter(client_id=client_id).exists():
            return None
    _guard(request, action="report", device=device)
    return source_of(request)


def vote_guard(request: HttpRequest, *, device: str | None) -> str:
    """Check and count one vote, like `report_guard`, under RATE_LIMIT_VOTES_PER_NETWORK / _PER_DEVICE;
    returns the source pseudonym for `services.incident_vote(source=...)`."""
    _guard(request, action="vote", device=device)
    return source_of(request)


def message_guard(*, channel: str, sender: str) -> None:
    """Check and count one text message (SMS, Telegram) from `sender` (its sender token, `keys.sender_token`,
    never a number) through the gateway `channel`: RATE_LIMIT_MESSAGES_PER_SENDER and, for every sender of
    the gateway together, RATE_LIMIT_MESSAGES_PER_GATEWAY. The gateway's address is no network of the
    sender, so no network limit applies. Raises RateLimited; fails open without Redis, like `report_guard`."""
    try:
        client = get_redis()
        now = _server_now()
        secret = _day_secret(client, now)
        assert secret is not None
        scopes = [
            ("sender", counter_key(secret, b"msg-sender", sender.encode()), "RATE_LIMIT_MESSAGES_PER_SENDER"),
            ("gateway", counter_key(secret, b"msg-gateway", channel.encode()), "RATE_LIMIT_MESSAGES_PER_GATEWAY"),
        ]
        limits = [
            (f"alc:rl:msg:{scope}:{window}:{ident}", limit, window)
            for scope, ident, name in scopes
            for limit, window in conf.rate_limits(name)
        ]
        wait_ms = _count(client, limits, now)
    except redis.RedisError as exc:
        logger.warning("message accepted without rate limits, Redis unreachable: %s", exc.__class__.__name__)
        return
    if wait_ms > 0:
        retry_after = max(1, math.ceil(wait_ms / 1000))
        detail = gettext("Too many messages in a short time. Please try again in %(wait)s.")
        raise RateLimited(retry_after=retry_after, detail=detail % {"wait": _wait_text(retry_after)})


def honeypot_tripped(value: object) -> bool:
    """True when the HTML form's hidden `website` field was filled in: most likely a bot. The caller keeps
    the report as `spam` (never processed, never public; moderators can still read it) and answers as for
    any report, so nothing sent is lost and the bot learns nothing to adapt to."""
    if value is None or not str(value).strip():
        return False
    logger.info("honeypot field filled in; the report is kept as spam")
    return True


# --- a report's source, on its way to the worker ---------------------------------------------------


def _report_source_name(report_id: uuid.UUID | str) -> str:
    return f"alc:report-src:{report_id}"


def report_source_remember(*, report_id: uuid.UUID | str, source: str | None) -> None:
    """Keep a received report's source pseudonym in Redis (never in the database) until the worker takes it."""
    if not source:
        return
    try:
        get_redis().set(_report_source_name(report_id), source, ex=REPORT_SOURCE_TTL_S)
    except redis.RedisError as exc:
        logger.warning("report %s kept without its source, Redis unreachable: %s", report_id, exc.__class__.__name__)


def report_source_peek(*, report_id: uuid.UUID | str) -> str | None:
    """The source pseudonym a report arrived with; None if unknown or Redis is down. The worker reads it
    before its transaction and forgets it once that committed (`report_source_forget`), so that a retry
    after a failure still finds it."""
    try:
        value = get_redis().get(_report_source_name(report_id))
    except redis.RedisError as exc:
        logger.warning("report %s counted as no source, Redis unreachable: %s", report_id, exc.__class__.__name__)
        return None
    if not value:
        return None
    return value.decode() if isinstance(value, bytes) else value


def report_source_forget(*, report_id: uuid.UUID | str) -> None:
    try:
        get_redis().delete(_report_source_name(report_id))
    except redis.RedisError as exc:
        # It expires on its own after REPORT_SOURCE_TTL_S.
        logger.warning("report %s's source left to expire, Redis unreachable: %s", report_id, exc.__class__.__name__)


# --- a network's reach -----------------------------------------------------------------------------

# The distinct incidents one source weighed in on within the last hour: a sorted set per source and day,
# its members opaque per incident (`keys.reach_member`) and scored by the minute. Keyed by the day's secret
# over the pseudonym, so that a source's sets of two days cannot be told to be one network's.
_REACH = """
local now = tonumber(ARGV[1])
local hour = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]
local seen = {}
local count = 0
for _, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - hour)
    for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        if not seen[m] then
            seen[m] = true
            count = count + 1
        end
    end
end
if not seen[member] and count >= limit then
    return 0
end
redis.call('ZADD', KEYS[1], now, member)
redis.call('PEXPIRE', KEYS[1], hour)
return 1
"""


def reach_take(*, source: str, incident_id: int, now: datetime | None = None) -> bool:
    """Whether `source` may add weight to incident `incident_id` now, and if so count it in its reach.

    A source adds weight to at most NETWORK_REACH_PER_HOUR distinct incidents in any hour (architecture
    §6.1); an incident it already weighed in on within the hour costs nothing more. Past that its reports
    and votes are kept but weigh nothing. Redis unreachable: no weight (what cannot be counted is not
    trusted), the report or vote itself is kept as always."""
    now = now or _server_now()
    minute_ms = int(now.timestamp() // 60) * 60_000
    try:
        client = get_redis()
        today = _day_secret(client, now)
        assert today is not None
        names = [f"alc:reach:{counter_key(today, b'reach', source.encode())}"]
        # Yesterday's set still covers the first hour of today, while its secret lives (NETKEY_GRACE).
        yesterday = _day_secret(client, now - timedelta(days=1), create=False)
        if yesterday is not None:
            names.append(f"alc:reach:{counter_key(yesterday, b'reach', source.encode())}")
        script = client.register_script(_REACH)
        member = reach_member(source, incident_id)
        args: list[int | str] = [minute_ms, 3_600_000, conf.network_reach_per_hour(), member]
        return bool(script(keys=names, args=args))
    except redis.RedisError as exc:
        logger.warning("no weight for incident %s, Redis unreachable: %s", incident_id, exc.__class__.__name__)
        return False


def is_burst(reporters: int, networks: int) -> bool:
    """The rule: at least BURST_MIN_REPORTERS distinct reporters within the window, from at most half as
    many networks (3 reporters from 1 network, 4 from 2, 6 from 3...). People who happen to share a
    carrier's NAT can trip it too, which is why it only lowers confidence and asks for a moderator."""
    return reporters >= conf.burst_min_reporters() and networks * 2 <= reporters
