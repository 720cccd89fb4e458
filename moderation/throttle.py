"""Log-in throttling and lockout that never learn an address (architecture §6.1, §8.3).

Every attempt (a password, or a TOTP code) is counted in Redis *before* it is checked, by one Lua script
that refuses it if a limit is reached and otherwise counts it against every limit at once, so parallel
guesses cannot race past a limit: of any number sent together, at most the limit are checked. Counts
live for LOGIN_LOCKOUT_MINUTES from the first failure, and a refused attempt is not counted.

- per account *and* network (LOGIN_FAILURES_PER_ACCOUNT): guesses from one network lock only that
  network out of that account, never the owner elsewhere;
- per network (LOGIN_FAILURES_PER_NETWORK), over all accounts: one network spraying many accounts;
- per account from anywhere (LOGIN_FAILURES_PER_ACCOUNT_ANYWHERE, much higher): slows a guesser spread
  over many networks. A browser that logged in to the account before carries a signed cookie naming
  the account (as a keyed hash) and is spared this ceiling, so a distributed attack does not lock out
  the owner's own browser. Nothing about the owner's networks is kept on the server.

Accounts are keyed by an HMAC of the lowered user name under SECRET_KEY, networks by `abuse.network_key`
(the daily-rotated keyed hash the report limits use). A successful log-in clears its account and network
count and gives back the attempt it took from the others. Redis unreachable: attempts are not throttled
(and a warning is logged); the second factor still stands.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.redis import get_redis
from incidents import abuse
from moderation import conf

logger = logging.getLogger(__name__)

KNOWN_BROWSER_COOKIE = "alc_mod_known"
_KNOWN_BROWSER_SALT = "alcabala.login-known-browser"
KNOWN_BROWSER_MAX_AGE_S = 30 * 24 * 3600

# KEYS: the counters. ARGV[1]: the window in s; then, per counter, its limit and whether it applies ("1").
# Refuse (return the wait in s) if any applicable counter is at its limit; else count the attempt on all.
_ATTEMPT = """
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
    if ARGV[2 * i + 1] == '1' then
        local count = tonumber(redis.call('GET', key) or '0')
        if count >= tonumber(ARGV[2 * i]) then
            local ttl = redis.call('TTL', key)
            if ttl < 1 then ttl = 1 end
            if ttl > wait then wait = ttl end
        end
    end
end
if wait > 0 then
    return wait
end
for i, key in ipairs(KEYS) do
    if redis.call('INCR', key) == 1 then
        redis.call('EXPIRE', key, window)
    end
end
return 0
"""

# KEYS[1]: the account-and-network counter, cleared; the others get back the attempt they counted.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
    if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
        redis.call('DECR', KEYS[i])
    end
end
return 0
"""


def _account_key(username: str) -> str:
    key = hmac.new(settings.SECRET_KEY.encode(), b"alcabala.login-account", hashlib.sha256).digest()
    return hmac.new(key, username.strip().lower().encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _known_browser(request: HttpRequest, account: str) -> bool:
    value = request.get_signed_cookie(
        KNOWN_BROWSER_COOKIE, default=None, salt=_KNOWN_BROWSER_SALT, max_age=KNOWN_BROWSER_MAX_AGE_S
    )
    return value is not None and hmac.compare_digest(value, account)


def _counters(request: HttpRequest, username: str) -> list[tuple[str, int, bool]] | None:
    """(Redis key, limit, applies) for each counter of one attempt; None when there is no network key."""
    network = abuse.network_key(abuse.client_ip(request))
    if not network:
        return None
    account = _account_key(username)
    return [
        (f"alc:login:an:{account}:{network}", conf.login_failures_per_account(), True),
        (f"alc:login:net:{network}", conf.login_failures_per_network(), True),
        (
            f"alc:login:acct:{account}",
            conf.login_failures_per_account_anywhere(),
            not _known_browser(request, account),
        ),
    ]


def login_attempt(request: HttpRequest, *, username: str) -> int:
    """Count one attempt to log in as `username` from this request's network, before it is checked.

    Returns 0 if the attempt may go ahead (it is then counted as a failure until `login_succeeded`), or
    the seconds until one would be allowed (the attempt is then refused and not counted).
    """
    try:
        counters = _counters(request, username)
        if counters is None:
            return 0
        args: list[int | str] = [conf.login_lockout_s()]
        for _key, limit, applies in counters:
            args += [limit, "1" if applies else "0"]
        script = get_redis().register_script(_ATTEMPT)
        return int(script(keys=[key for key, _limit, _applies in counters], args=args))
    except redis.RedisError as exc:
        logger.warning("log-in not throttled, Redis unreachable: %s", exc.__class__.__name__)
        return 0


def login_succeeded(request: HttpRequest, *, username: str) -> None:
    """The attempt was right: clear this network's count for the account, give back the others'."""
    try:
        counters = _counters(request, username)
        if counters is None:
            return
        script = get_redis().register_script(_SUCCEEDED)
        script(keys=[key for key, _limit, _applies in counters])
    except redis.RedisError as exc:
        logger.warning("log-in count not cleared, Redis unreachable: %s", exc.__class__.__name__)


def remember_browser(response: HttpResponse, *, username: str) -> None:
    """Mark the browser that just logged in as `username`, so that the account's ceiling spares it."""
    response.set_signed_cookie(
        KNOWN_BROWSER_COOKIE,
        _account_key(username),
        salt=_KNOWN_BROWSER_SALT,
        max_age=KNOWN_BROWSER_MAX_AGE_S,
        path="/moderate/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
