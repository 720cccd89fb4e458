"""Trusted reporters over HTTP: `POST /api/v1/trusted` redeems a code for a trusted token (public), and the
moderation API lists, enrols and revokes them (moderator tokens, like the rest of /api/moderation/v1/)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import error_body
from config.fields import StrictCharField
from incidents import abuse
from incidents.api.schema import CROSS_SITE, ERROR, ERRORS
from moderation.api.views import ModerationApi
from trust import selectors, services, throttle
from trust.models import TrustedReporter

_TOKEN = {
    "type": "object",
    "required": ["token"],
    "properties": {
        "token": {
            "type": "string",
            "description": "The trusted token: send it as `device` with reports and votes. Shown only this once.",
        }
    },
}


class TrustedRedeemApi(APIView):
    """POST {"code"} → 201 {"token"}: a one-time code from a moderator, spent for this phone's trusted token."""

    class InputSerializer(serializers.Serializer):
        code = StrictCharField(max_length=64)

    @extend_schema(
        operation_id="trusted_redeem",
        summary="Redeem a trusted reporter's one-time code",
        request=InputSerializer,
        responses={
            201: OpenApiResponse(response=_TOKEN, description="The code is spent; this is the trusted token."),
            400: OpenApiResponse(response=ERROR, description="`code_unknown`, or the body is not valid."),
            403: CROSS_SITE,
            409: OpenApiResponse(response=ERROR, description="`code_used`: the code works once."),
            410: OpenApiResponse(response=ERROR, description="`code_expired`: ask for a new code."),
            413: OpenApiResponse(response=ERROR, description="The body is too large."),
            415: OpenApiResponse(response=ERROR, description="Send application/json."),
            429: ERRORS[429],
        },
    )
    def post(self, request: Request) -> Response:
        abuse.same_origin_guard(request)  # before the body is read or the attempt counted
        throttle.redeem_guard(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.redeem(code=data.validated_data["code"])
        return Response({"token": token}, status=201, headers={"Cache-Control": "no-store"})


def reporter_body(reporter: TrustedReporter) -> dict:
    return {
        "id": reporter.pk,
        "label": reporter.label,
        "rejections": reporter.rejections,
        "reports": reporter.reports,
        "enrolled_by": reporter.enrolled_by.get_username(),
        "created_at": reporter.created_at,
        "redeemed_at": reporter.redeemed_at,
        "revoked_at": reporter.revoked_at,
        "revoked_by": reporter.revoked_by.get_username() if reporter.revoked_by else None,
        "active": reporter.active,
    }


class TrustedReportersApi(ModerationApi):
    """GET the trusted reporters; POST {"label"} enrols one → 201 with its one-time `code` (shown once)."""

    class InputSerializer(serializers.Serializer):
        # The wire field is `label`, which shadows Field.label (a str) on the serializer class.
        label = serializers.CharField(max_length=100)  # type: ignore[assignment]

    def get(self, request: Request) -> Response:
        return Response([reporter_body(reporter) for reporter in selectors.reporters()])

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrolment, code = services.enrol(label=data.validated_data["label"], actor=request.user)
        reporter = selectors.reporter(reporter_id=enrolment.reporter_id)
        assert reporter is not None  # just made
        body = {**reporter_body(reporter), "code": code, "code_expires_at": enrolment.expires_at}
        return Response(body, status=201, headers={"Cache-Control": "no-store"})


class TrustedReporterRevokeApi(ModerationApi):
    """POST revokes the trusted reporter (again: nothing changes) → the reporter."""

    def post(self, request: Request, reporter_id: int) -> Response:
        reporter = selectors.reporter(reporter_id=reporter_id)
        if reporter is None:
            return Response(error_body("not_found", "There is no such trusted reporter."), status=404)
        services.revoke(reporter=reporter, actor=request.user)
        return Response(reporter_body(reporter))
