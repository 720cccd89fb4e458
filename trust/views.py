"""The trusted reporters' pages: `/trusted`, where a phone redeems its code, and the moderators' list at
`/moderate/trusted` (enrol, revoke). Thin: parse, call one service, render (architecture §6.9)."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from incidents import abuse
from incidents.errors import DomainError
from incidents.views import DEVICE_COOKIE
from moderation.views import moderator_required
from trust import conf, selectors, services, throttle
from trust.forms import EnrolForm, RedeemForm


def redeem_url(request: HttpRequest, code: str) -> str:
    """Where a phone that scans the QR code lands: the code rides in the fragment, which the browser never
    sends, so it reaches no server log; the page's script fills the form with it and drops it from the
    address bar."""
    return request.build_absolute_uri(reverse("trusted")) + "#code=" + code


def qr_svg(text: str) -> SafeString:
    # segno draws the modules as one path; nothing of `text` is written into the markup as text.
    return mark_safe(segno.make(text, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff"))


# --- the reporter's page -------------------------------------------------------------------------


def _js_strings() -> dict[str, str]:
    return {
        "sending": _("Checking the code…"),
        "failed": _("Could not reach the server. Check the connection and try again."),
        "needCode": _("Type the code you were given."),
    }


def _form_page(request: HttpRequest, form: RedeemForm, status: int) -> HttpResponse:
    context = {"form": form, "js_strings": _js_strings()}
    return render(request, "trust/trusted.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def trusted_view(request: HttpRequest) -> HttpResponse:
    """Redeem a code without JavaScript: a plain form. With JavaScript, static/report/trusted.js sends it to
    the JSON endpoint instead and keeps the token in localStorage; this form's answer is then never used."""
    form = RedeemForm(request.POST or None)
    status = 200
    if request.method == "POST":
        abuse.same_origin_guard(request)  # before anything is counted or checked
        try:
            throttle.redeem_guard(request)
        except abuse.RateLimited as exc:
            form.add_error(None, exc.detail)
            response = _form_page(request, form, 429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        status = 400
        if form.is_valid():
            try:
                token = services.redeem(code=form.cleaned_data["code"])
            except services.CodeRefused as exc:
                form.add_error("code", exc.detail)
                status = exc.status_code
            else:
                response = render(request, "trust/trusted_done.html", {"token": token})
                # A browser without scripts sends the no-JavaScript report form and votes with its device
                # cookie: from now on that is the trusted token (HttpOnly, SameSite=Strict, never in a page
                # but this one). The quick exit's Clear-Site-Data erases it.
                response.set_cookie(
                    DEVICE_COOKIE,
                    token,
                    max_age=conf.cookie_max_age_s(),
                    httponly=True,
                    samesite="Strict",
                    secure=request.is_secure(),
                )
                return response
    return _form_page(request, form, status)


# --- the moderators' pages -----------------------------------------------------------------------


@moderator_required
@require_http_methods(["GET", "POST"])
def reporters_view(request: HttpRequest) -> HttpResponse:
    """Every trusted reporter, and the form that enrols one: its code and QR are shown on this answer only."""
    form = EnrolForm(request.POST or None)
    issued = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                enrolment, code = services.enrol(label=form.cleaned_data["label"], actor=request.user)
            except DomainError as exc:
                form.add_error("label" if exc.field == "label" else None, exc.detail)
                status = exc.status_code
            else:
                url = redeem_url(request, code)
                issued = {"enrolment": enrolment, "code": code, "url": url, "qr": qr_svg(url)}
                form = EnrolForm()
                status = 200
    context = {
        "form": form,
        "issued": issued,
        "reporters": selectors.reporters(),
        "now": timezone.now(),
        "ttl_hours": conf.enrolment_ttl_s() // 3600,
    }
    return render(request, "trust/reporters.html", context, status=status)


@moderator_required
@require_POST
def reporter_revoke_view(request: HttpRequest, reporter_id: int) -> HttpResponse:
    reporter = selectors.reporter(reporter_id=reporter_id)
    if reporter is None:
        raise Http404
    if services.revoke(reporter=reporter, actor=request.user):
        messages.success(request, _("%(label)s is revoked: that phone's token no longer counts.") % {"label": reporter})
    return HttpResponseRedirect(reverse("moderation:trusted"), status=303)
