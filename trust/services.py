"""Trusted reporters: the only writes (architecture §6.9, issue 15 item 7).

A moderator enrols a field reporter they know under a pseudonym (`enrol`), which makes a one-time code that
expires after TRUST_ENROLMENT_TTL_HOURS. The reporter's phone redeems it once (`redeem`) for a random trusted
token, kept on the phone and sent as its device token; the server keeps only a keyed hash of the code and of
the token (trust/keys.py). `trusted_reporter` is the one check that a token is trusted; `revoke` ends that
in one action. Reports of a trusted reporter are linked to it by `report_mark`, and a moderator's rejection
of an incident they reported is counted once per incident by `rejections_record`. Every step appends a
`TrustEvent`.

Callers check that `actor` is a moderator with a verified second factor (the moderation pages, API and the
`trust_enrol` command do): this module imports nothing of moderation, incidents' services or API, so that
incidents.services can call it without a cycle.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.errors import DomainError
from trust import conf
from trust.keys import code_key, token_key
from trust.models import TrustedReport, TrustedReporter, TrustEnrolment, TrustEvent

# A token is 64 hex characters: the shape a device token may take everywhere (the API's `device`, and the
# no-JavaScript form's device cookie, which takes 16 to 64 letters and digits).
TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 200


class CodeRefused(DomainError):
    """An enrolment code that cannot be redeemed: unknown, expired, already used, or its reporter revoked."""

    default_field = "code"


def _record(
    *, reporter: TrustedReporter, action: str, actor: Any = None, now: datetime, incident_id: int | None = None
) -> TrustEvent:
    return TrustEvent.objects.create(
        reporter=reporter, label=reporter.label, actor=actor, action=action, incident_id=incident_id, created_at=now
    )


def _new_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(15)).decode()  # 120 bits, 24 characters
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def enrol(*, label: str, actor: Any, now: datetime | None = None) -> tuple[TrustEnrolment, str]:
    """Enrol a trusted reporter under the pseudonym `label` and return its enrolment and one-time code.

    The code exists in the clear only in this return value: it is to be shown once. It works once, until
    `expires_at`. Labels are unique; a reporter whose phone was lost is revoked and enrolled again under a
    new label.
    """
    now = now or timezone.now()
    label = " ".join(label.split())
    if not label or len(label) > conf.LABEL_MAX_LENGTH:
        raise DomainError(
            "invalid_label",
            _("Give a pseudonym of at most %(n)d characters, such as T-17. Never a real name.")
            % {"n": conf.LABEL_MAX_LENGTH},
            field="label",
        )
    code = _new_code()
    with transaction.atomic():
        if TrustedReporter.objects.filter(label__iexact=label).exists():
            raise DomainError(
                "label_taken",
                _("The pseudonym %(label)s is already in use. Choose another one.") % {"label": label},
                field="label",
                status_code=409,
            )
        reporter = TrustedReporter.objects.create(label=label, enrolled_by=actor, created_at=now)
        enrolment = TrustEnrolment.objects.create(
            reporter=reporter,
            code_hash=code_key(code),
            created_at=now,
            expires_at=now + timedelta(seconds=conf.enrolment_ttl_s()),
        )
        _record(reporter=reporter, action=TrustEvent.Action.ENROLLED, actor=actor, now=now)
    return enrolment, code


def _refuse(enrolment: TrustEnrolment, action: str, now: datetime, code: str, detail: str, status: int) -> None:
    _record(reporter=enrolment.reporter, action=action, now=now)
    raise CodeRefused(code, detail, status_code=status)


def redeem(*, code: str, now: datetime | None = None) -> str:
    """Spend a live enrolment code and return a new trusted token (the only time it exists in the clear).

    The code is claimed by a conditional update, so of two phones sending it at once only one gets a token.
    Refuses, as a `CodeRefused` (a DomainError on the field `code`), a code that is unknown (400), expired
    (410), used (409) or whose reporter was revoked (403); refusals of a known code are audited.
    """
    now = now or timezone.now()
    enrolment = TrustEnrolment.objects.filter(code_hash=code_key(code)).select_related("reporter").first()
    if enrolment is None:
        raise CodeRefused(
            "code_unknown",
            _("This code is not known. Check that you typed it as it was given to you, or ask for a new one."),
        )
    if enrolment.reporter.revoked_at is not None:
        _refuse(
            enrolment,
            TrustEvent.Action.CODE_REVOKED,
            now,
            "code_revoked",
            _("This code no longer works. Ask the person who enrolled you."),
            403,
        )
    if enrolment.used_at is not None:
        _refuse(
            enrolment,
            TrustEvent.Action.CODE_USED,
            now,
            "code_used",
            _("This code was already used, and works only once. Ask the person who enrolled you for a new one."),
            409,
        )
    if enrolment.expires_at <= now:
        _refuse(
            enrolment,
            TrustEvent.Action.CODE_EXPIRED,
            now,
            "code_expired",
            _("This code has expired. Ask the person who enrolled you for a new one."),
            410,
        )
    token = secrets.token_hex(TOKEN_BYTES)
    with transaction.atomic():
        claimed = TrustEnrolment.objects.filter(pk=enrolment.pk, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now
        )
        bound = claimed and TrustedReporter.objects.filter(
            pk=enrolment.reporter_id, revoked_at__isnull=True, key__isnull=True
        ).update(key=token_key(token), redeemed_at=now)
        if not bound:
            transaction.set_rollback(True)
        else:
            _record(reporter=enrolment.reporter, action=TrustEvent.Action.REDEEMED, now=now)
    if not bound:
        raise CodeRefused(
            "code_used",
            _("This code was already used, and works only once. Ask the person who enrolled you for a new one."),
            status_code=409,
        )
    return token


def revoke(*, reporter: TrustedReporter, actor: Any, now: datetime | None = None) -> bool:
    """Revoke a trusted reporter in one action: its token no longer counts as trusted and its unused code
    dies. False if it was already revoked (nothing is written then)."""
    now = now or timezone.now()
    with transaction.atomic():
        done = TrustedReporter.objects.filter(pk=reporter.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor
        )
        if done:
            TrustEnrolment.objects.filter(reporter=reporter, used_at__isnull=True, expires_at__gt=now).update(
                expires_at=now
            )
            _record(reporter=reporter, action=TrustEvent.Action.REVOKED, actor=actor, now=now)
    if done:
        reporter.revoked_at, reporter.revoked_by = now, actor
    return bool(done)


def trusted_reporter(token: str | None) -> TrustedReporter | None:
    """The active (redeemed, not revoked) trusted reporter whose token this is, or None."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return TrustedReporter.objects.filter(
        key=token_key(token), redeemed_at__isnull=False, revoked_at__isnull=True
    ).first()


