"""The map version in Redis: one GET answers "has anything public changed?" without the database.

Every public change takes a new version from the counter row (`services.next_versions`); after its
transaction commits, the version is written here. Commits can run their hooks out of order, so the key
only ever moves up (a compare-and-set script). A bump that fails (a time-out under load) is tried once more,
then the key is deleted so that the next read takes the value from the database; only a bump lost while Redis
was unreachable for both calls leaves the cached value stale, for at most MAP_VERSION_TTL_S (the key's time to
live). With Redis down, reads take it from the database each time.
"""

from __future__ import annotations

import logging

import redis

from config.redis import get_redis

logger = logging.getLogger(__name__)

KEY = "alc:map:version"
MAP_VERSION_TTL_S = 300

_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local value = tonumber(ARGV[1])
if value > current then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
    return value
end
return current
"""


def publish(version: int) -> None:
    """Raise the cached map version to `version` (never lower it); failing that, forget the cached value."""
    client = get_redis()
    for _attempt in range(2):
        try:
            client.eval(_RAISE, 1, KEY, int(version), MAP_VERSION_TTL_S)
            return
        except redis.RedisError as exc:
            error = exc
    try:
        client.delete(KEY)
    except redis.RedisError:
        pass  # unreachable for all three calls: the key's time to live bounds the staleness
    logger.warning("map version not cached, Redis unreachable: %s", error.__class__.__name__)


def from_database() -> int:
    from incidents.models import Counter

    value = Counter.objects.filter(name="map").values_list("value", flat=True).first()
    return int(value or 0)


def current() -> int:
    """The map version: one Redis GET, or the database when Redis has no value or is unreachable."""
    try:
        cached = get_redis().get(KEY)
    except redis.RedisError:
        return from_database()
    if cached is not None:
        return int(cached)
    version = from_database()
    publish(version)
    return version
