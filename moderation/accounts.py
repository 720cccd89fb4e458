"""Moderators' accounts: enrolment of the second factor and API tokens (architecture §8.3).

- **Enrolment.** A moderator without a confirmed TOTP device cannot log in. `enrolment_issue` (from
  `create_moderator` or an administrator) makes a one-time code, stored only as a hash, that expires after
  ENROLMENT_TTL_HOURS; with it and the account's password the moderator enrols a device
  (`enrolment_start`), which `enrolment_complete` confirms with a first code, and the code is then dead.
  Issuing a code removes the account's devices and revokes its API tokens: it is how a lost or seized
  phone is answered.
- **API tokens.** `token_issue` is called only from a session that passed the second factor; the token
  is shown once and only its SHA-256 is kept, with an expiry (MODERATION_TOKEN_TTL_HOURS). `token_user`
  is the one check, for the API's authentication class.

Each issue, enrolment and revocation appends an `AccountEvent`.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from consumers.models import hash_key
from moderation import conf
from moderation.models import AccountEvent, Enrolment, ModeratorToken

TOKEN_PREFIX = "alcm_"


def _record(*, user: Any, actor: Any, action: str, detail: str = "") -> None:
    AccountEvent.objects.create(user=user, username=user.get_username(), actor=actor, action=action, detail=detail)


# --- enrolment -----------------------------------------------------------------------------------


def normalise_code(text: str) -> str:
    """Codes are typed by hand: case, spaces and dashes do not matter."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _new_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(15)).decode()  # 120 bits, 24 characters
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def enrolment_issue(*, user: Any, actor: Any = None) -> str:
    """Make a one-time enrolment code for `user` and return it (the only time it exists in the clear).

    The account's TOTP devices are removed, its earlier codes and its API tokens are killed: whoever held
    the old phone or a token can no longer act as this moderator.
    """
    code = _new_code()
    now = timezone.now()
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        Enrolment.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        for token in ModeratorToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now):
            token_revoke(token=token, actor=actor)
        Enrolment.objects.create(
            user=user,
            code_hash=hash_key(normalise_code(code)),
            expires_at=now + timedelta(seconds=conf.enrolment_ttl_s()),
            created_by=actor,
        )
        _record(user=user, actor=actor, action=AccountEvent.Action.ENROLMENT_ISSUED)
    return code


def enrolment_for(*, user: Any, code: str) -> Enrolment | None:
    """`user`'s live enrolment named by `code`, or None (wrong, used or expired)."""
    return Enrolment.objects.filter(
        user=user,
        code_hash=hash_key(normalise_code(code)),
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).first()


def enrolment_live(*, enrolment_id: int | None) -> bool:
    if enrolment_id is None:
        return False
    return Enrolment.objects.filter(pk=enrolment_id, used_at__isnull=True, expires_at__gt=timezone.now()).exists()


def enrolment_start(*, enrolment: Enrolment) -> TOTPDevice:
    """A fresh unconfirmed TOTP device for the enrolment's user (any earlier unconfirmed one is dropped)."""
    TOTPDevice.objects.filter(user=enrolment.user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=enrolment.user, name="default", confirmed=False)


def enrolment_complete(*, enrolment_id: int, device_id: int, otp_token: str) -> TOTPDevice | None:
    """Confirm the device with its first code and spend the enrolment; None if the code is wrong or the
    enrolment is no longer live. The enrolment is claimed by a conditional update, so it works once."""
    device = TOTPDevice.objects.filter(pk=device_id, confirmed=False).select_related("user").first()
    if device is None or not device.verify_token(otp_token.strip()):
        return None
    now = timezone.now()
    with transaction.atomic():
        claimed = Enrolment.objects.filter(
            pk=enrolment_id, user=device.user, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if claimed != 1:
            return None
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        _record(user=device.user, actor=device.user, action=AccountEvent.Action.ENROLLED)
    return device


def has_confirmed_device(user: Any) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


# --- API tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once
    record: ModeratorToken


def token_issue(*, user: Any, name: str = "") -> IssuedToken:
    """A new API token for `user`. Callers must have checked that the session passed the second factor."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        record = ModeratorToken.objects.create(
            user=user,
            name=name.strip()[:100],
            prefix=token[: len(TOKEN_PREFIX) + 6],
            token_hash=hash_key(token),
            created_at=now,
            expires_at=now + timedelta(seconds=conf.token_ttl_s()),
        )
        _record(user=user, actor=user, action=AccountEvent.Action.TOKEN_ISSUED, detail=record.prefix)
    return IssuedToken(token=token, record=record)


def token_revoke(*, token: ModeratorToken, actor: Any) -> bool:
    """Revoke `token`; False if it was already revoked."""
    with transaction.atomic():
        done = ModeratorToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if done:
            _record(user=token.user, actor=actor, action=AccountEvent.Action.TOKEN_REVOKED, detail=token.prefix)
    return bool(done)


def tokens_of(*, user: Any) -> list[ModeratorToken]:
    return list(ModeratorToken.objects.filter(user=user))


class TokenRefused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code  # "invalid", "expired" or "revoked"


# last_used_at is written at most this often per token, not on every request.
_LAST_USED_STEP = timedelta(minutes=1)


def token_user(*, token: str, now: datetime | None = None) -> Any:
    """The active user that `token` belongs to; raises TokenRefused if it is unknown, expired or revoked."""
    now = now or timezone.now()
    record = ModeratorToken.objects.filter(token_hash=hash_key(token)).select_related("user").first()
    if record is None or not record.user.is_active:
        raise TokenRefused("invalid")
    if record.revoked_at is not None:
        raise TokenRefused("revoked")
    if record.expires_at <= now:
        raise TokenRefused("expired")
    if record.last_used_at is None or record.last_used_at < now - _LAST_USED_STEP:
        ModeratorToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.user
