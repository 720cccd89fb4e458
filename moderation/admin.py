"""Admin for moderators' accounts: issue enrolment codes, see and revoke API tokens, read the account log."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.template.response import TemplateResponse
from django.utils import timezone

from moderation import accounts, conf
from moderation.models import AccountEvent, ModeratorToken

User = get_user_model()


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ModeratorToken)
class ModeratorTokenAdmin(admin.ModelAdmin):
    """Tokens are issued only by their moderator, after the second factor (/moderate/tokens)."""

    list_display = ("prefix", "user", "name", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "prefix", "name")
    actions = ["revoke_selected"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset) -> None:
        done = sum(accounts.token_revoke(token=token, actor=request.user) for token in queryset)
        self.message_user(request, f"{done} token(s) revoked.", messages.SUCCESS)


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "username", "action", "actor", "detail")
    list_filter = ("action",)
    search_fields = ("username", "detail")


admin.site.unregister(User)


@admin.register(User)
class AlcabalaUserAdmin(UserAdmin):
    actions = ["issue_enrolment_codes"]

    @admin.action(description="Issue a one-time enrolment code (removes their devices and API tokens)")
    def issue_enrolment_codes(self, request, queryset):
        issued = [(user, accounts.enrolment_issue(user=user, actor=request.user)) for user in queryset]
        context = {
            **self.admin_site.each_context(request),
            "title": "Enrolment codes",
            "issued": issued,
            "expires_at": timezone.now() + timedelta(seconds=conf.enrolment_ttl_s()),
        }
        return TemplateResponse(request, "moderation/admin_enrolment_issued.html", context)
