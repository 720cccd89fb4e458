"""A rate limit shared by every process that talks to one geocoding service: a token bucket in Redis.

The bucket is kept in its GCRA form (one "theoretical arrival time" per bucket), with reservations: each
caller atomically takes the next free slot and sleeps until it, so callers in any number of processes
are spaced `1/rate` seconds apart (after an initial burst of `burst` requests), in arrival order, with no
polling. Time is Redis's own clock, so the processes' clocks never matter. A caller whose slot is more
than `max_wait` away reserves nothing and gets `RateLimitWait`, a geopy timeout, which the worker retries
later like any other network error.
"""

from __future__ import annotations

import time

import redis
from geopy.exc import GeocoderTimedOut, GeocoderUnavailable

from config.redis import get_redis

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local start = tat - (burst - 1) * interval
if start < now then start = now end
local wait = start - now
if wait > max_wait then return -1 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return wait
"""


class RateLimitWait(GeocoderTimedOut):
    """The next free slot is further away than the caller may wait."""


def acquire(bucket: str, *, rate_per_s: float, max_wait_s: float, burst: int = 1) -> float:
    """Block until this process may send one request; return the seconds waited.

    Raises RateLimitWait when the queue is longer than `max_wait_s`, and GeocoderUnavailable when Redis
    cannot be asked: without the shared count, a request could break the service's policy.
    """
    interval_us = max(1, round(1_000_000 / rate_per_s))
    try:
        client = get_redis()
        script = client.register_script(_RESERVE)
        wait_us = int(script(keys=[f"alc:geo:rate:{bucket}"], args=[interval_us, burst, round(max_wait_s * 1e6)]))
    except redis.RedisError as exc:
        raise GeocoderUnavailable(f"rate limiter unreachable: {exc.__class__.__name__}") from exc
    if wait_us < 0:
        raise RateLimitWait(f"more than {max_wait_s:g} s of geocoding requests are queued")
    if wait_us:
        time.sleep(wait_us / 1e6)
    return wait_us / 1e6
