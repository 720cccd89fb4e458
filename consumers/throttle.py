"""Read limits for the public API and /ogc/: per API key, or per network for anonymous clients.

Anonymous clients are counted under the keyed hash of their network (`incidents.abuse.network_key`, the
same daily-rotating key as the report limits): no address is stored or logged. Counts are fixed windows
in Redis, incremented atomically by one script for all windows of a request. A key's lookup is cached
in Redis for KEY_CACHE_S, so a keyed poll answered 304 touches no database either. Redis unreachable:
no limit (fail open, as the report limits do).
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from dataclasses import dataclass
from typing import cast

import redis
from django.conf import settings
from django.http import HttpRequest

from config.errors import ApiError
from config.redis import get_redis
from incidents import abuse

logger = logging.getLogger(__name__)

KEY_CACHE_S = 60
_CACHE = "alc:apikey:"

_COUNT = """
local wait = 0
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i - 1])
    local window = tonumber(ARGV[2 * i])
    local count = redis.call('INCR', key)
    if count == 1 then
        redis.call('EXPIRE', key, window)
    end
    if count > limit then
        local ttl = redis.call('TTL', key)
        if ttl > wait then
            wait = ttl
        end
    end
end
return wait
"""


@dataclass(frozen=True)
class Client:
    scope: str  # "key" or "anon"
    ident: str  # the key's id, or the network's keyed hash
    limits: tuple[tuple[int, int], ...]


def forget_key(key_hash: str) -> None:
    try:
        get_redis().delete(_CACHE + key_hash)
    except redis.RedisError:
        pass


def _lookup(key_hash: str) -> tuple[int, int | None] | None:
    """(key id, reads per minute or None) for an active key, None for an unknown or revoked one."""
    try:
        # Our client leaves replies undecoded, so they are bytes; redis-py types them bytes | str.
        cached = cast(bytes | None, get_redis().get(_CACHE + key_hash))
    except redis.RedisError:
        cached = None
    if cached is not None:
        if cached == b"-":
            return None
        ident, _sep, rate = cached.decode().partition(":")
        return int(ident), (int(rate) if rate else None)
    from consumers.models import ApiKey

    row = (
        ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).values_list("pk", "reads_per_minute").first()
    )
    value = "-" if row is None else f"{row[0]}:{row[1] or ''}"
    try:
        get_redis().set(_CACHE + key_hash, value, ex=KEY_CACHE_S)
    except redis.RedisError:
        pass
    return None if row is None else (int(row[0]), row[1])


# Each request is identified once (check_key, then check_read); the entry goes with the request.
_identified: weakref.WeakKeyDictionary[HttpRequest, Client] = weakref.WeakKeyDictionary()


def identify(request: HttpRequest) -> Client:
    """Who is reading: an API key from `Authorization: Token <key>`, or an anonymous network.

    A key that is not ours (or revoked) is a 401: a consumer should learn that its key stopped working.
    """
    cached = _identified.get(request)
    if cached is not None:
        return cached
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, key = header.partition(" ")
    if header and scheme.lower() == "token":
        from consumers.models import hash_key

        found = _lookup(hash_key(key.strip()))
        if found is None:
            raise ApiError("invalid_key", "This API key is not valid or was revoked.", status_code=401)
        ident, per_minute = found
        limits = ((per_minute, 60),) if per_minute else tuple(settings.API_READ_RATE_KEY)
        client = Client("key", str(ident), limits)
    else:
        network = abuse.network_key(abuse.client_ip(request)) or "unknown"
        client = Client("anon", network, tuple(settings.API_READ_RATE_ANON))
    _identified[request] = client
    return client


def check_key(request: HttpRequest) -> None:
    """Refuse a bad API key (401) before anything else; anonymous requests cost nothing here."""
    if request.META.get("HTTP_AUTHORIZATION"):
        identify(request)


def check_read(request: HttpRequest) -> Client:
    """Count one read for the client of `request`; raise RateLimited (429 with Retry-After) past a limit."""
    client = identify(request)
    if not client.limits or client.ident == "unknown":
        return client
    now = int(time.time())
    keys, args = [], []
    for limit, window in client.limits:
        keys.append(f"alc:rl:read:{client.scope}:{window}:{client.ident}:{now // window}")
        args += [limit, window]
    try:
        wait = int(get_redis().eval(_COUNT, len(keys), *keys, *args))
    except redis.RedisError as exc:
        logger.warning("read limit not checked, Redis unreachable: %s", exc.__class__.__name__)
        return client
    if wait > 0:
        wait = max(1, math.ceil(wait))
        raise abuse.RateLimited(retry_after=wait, detail=f"Too many requests; try again in {wait} seconds.")
    return client
