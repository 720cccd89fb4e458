"""Django admin for staff with a verified second factor (moderation.admin_site). Edits of incidents go
through the moderation services, so every change takes a version and an audit row; the audit log itself
is read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from leaflet.admin import LeafletGeoAdmin

from incidents.errors import DomainError
from incidents.models import Incident, ModerationEvent, Report
from moderation import services
from moderation.forms import AdminPointWidget


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyMixin, LeafletGeoAdmin):
    list_display = ("id", "kind", "status", "place", "reporters", "burst", "updated_at")
    list_filter = ("kind", "status", "burst")
    search_fields = ("place", "note")
    fields = ("kind", "status", "point", "place", "note", "reporters", "confidence", "burst", "expires_at")
    readonly_fields = ("kind", "status", "place", "reporters", "confidence", "burst", "expires_at")
    actions = ["verify_selected"]
    widget = AdminPointWidget  # an unreadable point comes back as the form's error, not a 500

    def save_model(self, request, obj, form, change) -> None:
        """Only the point and the note are editable, and both go through the services (version + audit)."""
        try:
            if "point" in form.changed_data:
                services.incident_move(incident_id=obj.pk, moderator=request.user, point=obj.point, reason="admin")
            if "note" in form.changed_data:
                services.incident_note(incident_id=obj.pk, moderator=request.user, note=obj.note)
        except DomainError as exc:
            messages.error(request, exc.detail)

    @admin.action(description="Verify the selected incidents")
    def verify_selected(self, request, queryset) -> None:
        try:
            done = services.incidents_bulk(
                incident_ids=queryset.values_list("pk", flat=True), action="verify", moderator=request.user
            )
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"{len(done)} verified.")


@admin.register(Report)
class ReportAdmin(ReadOnlyMixin, LeafletGeoAdmin):
    list_display = ("id", "kind", "state", "incident", "channel", "received_at")
    list_filter = ("kind", "state", "channel")
    fields = (
        "kind",
        "state",
        "point",
        "place_text",
        "description",
        "accuracy_m",
        "observed_at",
        "received_at",
        "channel",
        "incident",
        "photo_approved",
        "purged_at",
    )
    modifiable = False  # the map shows the point; reports are changed through the moderation pages

    def get_readonly_fields(self, request, obj=None):
        return [name for name in self.fields if name != "point"]

    def has_change_permission(self, request, obj=None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)


@admin.register(ModerationEvent)
class ModerationEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "incident", "action", "actor", "reason")
    list_filter = ("action",)
    readonly_fields = ("incident", "report", "actor", "action", "before", "after", "reason", "created_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False
