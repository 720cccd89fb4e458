"""A rate limit shared by every process that talks to one geocoding service, kept in Redis.

A token bucket of one token: a process takes the token, sends its request, and gives the token back
when the answer (or the error) has come; the token is usable again `1/rate` seconds after that. So
at most one request is in flight at a time, and a request starts no sooner than `1/rate` seconds after
the previous one ended, which means that the service sees consecutive requests at least `1/rate`
seconds apart whatever the network or the scheduler does between the two (a limit on when requests
are sent would not: a late first send and an on-time second one arrive closer than the rate).

Time is Redis's own clock, so the processes' clocks never matter. A token not given back (a process
killed mid-request) is free again after its lease. A caller that cannot get the token within
`max_wait_s` gets `RateLimitWait`, a geopy timeout, which the worker retries later like any other
network error.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from geopy.exc import GeocoderTimedOut, GeocoderUnavailable

from config.redis import get_redis

POLL_S = 0.05  # how often a waiting process asks again while a request is in flight

# KEYS: holder, free-at. ARGV: token, lease in ms. Returns 0 when taken, else the ms to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 1 then
    return -1
end
local free_at = tonumber(redis.call('GET', KEYS[2]) or '0')
if free_at > now then
    return free_at - now
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 0
"""

# KEYS: holder, free-at. ARGV: token, interval in ms.
_GIVE_BACK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free_at = now + tonumber(ARGV[2])
redis.call('SET', KEYS[2], string.format('%d', free_at), 'PX', tonumber(ARGV[2]) + 1000)
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
end
return 0
"""


class RateLimitWait(GeocoderTimedOut):
    """The token did not come free within the time the caller may wait."""


@contextmanager
def request_slot(bucket: str, *, rate_per_s: float, max_wait_s: float, lease_s: float) -> Iterator[float]:
    """Hold the bucket's token for one request; yields the seconds waited for it.

    Raises RateLimitWait past `max_wait_s`, and GeocoderUnavailable when Redis cannot be asked: without
    the shared token, a request could break the service's policy.
    """
    keys = [f"alc:geo:rate:{bucket}:holder", f"alc:geo:rate:{bucket}:free-at"]
    token = secrets.token_hex(8)
    interval_ms = max(1, round(1000 / rate_per_s))
    started = time.monotonic()
    try:
        client = get_redis()
        take = client.register_script(_TAKE)
        while True:
            wait_ms = int(take(keys=keys, args=[token, max(1000, round(lease_s * 1000))]))
            if wait_ms == 0:
                break
            pause = POLL_S if wait_ms < 0 else wait_ms / 1000
            if time.monotonic() - started + pause > max_wait_s:
                raise RateLimitWait(f"no turn to ask the geocoding service within {max_wait_s:g} s")
            time.sleep(pause)
    except redis.RedisError as exc:
        raise GeocoderUnavailable(f"rate limiter unreachable: {exc.__class__.__name__}") from exc
    try:
        yield time.monotonic() - started
    finally:
        try:
            client.register_script(_GIVE_BACK)(keys=keys, args=[token, interval_ms])
        except redis.RedisError:
            pass  # the lease ends on its own; until then nobody sends, which errs on the safe side
