"""The moderators' pages: thin views over moderation.services and moderation.selectors."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.gis.geos import Polygon
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.middleware import is_verified as otp_is_verified
from django_otp.plugins.otp_totp.models import TOTPDevice

from incidents import conf as incidents_conf
from incidents.errors import DomainError
from incidents.models import Kind, Status
from moderation import accounts, conf, selectors, services, throttle
from moderation.forms import CorrectionForm, EnrolForm, IssueTokenForm, LoginForm, PointForm, TokenForm
from moderation.models import ModeratorToken

ViewFunc = Callable[..., HttpResponseBase]


class CspRequest(HttpRequest):
    """A request as django-csp's CSPMiddleware leaves it: with the nonce that lets a page's inline script run."""

    csp_nonce: str


def _denied(request: HttpRequest) -> HttpResponse:
    return render(request, "moderation/denied.html", status=403)


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return default


def _may_log_in(user) -> bool:
    return user is not None and user.is_active and (user.is_staff or conf.is_moderator(user))


def moderator_required(view: ViewFunc) -> ViewFunc:
    """Moderators with a verified second factor only: 403 for everyone else, and a moderator who has
    not given the second factor in this session is sent to give it."""

    @wraps(view)
    @never_cache
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        user = request.user
        if not conf.is_moderator(user):
            return _denied(request)
        if not otp_is_verified(user):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('moderation:verify')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper


def _locked_out(request: HttpRequest, form, wait: int, template: str = "moderation/login.html") -> HttpResponse:
    minutes = max(1, -(-wait // 60))
    form.add_error(None, _("Too many failed attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes})
    return render(request, template, {"form": form, "next": _next_url(request, "")}, status=429)


def _log_in_verified(request: HttpRequest, user, device) -> HttpResponse:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    otp_login(request, device)
    response = HttpResponseRedirect(_next_url(request, reverse("moderation:queue")))
    throttle.remember_browser(response, username=user.get_username())
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Password and TOTP code in one step. Each attempt is counted before it is checked, per account and
    network (moderation/throttle.py). An account without a confirmed device cannot log in: it is enrolled
    with a one-time code (`enrol_view`)."""
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        wait = throttle.login_attempt(request, username=username)
        if wait:
            return _locked_out(request, form, wait)
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        device = None
        if _may_log_in(user) and not accounts.has_confirmed_device(user):
            form.add_error(
                None,
                _(
                    "This account has no second factor yet, so it cannot log in with a password alone. "
                    "Ask an administrator for an enrolment code and use it on the enrolment page."
                ),
            )
            context = {"form": form, "next": _next_url(request, ""), "needs_enrolment": True}
            return render(request, "moderation/login.html", context, status=403)
        if _may_log_in(user) and form.cleaned_data["otp_token"]:
            device = match_token(user, form.cleaned_data["otp_token"].strip())
        if device is None:
            form.add_error(None, _("The user name, password or code is not right."))
            return render(request, "moderation/login.html", {"form": form, "next": _next_url(request, "")}, status=400)
        throttle.login_succeeded(request, username=username)
        return _log_in_verified(request, user, device)
    status = 400 if request.method == "POST" else 200
    return render(request, "moderation/login.html", {"form": form, "next": _next_url(request, "")}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    """A logged-in moderator or staff member who has not given the second factor in this session."""
    user = request.user
    if not _may_log_in(user):
        return _denied(request)
    if not accounts.has_confirmed_device(user):
        logout(request)
        messages.error(request, _("This account has no second factor yet. Ask an administrator for an enrolment code."))
        return HttpResponseRedirect(reverse("moderation:enrol"))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = throttle.login_attempt(request, username=user.get_username())
        if wait:
            return _locked_out(request, form, wait, "moderation/verify.html")
        device = match_token(user, form.cleaned_data["otp_token"].strip())
        if device is not None:
            otp_login(request, device)
            throttle.login_succeeded(request, username=user.get_username())
            return HttpResponseRedirect(_next_url(request, reverse("moderation:queue")))
        form.add_error(None, _("That code is not right."))
    return render(
        request,
        "moderation/verify.html",
        {"form": form, "next": _next_url(request, "")},
        status=400 if form.errors else 200,
    )


ENROLMENT_SESSION_KEY = "alc_enrolment"


@never_cache
@require_http_methods(["GET", "POST"])
def enrol_view(request: HttpRequest) -> HttpResponse:
    """Start enrolling a TOTP device: the user name, the password and a live one-time enrolment code."""
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        wait = throttle.login_attempt(request, username=username)
        if wait:
            return _locked_out(request, form, wait, "moderation/enrol.html")
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        enrolment = accounts.enrolment_for(user=user, code=form.cleaned_data["code"]) if _may_log_in(user) else None
        if enrolment is None:
            form.add_error(
                None,
                _(
                    "The user name, password or enrolment code is not right, or the code has expired or was "
                    "already used. Ask an administrator for a new code if yours is old."
                ),
            )
            return render(request, "moderation/enrol.html", {"form": form}, status=400)
        throttle.login_succeeded(request, username=username)
        device = accounts.enrolment_start(enrolment=enrolment)
        request.session[ENROLMENT_SESSION_KEY] = {
            "enrolment": enrolment.pk,
            "device": device.pk,
            "username": enrolment.user.get_username(),
        }
        return HttpResponseRedirect(reverse("moderation:setup"), status=303)
    status = 400 if request.method == "POST" else 200
    return render(request, "moderation/enrol.html", {"form": form}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def setup_view(request: HttpRequest) -> HttpResponse:
    """Show the new device's key and confirm it with a first code; that completes the log-in and spends
    the enrolment code. Reached only from `enrol_view` in the same session."""
    state = request.session.get(ENROLMENT_SESSION_KEY)
    if not isinstance(state, dict):
        state = {}
    device = TOTPDevice.objects.filter(pk=state.get("device"), confirmed=False).select_related("user").first()
    if device is None or not accounts.enrolment_live(enrolment_id=state.get("enrolment")):
        request.session.pop(ENROLMENT_SESSION_KEY, None)
        messages.error(request, _("Start the enrolment with your enrolment code."))
        return HttpResponseRedirect(reverse("moderation:enrol"))
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        username = device.user.get_username()
        wait = throttle.login_attempt(request, username=username)
        confirmed = None
        if not wait:
            confirmed = accounts.enrolment_complete(
                enrolment_id=state["enrolment"], device_id=device.pk, otp_token=form.cleaned_data["otp_token"]
            )
        if confirmed is not None:
            throttle.login_succeeded(request, username=username)
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            return _log_in_verified(request, confirmed.user, confirmed)
        if wait:
            minutes = max(1, -(-wait // 60))
            text = _("Too many failed attempts. Try again in %(minutes)d minutes.")
            form.add_error(None, text % {"minutes": minutes})
            status = 429
        else:
            form.add_error(None, _("That code is not right."))
    if form.errors and status == 200:
        status = 400
    secret = base64.b32encode(device.bin_key).decode()
    context = {"form": form, "secret": secret, "config_url": device.config_url, "next": _next_url(request, "")}
    return render(request, "moderation/setup.html", context, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(reverse("moderation:login"))


@moderator_required
@require_http_methods(["GET", "POST"])
def tokens_view(request: HttpRequest) -> HttpResponse:
    """The moderator's API tokens: issue one (shown once, only to a session that gave the second factor)."""
    form = IssueTokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        issued = accounts.token_issue(user=request.user, name=form.cleaned_data["name"])
    context = {
        "form": form,
        "issued": issued,
        "tokens": accounts.tokens_of(user=request.user),
        "now": timezone.now(),
        "ttl_hours": conf.token_ttl_s() // 3600,
    }
    return render(request, "moderation/tokens.html", context, status=400 if form.errors else 200)


@moderator_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ModeratorToken.objects.filter(pk=token_id, user=request.user.pk).first()
    if token is None:
        raise Http404
    if accounts.token_revoke(token=token, actor=request.user):
        messages.success(request, _("The token %(prefix)s… is revoked.") % {"prefix": token.prefix})
    return HttpResponseRedirect(reverse("moderation:tokens"), status=303)


# --- the queue and incidents ---------------------------------------------------------------------


def _bbox(text: str) -> Polygon | None:
    if not text.strip():
        return None
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise DomainError("invalid_bbox", _("The area is minLon,minLat,maxLon,maxLat."), field="area")
    west, south, east, north = values
    return Polygon.from_bbox((west, south, east, north))


def _map_data(points: list[dict], *, height: str = "small") -> dict:
    return {
        "tiles": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "basemap": reverse("basemap"),
        "basemap_zoom": settings.BASEMAP_MAX_ZOOM,
        "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
        "bbox": list(incidents_conf_area_bbox()),
        "points": points,
        "size": height,
    }


def incidents_conf_area_bbox() -> tuple[float, ...]:
    from geo.area import deployment_area

    return deployment_area().extent


def _incident_point(incident) -> dict:
    return {"lat": incident.point.y, "lon": incident.point.x, "label": f"#{incident.pk} {incident.kind}"}


def _with_understood(reports: list) -> list:
    """Each text message's report with what was understood of its original text, for the rows to show."""
    for report in reports:
        report.understood = selectors.report_understood(report)
    return reports


@moderator_required
def queue_view(request: HttpRequest) -> HttpResponse:
    kinds = [kind for kind in request.GET.getlist("kind") if kind]
    statuses = [status for status in request.GET.getlist("status") if status]
    unknown = [kind for kind in kinds if kind not in incidents_conf.KINDS] + [
        status for status in statuses if status not in Status.values
    ]
    try:
        if unknown:
            raise DomainError("invalid_filter", _("Unknown filter value: %(value)s") % {"value": unknown[0]})
        bbox = _bbox(request.GET.get("area", ""))
    except DomainError as exc:
        messages.error(request, exc.detail)
        return render(request, "moderation/queue.html", {"queue": None, "filters": request.GET}, status=400)
    queue = selectors.moderation_queue(kinds=kinds, statuses=statuses, bbox=bbox)
    _with_understood([*queue.unlocatable, *queue.photos])
    points = [_incident_point(incident) for incident in queue.incidents]
    context = {
        "queue": queue,
        "filters": request.GET,
        "kinds": [(kind, Kind(kind).label) for kind in incidents_conf.KINDS],
        "statuses": Status.choices,
        "chosen_kinds": kinds,
        "chosen_statuses": statuses or [Status.UNVERIFIED],
        "map_data": _map_data(points),
    }
    return render(request, "moderation/queue.html", context)


@moderator_required
def incident_view(request: CspRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_for_moderation(incident_id=incident_id)
    if incident is None:
        raise Http404
    reports = _with_understood(list(selectors.incident_reports(incident=incident)))
    points = [_incident_point(incident)] + [
        {"lat": r.point.y, "lon": r.point.x, "label": r.observed_at.strftime("%H:%M"), "report": True}
        for r in reports
        if r.point is not None
    ]
    move_form = PointForm(initial={"point": incident.point.geojson}, csp_nonce=request.csp_nonce, prefix="move")
    context = {
        "incident": incident,
        "status": selectors.effective_status(incident),
        "status_label": Status(selectors.effective_status(incident)).label,
        "reports": reports,
        "distinct_reporters": len({r.reporter_key or r.pk for r in reports}),
        "counts": selectors.incident_counts(incident),
        "timeline": selectors.incident_timeline(incident=incident),
        "map_data": _map_data(points),
        "move_form": move_form,
        "now": timezone.now(),
    }
    return render(request, "moderation/incident.html", context)


@moderator_required
def audit_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_for_moderation(incident_id=incident_id)
    if incident is None:
        raise Http404
    events = selectors.incident_audit(incident=incident)
    return render(request, "moderation/audit.html", {"incident": incident, "events": events})


def _back(request: HttpRequest, incident_id: int | None) -> HttpResponse:
    default = reverse("moderation:incident", args=[incident_id]) if incident_id else reverse("moderation:queue")
    return HttpResponseRedirect(_next_url(request, default), status=303)


@moderator_required
@require_POST
def act_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    """One action on one incident, named by the `action` field."""
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    user = request.user
    try:
        if action == "verify":
            services.incident_verify(incident_id=incident_id, moderator=user, reason=reason)
            messages.success(request, _("#%(id)d verified.") % {"id": incident_id})
        elif action == "reject":
            services.incident_reject(incident_id=incident_id, moderator=user, reason=reason)
            messages.success(request, _("#%(id)d rejected.") % {"id": incident_id})
        elif action == "clear":
            services.incident_clear(incident_id=incident_id, moderator=user, reason=reason)
            messages.success(request, _("#%(id)d cleared.") % {"id": incident_id})
        elif action == "keep":
            services.incident_keep(
                incident_id=incident_id, moderator=user, reason=reason, contested=bool(request.POST.get("contested"))
            )
            messages.success(request, _("#%(id)d is kept on the map as still there.") % {"id": incident_id})
        elif action == "note":
            services.incident_note(incident_id=incident_id, moderator=user, note=request.POST.get("note", ""))
            messages.success(request, _("The public note is saved."))
        elif action == "merge":
            try:
                other = int(request.POST.get("other", "").strip().lstrip("#"))
            except ValueError:
                raise DomainError("invalid", _("Give the number of the other incident."), field="other") from None
            survivor = services.incidents_merge(incident_ids=[incident_id, other], moderator=user, reason=reason)
            messages.success(request, _("Merged into #%(id)d.") % {"id": survivor.pk})
            return HttpResponseRedirect(reverse("moderation:incident", args=[survivor.pk]), status=303)
        elif action == "move":
            form = PointForm(request.POST, prefix="move")
            if not form.is_valid():
                reasons = " ".join(str(error) for error in form.non_field_errors())
                raise DomainError("invalid", reasons or _("Put one point on the map."))
            services.incident_move(
                incident_id=incident_id,
                moderator=user,
                point=form.cleaned_data["location"],
                reason=form.cleaned_data.get("reason", ""),
            )
            messages.success(request, _("The point is moved."))
        else:
            raise DomainError("unknown_action", _("Unknown action."), field="action")
    except DomainError as exc:
        messages.error(request, exc.detail)
        response = _back(request, incident_id)
        return response
    return _back(request, incident_id)


@moderator_required
@require_POST
def bulk_view(request: HttpRequest) -> HttpResponse:
    try:
        ids = [int(value) for value in request.POST.getlist("incident")]
        done = services.incidents_bulk(
            incident_ids=ids,
            action=request.POST.get("action", ""),
            moderator=request.user,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("%(count)d incidents updated.") % {"count": len(done)})
    except ValueError:
        messages.error(request, _("Choose incidents from the list."))
    except DomainError as exc:
        messages.error(request, exc.detail)
    return HttpResponseRedirect(_next_url(request, reverse("moderation:queue")), status=303)


@moderator_required
@require_POST
def split_view(request: HttpRequest, report_id) -> HttpResponse:
    try:
        created = services.report_split(
            report_id=report_id, moderator=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
        return HttpResponseRedirect(_next_url(request, reverse("moderation:queue")), status=303)
    messages.success(request, _("The report is now incident #%(id)d.") % {"id": created.pk})
    return HttpResponseRedirect(reverse("moderation:incident", args=[created.pk]), status=303)


@moderator_required
@require_http_methods(["GET", "POST"])
def place_view(request: CspRequest, report_id) -> HttpResponse:
    """Put an unlocatable report on the map with django-leaflet's widget (or typed coordinates)."""
    report = selectors.report_for_moderation(report_id=report_id)
    if report is None:
        raise Http404
    form = PointForm(request.POST or None, csp_nonce=request.csp_nonce)
    if request.method == "POST" and form.is_valid():
        try:
            placed = services.report_place(
                report_id=report.pk, moderator=request.user, point=form.cleaned_data["location"]
            )
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, _("The report is on the map."))
            return HttpResponseRedirect(reverse("moderation:incident", args=[placed.incident_id]), status=303)
    status = 400 if form.errors else 200
    return render(request, "moderation/place.html", {"report": report, "form": form}, status=status)


@moderator_required
@require_http_methods(["GET", "POST"])
def correct_view(request: CspRequest, report_id) -> HttpResponse:
    """Correct a report's kind, place and time (a text message read wrongly), beside its original text."""
    report = selectors.report_for_moderation(report_id=report_id)
    if report is None:
        raise Http404
    initial = {"kind": report.kind, "observed_at": timezone.localtime(report.observed_at).strftime("%Y-%m-%dT%H:%M")}
    if report.point is not None:
        initial["point"] = report.point.geojson
    form = CorrectionForm(request.POST or None, initial=initial, csp_nonce=request.csp_nonce)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            corrected = services.report_correct(
                report_id=report.pk,
                moderator=request.user,
                kind=data["kind"],
                point=data["location"],
                observed_at=data.get("observed_at"),
                reason=data.get("reason", ""),
            )
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, _("The report is corrected."))
            return HttpResponseRedirect(reverse("moderation:incident", args=[corrected.incident_id]), status=303)
    context = {"report": report, "understood": selectors.report_understood(report), "form": form}
    return render(request, "moderation/correct.html", context, status=400 if form.errors else 200)


@moderator_required
def photo_view(request: HttpRequest, report_id) -> HttpResponseBase:
    """Stream a report's private photo to a moderator; photos have no public URL (architecture §6.3)."""
    report = selectors.report_for_moderation(report_id=report_id)
    if report is None or not report.photo:
        raise Http404
    if settings.PRIVATE_MEDIA_X_ACCEL_PREFIX:
        # Behind nginx: the access check is done here, the bytes are sent by nginx from an internal location.
        response = HttpResponse(content_type="image/jpeg")
        response["X-Accel-Redirect"] = settings.PRIVATE_MEDIA_X_ACCEL_PREFIX.rstrip("/") + "/" + report.photo.name
        response["Cache-Control"] = "private, no-store"
        response["Content-Disposition"] = "inline"
        return response
    try:
        handle = report.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    stream = FileResponse(handle, content_type="image/jpeg")
    stream["Cache-Control"] = "private, no-store"
    stream["Content-Disposition"] = "inline"
    return stream
