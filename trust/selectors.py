"""Reads of trusted reporters, for the moderators' page and API."""

from __future__ import annotations

from django.db.models import Max, QuerySet

from trust.models import TrustedReporter, TrustEvent


def reporters() -> QuerySet[TrustedReporter]:
    """Every trusted reporter, newest first, with when its latest code expires (`code_expires_at`)."""
    return TrustedReporter.objects.select_related("enrolled_by", "revoked_by").annotate(
        code_expires_at=Max("enrolments__expires_at")
    )


def reporter(*, reporter_id: int) -> TrustedReporter | None:
    return reporters().filter(pk=reporter_id).first()


def reporter_events(*, reporter: TrustedReporter) -> QuerySet[TrustEvent]:
    return TrustEvent.objects.filter(reporter=reporter).select_related("actor")
