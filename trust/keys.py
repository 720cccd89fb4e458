"""Keyed hashes of trusted tokens and enrolment codes (architecture §6.9): neither is ever stored.

Under a key derived from REPORTER_KEY_SECRET or SECRET_KEY with purposes of their own, so that a trusted
token's hash never equals the `reporter_key` that incidents/keys.py makes of the same string: a dump that
holds both cannot join a trusted reporter to reports by the hash alone. A leaf module, like incidents/keys.py.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

_TOKEN_PURPOSE = b"alcabala.trusted-reporter-key"
_CODE_PURPOSE = b"alcabala.trusted-enrolment-code"


def _keyed(purpose: bytes, text: str) -> str:
    secret = getattr(settings, "REPORTER_KEY_SECRET", None) or settings.SECRET_KEY
    key = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def token_key(token: str) -> str:
    """The stored form of a trusted token (`TrustedReporter.key`)."""
    return _keyed(_TOKEN_PURPOSE, token)


def normalise_code(text: str) -> str:
    """Codes are typed by hand: case, spaces and dashes do not matter."""
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def code_key(code: str) -> str:
    """The stored form of an enrolment code (`TrustEnrolment.code_hash`), from its normalised text."""
    return _keyed(_CODE_PURPOSE, normalise_code(code))
