"""The moderation API for NGO tooling: token authentication, moderators only, read the queue, act."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import error_body
from config.parsers import finite_float
from incidents.errors import DomainError
from incidents.models import Incident, Report
from moderation import conf, selectors, services
from moderation.api.authentication import ModeratorTokenAuthentication


class IsModerator(BasePermission):
    def has_permission(self, request, view) -> bool:
        return conf.is_moderator(request.user)


class ModerationApi(APIView):
    authentication_classes = [ModeratorTokenAuthentication]
    permission_classes = [IsModerator]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        auth_header = getattr(exc, "auth_header", None)
        if response.status_code == 401 and auth_header and "WWW-Authenticate" not in response:
            response["WWW-Authenticate"] = auth_header
        return response

    def permission_denied(self, request, message=None, code=None):
        # Anonymous and non-moderators alike get 403, never a hint of what is behind it.
        from rest_framework.exceptions import PermissionDenied

        raise PermissionDenied("Moderators only.")


def _incident(incident: Incident) -> dict:
    return {
        "id": incident.pk,
        "kind": incident.kind,
        "status": selectors.effective_status(incident),
        "burst": incident.burst,
        "flags": selectors.incident_badges(incident),
        "counts": selectors.incident_counts(incident),
        "location": {"type": "Point", "coordinates": [round(incident.point.x, 6), round(incident.point.y, 6)]},
        "reporters": incident.reporters,
        "confidence": incident.confidence,
        "note": incident.note,
        "first_reported_at": incident.first_reported_at,
        "last_confirmed_at": incident.last_confirmed_at,
        "expires_at": incident.expires_at,
        "merged_into": incident.merged_into_id,
        "version": incident.version,
    }


def _report(report: Report) -> dict:
    return {
        "id": str(report.pk),
        "kind": report.kind,
        "state": report.state,
        "incident": report.incident_id,
        "place_text": report.place_text,
        "description": report.description,
        "observed_at": report.observed_at,
        "received_at": report.received_at,
        "accuracy_m": report.accuracy_m,
        "channel": report.channel,
        "has_photo": bool(report.photo),
    }


def _timeline_entry(entry: selectors.TimelineEntry) -> dict:
    if entry.type == "report":
        return {"at": entry.at, "type": "report", "device": entry.device, "report": str(entry.report)}
    if entry.type == "vote":
        return {"at": entry.at, "type": "vote", "device": entry.device, "still_there": entry.still_there}
    return {"at": entry.at, "type": "event", "action": entry.action, "actor": entry.actor, "reason": entry.reason}


class QueueApi(ModerationApi):
    """GET the queue: `incidents` (reported gone, contested, bursts, then the rest), the same split as `new`
    and `bursts` by the burst flag, `unlocatable`, `photos` (reports); `kind=` and `status=` filters."""

    def get(self, request: Request) -> Response:
        kinds = [value for value in request.query_params.get("kind", "").split(",") if value]
        statuses = [value for value in request.query_params.get("status", "").split(",") if value]
        queue = selectors.moderation_queue(kinds=kinds, statuses=statuses)
        return Response(
            {
                "incidents": [_incident(incident) for incident in queue.incidents],
                "new": [_incident(incident) for incident in queue.new],
                "bursts": [_incident(incident) for incident in queue.bursts],
                "unlocatable": [_report(report) for report in queue.unlocatable],
                "photos": [_report(report) for report in queue.photos],
            }
        )


class IncidentApi(ModerationApi):
    """GET one incident with its evidence: flags, counts and the timeline of reports, votes and audit
    entries, devices numbered within the incident (never a device hash or a source tag)."""

    def get(self, request: Request, incident_id: int) -> Response:
        incident = selectors.incident_for_moderation(incident_id=incident_id)
        if incident is None:
            return Response(error_body("not_found", "There is no such incident."), status=404)
        timeline = [_timeline_entry(entry) for entry in selectors.incident_timeline(incident=incident)]
        return Response({**_incident(incident), "timeline": timeline})


class IncidentActionApi(ModerationApi):
    """POST {action: verify|reject|clear|keep|note|move|merge, reason, note, location, other, contested} →
    the incident. `keep` confirms it is still there: it clears `reported_gone` (and, with `contested: true`,
    `contested`)."""

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["verify", "reject", "clear", "keep", "note", "move", "merge"])
        contested = serializers.BooleanField(required=False, default=False)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
        note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
        other = serializers.IntegerField(required=False, min_value=1)
        location = serializers.JSONField(required=False)

    def post(self, request: Request, incident_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        action, reason, user = values["action"], values["reason"], request.user
        if action == "verify":
            incident = services.incident_verify(incident_id=incident_id, moderator=user, reason=reason)
        elif action == "reject":
            incident = services.incident_reject(incident_id=incident_id, moderator=user, reason=reason)
        elif action == "clear":
            incident = services.incident_clear(incident_id=incident_id, moderator=user, reason=reason)
        elif action == "keep":
            incident = services.incident_keep(
                incident_id=incident_id, moderator=user, reason=reason, contested=values["contested"]
            )
        elif action == "note":
            incident = services.incident_note(incident_id=incident_id, moderator=user, note=values["note"])
        elif action == "merge":
            if "other" not in values:
                raise DomainError("invalid", "Give `other`, the id of the incident to merge with.", field="other")
            incident = services.incidents_merge(
                incident_ids=[incident_id, values["other"]], moderator=user, reason=reason
            )
        else:
            location = values.get("location") or {}
            if not isinstance(location, dict):
                location = {}
            coordinates = location.get("coordinates")
            if location.get("type") != "Point" or not isinstance(coordinates, list) or len(coordinates) != 2:
                raise DomainError("invalid_location", "location must be a GeoJSON Point.", field="location")
            # Numbers only, and finite: a 400-digit integer, NaN or an infinity is no coordinate.
            lon, lat = finite_float(coordinates[0]), finite_float(coordinates[1])
            if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise DomainError(
                    "invalid_location",
                    "location's coordinates must be numbers: [longitude within ±180, latitude within ±90].",
                    field="location",
                )
            point = Point(lon, lat, srid=4326)
            incident = services.incident_move(incident_id=incident_id, moderator=user, point=point, reason=reason)
        return Response(_incident(incident))


class IncidentEventsApi(ModerationApi):
    """GET the audit log of one incident (read-only: there is no way to change it)."""

    def get(self, request: Request, incident_id: int) -> Response:
        incident = selectors.incident_for_moderation(incident_id=incident_id)
        if incident is None:
            return Response(error_body("not_found", "There is no such incident."), status=404)
        return Response(
            [
                {
                    "id": event.pk,
                    "action": event.action,
                    "actor": event.actor.get_username() if event.actor else None,
                    "before": event.before,
                    "after": event.after,
                    "reason": event.reason,
                    "created_at": event.created_at,
                    "report": str(event.report_id) if event.report_id else None,
                }
                for event in selectors.incident_audit(incident=incident)
            ]
        )
