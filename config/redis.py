"""The app's Redis connection (rate limits, signals, the map version), separate from Celery's broker use."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, health_check_interval=30)


def get_redis() -> redis.Redis:
    return _client(settings.REDIS_URL)
