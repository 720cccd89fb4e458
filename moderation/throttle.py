"""Log-in throttling and lockout that never learn an address (architecture §6.1).

Failed log-ins are counted in Redis per account (a keyed hash of the lowered user name) and per network
(`abuse.network_key`, the same daily-rotated keyed hash the report limits use), for
LOGIN_LOCKOUT_MINUTES. Once either count reaches its limit, every attempt from that network or to that
account is refused until the window ends, right password or not. A successful log-in clears the
account's count. Redis unreachable: attempts are not throttled (and a warning is logged); the second
factor still stands.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import redis
from django.conf import settings
from django.http import HttpRequest

from config.redis import get_redis
from incidents import abuse
from moderation import conf

logger = logging.getLogger(__name__)


def _account_key(username: str) -> str:
    key = hmac.new(settings.SECRET_KEY.encode(), b"alcabala.login-account", hashlib.sha256).digest()
    return hmac.new(key, username.strip().lower().encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _keys(request: HttpRequest, username: str) -> list[tuple[str, int]]:
    keys = [(f"alc:login:acct:{_account_key(username)}", conf.login_failures_per_account())]
    network = abuse.network_key(abuse.client_ip(request))
    if network:
        keys.append((f"alc:login:net:{network}", conf.login_failures_per_network()))
    return keys


def login_locked(request: HttpRequest, *, username: str) -> int:
    """Seconds until an attempt to log in as `username` from this network is allowed again; 0: now."""
    try:
        client = get_redis()
        wait = 0
        for key, limit in _keys(request, username):
            count = int(client.get(key) or 0)
            if count >= limit:
                wait = max(wait, int(client.ttl(key)), 1)
        return wait
    except redis.RedisError as exc:
        logger.warning("log-in not throttled, Redis unreachable: %s", exc.__class__.__name__)
        return 0


def login_failed(request: HttpRequest, *, username: str) -> None:
    try:
        client = get_redis()
        for key, _limit in _keys(request, username):
            pipe = client.pipeline()
            pipe.incr(key)
            pipe.expire(key, conf.login_lockout_s(), nx=True)
            pipe.execute()
    except redis.RedisError as exc:
        logger.warning("failed log-in not counted, Redis unreachable: %s", exc.__class__.__name__)


def login_succeeded(request: HttpRequest, *, username: str) -> None:
    try:
        get_redis().delete(f"alc:login:acct:{_account_key(username)}")
    except redis.RedisError as exc:
        logger.warning("log-in count not cleared, Redis unreachable: %s", exc.__class__.__name__)
