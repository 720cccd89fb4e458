"""The webhooks API, `/api/v1/webhooks`: a consumer's API key registers, lists, switches on and deletes its webhooks."""

from __future__ import annotations

import math

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApiError
from config.fields import StrictBooleanField
from consumers import throttle
from geo.spatial import bbox_bounds
from incidents import conf as incidents_conf
from incidents.api import params
from incidents.api.schema import ERROR
from incidents.models import EventType
from watch import selectors, services
from watch.models import WebhookSubscription


def _api_key_id(request: Request) -> int:
    """The id of the API key that sent the request: webhooks belong to a key, anonymous callers have none."""
    client = throttle.identify(request)
    if client.scope != "key":
        raise ApiError("key_required", "Webhooks need an API key: send Authorization: Token <key>.", status_code=401)
    return int(client.ident)


class BBoxField(serializers.ListField):
    """[minLon, minLat, maxLon, maxLat], or six numbers with heights (dropped), checked by the one bbox parser:
    a minLon above maxLon is a box across the antimeridian."""

    child = serializers.FloatField()

    def to_internal_value(self, data):
        detail = "bbox must be [minLon, minLat, maxLon, maxLat] (or six numbers with heights) in degrees."
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError:  # a member that is no finite number (NaN, 1e400, a 400-digit integer)
            raise serializers.ValidationError(detail) from None
        if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
            raise serializers.ValidationError(detail)
        try:
            area = params.parse_bbox(",".join(repr(v) for v in values))
        except ApiError as exc:
            raise serializers.ValidationError(str(exc.detail)) from None
        assert area is not None  # four or six numbers were given
        return list(bbox_bounds(area))


@extend_schema_serializer(component_name="Webhook")
class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    bbox = serializers.ListField(child=serializers.FloatField(), allow_null=True, min_length=4, max_length=4)
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=list(incidents_conf.KINDS)))
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.values))
    active = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(allow_blank=True)
    last_delivery_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="WebhookCreated")
class WebhookCreatedOutput(WebhookOutput):
    secret = serializers.CharField(help_text="Signs every delivery; shown this once only.")


def _out(subscription: WebhookSubscription, *, with_secret: bool = False) -> dict:
    serializer = WebhookCreatedOutput if with_secret else WebhookOutput
    return dict(serializer(subscription).data)


ERRORS = {
    400: OpenApiResponse(response=ERROR, description="The body is not valid: see `fields`."),
    401: OpenApiResponse(response=ERROR, description="No API key, or one not valid or revoked."),
}
KEY = OpenApiParameter(
    "Authorization",
    str,
    OpenApiParameter.HEADER,
    description="`Token <key>`: the API key the webhooks belong to.",
    required=True,
)
NOT_FOUND = OpenApiResponse(response=ERROR, description="This key has no webhook with this id.")


class WebhookListApi(APIView):
    @extend_schema_serializer(component_name="WebhookInput")
    class InputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=500, help_text="http(s) URL on a public address; receives the POSTs.")
        bbox = BBoxField(
            required=False,
            allow_null=True,
            help_text="[minLon, minLat, maxLon, maxLat]; minLon > maxLon: across the antimeridian; none: all.",
        )
        kinds = serializers.ListField(
            child=serializers.ChoiceField(choices=list(incidents_conf.KINDS)), required=False, default=list
        )
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=EventType.values),
            required=False,
            default=list,
            help_text="Event types to send; none: all.",
        )

    @extend_schema(
        operation_id="webhooks_list",
        parameters=[KEY],
        summary="This key's webhooks",
        responses={200: WebhookOutput(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        key_id = _api_key_id(request)
        return Response([_out(subscription) for subscription in selectors.webhooks_of(api_key_id=key_id)])

    @extend_schema(
        operation_id="webhooks_create",
        parameters=[KEY],
        summary="Register a webhook for an area",
        request=InputSerializer,
        responses={
            201: WebhookCreatedOutput,
            409: OpenApiResponse(response=ERROR, description="This key holds as many webhooks as it may."),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        key_id = _api_key_id(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = services.webhook_create(
            api_key_id=key_id, url=data["url"], bbox=data.get("bbox"), kinds=data["kinds"], events=data["events"]
        )
        return Response(_out(subscription, with_secret=True), status=201)


class WebhookDetailApi(APIView):
    @extend_schema_serializer(component_name="WebhookUpdate")
    class InputSerializer(serializers.Serializer):
        active = StrictBooleanField(help_text="true switches a disabled webhook on again.")

    def _subscription(self, request: Request, webhook_id: int) -> WebhookSubscription:
        subscription = selectors.webhook_of(api_key_id=_api_key_id(request), webhook_id=webhook_id)
        if subscription is None:
            raise ApiError("not_found", "This key has no webhook with this id.", status_code=404)
        return subscription

    @extend_schema(
        operation_id="webhooks_detail",
        parameters=[KEY],
        summary="One webhook",
        responses={200: WebhookOutput, 404: NOT_FOUND, **ERRORS},
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        return Response(_out(self._subscription(request, webhook_id)))

    @extend_schema(
        operation_id="webhooks_update",
        parameters=[KEY],
        summary="Switch a webhook on or off",
        request=InputSerializer,
        responses={200: WebhookOutput, 404: NOT_FOUND, **ERRORS},
    )
    def patch(self, request: Request, webhook_id: int) -> Response:
        subscription = self._subscription(request, webhook_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["active"]:
            subscription = services.webhook_enable(subscription=subscription)
        elif subscription.active:
            services.webhook_disable(subscription=subscription, reason="switched off by the consumer")
            subscription.refresh_from_db()
        return Response(_out(subscription))

    @extend_schema(
        operation_id="webhooks_delete",
        parameters=[KEY],
        summary="Delete a webhook",
        responses={204: OpenApiResponse(description="Deleted."), 404: NOT_FOUND, **ERRORS},
    )
    def delete(self, request: Request, webhook_id: int) -> Response:
        services.webhook_delete(subscription=self._subscription(request, webhook_id))
        return Response(status=204)
