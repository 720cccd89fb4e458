"""Keyed hashes of device tokens (architecture §6.2): the token itself is never stored.

A leaf module, so that services, abuse limits and views can all hash a token without importing each other.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def device_key(token: str | None) -> str | None:
    """A keyed hash of a device token, or None without one."""
    if not token:
        return None
    secret = getattr(settings, "REPORTER_KEY_SECRET", None) or settings.SECRET_KEY
    key = hmac.new(secret.encode(), b"alcabala.device-key", hashlib.sha256).digest()
    return hmac.new(key, token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
