"""Staff see every webhook, why one was disabled and its recent tries, and switch webhooks on or off."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from watch import net, services
from watch.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


class RecentDeliveries(admin.TabularInline):
    model = WebhookDelivery
    fields = ("event", "state", "attempts", "next_attempt_at", "delivered_at", "last_try")
    readonly_fields = fields
    ordering = ["-id"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event")

    @admin.display(description="Last try")
    def last_try(self, obj: WebhookDelivery) -> str:
        attempt = WebhookAttempt.objects.filter(delivery=obj).order_by("-at", "-id").first()
        if attempt is None:
            return "—"
        return f"{attempt.at:%Y-%m-%d %H:%M:%S} {attempt.status_code or attempt.error}"


class WebhookForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookSubscription
        fields = ["api_key", "url", "min_lon", "min_lat", "max_lon", "max_lat", "kinds", "events", "active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            net.check_url(url)
        except net.UrlRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("id", "api_key", "url", "active", "consecutive_failures", "disabled_reason", "last_delivery_at")
    list_filter = ("active",)
    search_fields = ("url", "api_key__name")
    fields = (
        "api_key",
        "url",
        ("min_lon", "min_lat", "max_lon", "max_lat"),
        "kinds",
        "events",
        "active",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "last_delivery_at",
        "created_at",
    )
    readonly_fields = ("consecutive_failures", "disabled_at", "disabled_reason", "last_delivery_at", "created_at")
    inlines = [RecentDeliveries]
    actions = ["enable", "disable"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # The only time the secret is shown, as for API keys.
            self.message_user(
                request,
                format_html("The signing secret of this webhook: <code>{}</code> — pass it on now.", obj.secret),
                messages.WARNING,
            )

    @admin.action(description="Switch the selected webhooks on (failure count reset)")
    def enable(self, request, queryset):
        for subscription in queryset:
            services.webhook_enable(subscription=subscription)
        self.message_user(request, f"Switched on {queryset.count()} webhooks.")

    @admin.action(description="Switch the selected webhooks off")
    def disable(self, request, queryset):
        for subscription in queryset:
            services.webhook_disable(subscription=subscription, reason=f"switched off by staff ({request.user})")
        self.message_user(request, f"Switched off {queryset.count()} webhooks.")