def report_mark(*, report_id: UUID | str, reporter: TrustedReporter) -> TrustedReport:
    """Link a report to the trusted reporter who sent it (once: a second call returns the first link)."""
    with transaction.atomic():
        link, created = TrustedReport.objects.get_or_create(report_id=report_id, defaults={"reporter": reporter})
        if created:
            TrustedReporter.objects.filter(pk=reporter.pk).update(reports=F("reports") + 1)
    return link


def rejections_record(*, report_ids: Iterable[UUID | str], actor: Any, now: datetime | None = None) -> int:
    """Count a moderator's rejection of an incident on every trusted reporter among `report_ids`' senders:
    once per incident and reporter, however many of their reports it held or how often this is called.
    Reports without an incident are not counted. Returns how many rejections were newly counted."""
    now = now or timezone.now()
    pairs = set(
        TrustedReport.objects.filter(report_id__in=list(report_ids), report__incident__isnull=False).values_list(
            "reporter_id", "report__incident_id"
        )
    )
    counted = 0
    for reporter_id, incident_id in sorted(pairs):
        with transaction.atomic():
            # The lock serialises two rejections of one reporter (PostgreSQL; SQLite writes one at a time).
            reporter = TrustedReporter.objects.select_for_update().get(pk=reporter_id)
            seen = TrustEvent.objects.filter(
                reporter=reporter, action=TrustEvent.Action.REJECTION_COUNTED, incident_id=incident_id
            ).exists()
            if seen:
                continue
            _record(
                reporter=reporter,
                action=TrustEvent.Action.REJECTION_COUNTED,
                actor=actor,
                now=now,
                incident_id=incident_id,
            )
            TrustedReporter.objects.filter(pk=reporter_id).update(rejections=F("rejections") + 1)
            counted += 1
    return counted
