"""Trusted reporters and their log in the admin, read-only: enrolling and revoking go through the services
(the moderators' page, the API or `trust_enrol`), which write the audit log."""

from __future__ import annotations

from django.contrib import admin

from trust.models import TrustedReporter, TrustEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TrustedReporter)
class TrustedReporterAdmin(ReadOnlyAdmin):
    list_display = ("label", "rejections", "reports", "enrolled_by", "created_at", "redeemed_at", "revoked_at")
    exclude = ("key",)
    search_fields = ("label",)


@admin.register(TrustEvent)
class TrustEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "label", "action", "actor", "incident_id")
    list_filter = ("action",)
    search_fields = ("label",)
