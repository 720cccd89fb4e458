from __future__ import annotations

from functools import update_wrapper
from urllib.parse import urlencode

from django.http import HttpResponseForbidden, HttpResponseRedirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite


class AlcabalaAdminSite(OTPAdminSite):
    """The admin for verified staff only.

    Anyone else gets 403 on every admin page (never a redirect that shows the admin exists beyond its
    log-in), except that staff who have logged in without the second factor are sent to give it. The
    log-in itself is the moderators' one (password, then the TOTP code, with throttling and lockout).
    """

    site_header = "Alcabala"
    site_title = "Alcabala"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def wrapper(request, *args, **kwargs):
            user = request.user
            if not self.has_permission(request):
                if user.is_authenticated and user.is_active and user.is_staff and not user.is_verified():
                    query = urlencode({"next": request.get_full_path()})
                    return HttpResponseRedirect(f"{reverse('moderation:verify')}?{query}")
                return HttpResponseForbidden(b"Forbidden")
            return inner(request, *args, **kwargs)

        return update_wrapper(wrapper, inner)

    def login(self, request, extra_context=None):
        query = urlencode({"next": request.GET.get("next") or reverse("admin:index")})
        return HttpResponseRedirect(f"{reverse('moderation:login')}?{query}")
