from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from consumers import services
from consumers.models import ApiKey, hash_key, new_key


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "reads_per_minute", "created_at", "created_by", "revoked_at")
    readonly_fields = ("prefix", "created_at", "created_by", "revoked_at")
    fields = ("name", "reads_per_minute", "prefix", "created_at", "created_by", "revoked_at")
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            services.forget_key(obj.key_hash)
            return
        key = new_key()
        obj.prefix = key[:12]
        obj.key_hash = hash_key(key)
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        # The only time the key is shown: it is not stored, only its hash.
        self.message_user(
            request,
            format_html("The key for {}: <code>{}</code> — copy it now; it will not be shown again.", obj.name, key),
            messages.WARNING,
        )

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so that the record of who had a key stays

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} keys.")
