"""Whole-map answers kept in Redis under their ETag, which already names the map version and the query.

Thousands of people opening the map at once ask for the same thing; at one map version the answer is the
same (up to read-time expiry, which the expiry job turns into a new version within EXPIRE_INTERVAL_S), so
the database builds it once. Only queries without `bbox` or `updated_since` are kept (a few kinds of
question, not one per viewport), for BODY_TTL_S, and only bodies up to MAX_BODY_BYTES. Redis down: every
request builds its answer, as without the cache.
"""

from __future__ import annotations

import logging
from typing import cast

import redis

from config.redis import get_redis

logger = logging.getLogger(__name__)

BODY_TTL_S = 30
MAX_BODY_BYTES = 16 * 1024 * 1024
_PREFIX = "alc:body:"


def get(tag: str) -> tuple[str, str, bytes] | None:
    """(content type, Link header or "", body) kept for `tag`, or None."""
    try:
        # Our client leaves replies undecoded, so they are bytes; redis-py types them bytes | str.
        raw = cast(bytes | None, get_redis().get(_PREFIX + tag))
    except redis.RedisError:
        return None
    if raw is None:
        return None
    content_type, link, body = raw.split(b"\n", 2)
    return content_type.decode(), link.decode(), body


def put(tag: str, *, content_type: str, link: str, body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        return
    try:
        get_redis().set(_PREFIX + tag, b"\n".join([content_type.encode(), link.encode(), body]), ex=BODY_TTL_S)
    except redis.RedisError as exc:
        logger.warning("answer not cached, Redis unreachable: %s", exc.__class__.__name__)
