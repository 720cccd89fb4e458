"""A limit on attempts to redeem trusted reporters' codes, per network (architecture §6.1, §6.9).

Codes carry 120 random bits, so guessing one is hopeless anyway; the limit keeps a network from spending
the server on trying, and from filling the audit log with refusals of codes it saw over someone's shoulder.
Every attempt is counted before it is checked, in one Redis call (INCR, and EXPIRE on the first), keyed by
`incidents.abuse.network_key` (a daily-rotated keyed hash, never the address). Redis unreachable: attempts
are not limited, like every limit of incidents/abuse.py (fails open).
"""

from __future__ import annotations

import logging
import math

import redis
from django.http import HttpRequest
from django.utils.translation import gettext

from config.redis import get_redis
from incidents import abuse
from trust import conf

logger = logging.getLogger(__name__)

_ATTEMPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
end
if count > tonumber(ARGV[2]) then
    local ttl = redis.call('TTL', KEYS[1])
    if ttl < 1 then ttl = 1 end
    return ttl
end
return 0
"""


def redeem_guard(request: HttpRequest) -> None:
    """Count one attempt to redeem a code from this request's network; raise `abuse.RateLimited` (429 with
    Retry-After) past TRUST_REDEEM_ATTEMPTS_PER_NETWORK within TRUST_REDEEM_WINDOW_MINUTES."""
    try:
        network = abuse.network_key(abuse.client_ip(request))
        if network is None:
            return
        script = get_redis().register_script(_ATTEMPT)
        wait = int(
            script(
                keys=[f"alc:trust:redeem:{network}"],
                args=[conf.redeem_window_s(), conf.redeem_attempts_per_network()],
            )
        )
    except redis.RedisError as exc:
        logger.warning("code redeemed without a limit, Redis unreachable: %s", exc.__class__.__name__)
        return
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        detail = gettext("Too many codes were tried from this connection. Try again in %(minutes)d minutes.")
        raise abuse.RateLimited(retry_after=wait, detail=detail % {"minutes": minutes})
