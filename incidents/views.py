"""HTML pages for people: the report form, a report's status, the quick exit. Thin: parse, call a service, render."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from geo.area import deployment_area
from incidents import abuse, mapversion, selectors, services
from incidents.api.params import encode_version_cursor
from incidents.errors import DomainError
from incidents.forms import ReportForm
from incidents.models import Kind
from incidents.public.features import feature
from incidents.public.fields import FLAGS
from incidents.route_page import route_strings

DEVICE_COOKIE = "alc_device"
MAP_PAGE = 10000  # incidents per request of the map's first load (static/map/map.js asks for the same)


def _device_token(request: HttpRequest) -> str | None:
    token = request.COOKIES.get(DEVICE_COOKIE, "")
    return token if 16 <= len(token) <= 64 and token.isalnum() else None


def _remember_device(request: HttpRequest, response: HttpResponse) -> None:
    """No-JavaScript browsers get their device token as a cookie; scripts keep theirs in localStorage. Either
    way a token lasts until the end of its UTC day, so that one found on a seized phone matches one day's
    reports at most (static/lib/common.js makes a new one each day likewise)."""
    if _device_token(request) is None:
        now = timezone.now()
        end_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_hex(16),
            max_age=max(60, int((end_of_day - now).total_seconds())),
            httponly=True,
            samesite="Strict",
            secure=request.is_secure(),
        )


def _area_context() -> dict:
    min_lon, min_lat, max_lon, max_lat = deployment_area().extent
    return {"area_bbox": f"{min_lon:.4f},{min_lat:.4f},{max_lon:.4f},{max_lat:.4f}"}


def _js_strings() -> dict[str, str]:
    """The report script's words, translated here and handed over as JSON (no script catalogue to fetch)."""
    return {
        "locating": _("Finding your position…"),
        "located": _("Position found, within {m} m."),
        "locateFailed": _("Could not get your position. Type a place or pick it on a map."),
        "locateDenied": _("Location permission was refused. Type a place or pick it on a map."),
        "picked": _("Pin placed. Drag it to adjust."),
        "mapFailed": _("The map could not load. Type a place or coordinates instead."),
        "needKind": _("Choose what you saw."),
        "needPlace": _("Say where: use your location, or type a place or coordinates."),
        "sending": _("Sending…"),
        "queued": _("Saved on this phone. It will be sent by itself when there is a connection."),
        "waiting": _("Waiting to send"),
        "rejected": _("Not accepted: {reason}"),
        "sentText": _(
            "It is checked against other reports and appears on the public map once someone else confirms it "
            "or a moderator verifies it."
        ),
        "sentQueued": _("Reports sent from this phone: {n}."),
        "fix": _("Fix"),
        "discard": _("Discard"),
        "offline": _("You are offline. Reports are kept on this phone and sent later."),
        "photoTooBig": _("The photo is larger than 8 MB; choose a smaller one."),
    }


def _confidence_why() -> str:
    return _(
        "Confidence grows with independent sources (different networks) that report or confirm it, and falls "
        "with those that say it is gone."
    )


def _map_strings() -> dict[str, str]:
    """The live map's words, handed to its script as JSON like the report page's. The flags read as every
    public representation words them (the field table's FLAGS)."""
    return {
        **{f"kind.{value}": str(label) for value, label in Kind.choices},
        **{f"flag.{name}": str(label) for name, label in FLAGS.items()},
        "verified": _("Verified by a moderator"),
        "unconfirmed": _("Unconfirmed"),
        "unconfirmedShort": _("unconfirmed"),
        "confidence": _("Confidence: {pct}%"),
        "firstReport": _("First reported {when}"),
        "lastReport": _("Last confirmed {when}"),
        "confidenceWhy": _confidence_why(),
        "sources": _("{n} independent sources"),
        "sourcesOne": _("1 independent source"),
        "contestedShort": _("contested"),
        "reporters": _("Reporters: {n}"),
        "votes": _("Still there: {yes} · Gone: {no}"),
        "note": _("Moderator's note"),
        "stillThere": _("Still there"),
        "gone": _("Gone"),
        "voted": _("Thank you. Your answer was counted."),
        "voteEnded": _("This has already ended."),
        "voteBusy": _("Too many answers from here; try again later."),
        "voteFailed": _("Could not send your answer. Try again."),
        "updated": _("Updated {n} s ago"),
        "updatedMin": _("Updated {n} min ago"),
        "offline": _("Offline: showing what was last loaded"),
        "failed": _("Could not reach the server; retrying"),
        "noTiles": _("The background map is unavailable; incidents are still shown."),
        "locateFailed": _("Could not get your position."),
        "reportHere": _("Report here"),
        "noPlace": _("Unnamed place"),
    }


def _changes_start() -> dict[str, str]:
    """Where the map polls for changes, and the cursor it starts from: the map version now.

    The page loads incidents from the list (the fast path) after this, so that list holds every change up
    to this cursor; changes after it are replayed by the first poll, and applying one twice is harmless.
    """
    return {
        "changes_url": reverse("api:incident-changes"),
        "changes_cursor": encode_version_cursor(mapversion.current()),
    }


@never_cache
@require_GET
def live_map(request: HttpRequest) -> HttpResponse:
    """The live map. Everything on it comes from the public API; this page only frames it."""
    zoomed = all(request.GET.get(name) for name in ("z", "lat", "lon"))
    context = {
        "kinds": Kind.choices,
        # Framed on the whole area, the page's first request is known: the browser can start it at once.
        "preload": "" if zoomed else f"{reverse('api:incident-list')}?limit={MAP_PAGE}&format=columns",
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "basemap_zoom": settings.BASEMAP_MAX_ZOOM,
        "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
        "poll_ms": settings.MAP_POLL_INTERVAL_S * 1000,
        **_changes_start(),
        "js_strings": _map_strings(),
        "route_strings": route_strings(),
        "contested_label": FLAGS["contested"],
        "confidence_why": _confidence_why(),
        **_area_context(),
    }
    return render(request, "incidents/map.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ReportForm(request.POST, request.FILES)
        if form.is_valid():
            response = _submit(request, form)
            if response is not None:
                return response
        status = 400
    else:
        initial: dict[str, object] = {"client_id": uuid.uuid4()}
        for name in ("lat", "lon"):
            if request.GET.get(name):
                initial[name] = request.GET[name]
        form = ReportForm(initial=initial)
        status = 200
    context = {
        "form": form,
        "tile_url": settings.MAP_TILE_URL,
        "basemap_zoom": settings.BASEMAP_MAX_ZOOM,
        "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
        "js_strings": _js_strings(),
        **_area_context(),
    }
    response = render(request, "incidents/report.html", context, status=status)
    _remember_device(request, response)
    return response


def _submit(request: HttpRequest, form: ReportForm) -> HttpResponse | None:
    """Hand a valid form to the service; None means the form goes back to the person with the reason."""
    data = form.cleaned_data
    device = _device_token(request)
    try:
        source = abuse.report_guard(request, device=device, client_id=data["client_id"])
    except abuse.RateLimited as exc:
        form.add_error(None, exc.detail)
        return None
    spam = abuse.honeypot_tripped(data.get(abuse.HONEYPOT_FIELD))
    try:
        report, _created = services.report_submit(
            client_id=data["client_id"],
            kind=data["kind"],
            point=data["point"],
            place_text=data.get("place") or "",
            accuracy_m=data.get("accuracy_m"),
            observed_at=data["observed_at"],
            description=data.get("description") or "",
            channel="web",
            device=device,
            photo=data.get("photo"),
            source=None if spam else source,
            spam=spam,
        )
    except DomainError as exc:
        field = exc.field if exc.field in form.fields else ("place" if exc.field == "location" else None)
        form.add_error(field, exc.detail)
        return None
    return HttpResponseRedirect(reverse("report-status", args=[report.pk]) + "?sent=1", status=303)


@never_cache
@require_GET
def report_status(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    report = selectors.report_status(report_id=report_id)
    incident = None
    if report is not None and report.incident_id:
        found = selectors.incident_public(incident_id=report.incident_id)
        if found is not None:
            incident = feature(found, now=timezone.now())
    context = {
        "report": report,
        "report_id": report_id,
        "incident": incident,
        "sent": request.GET.get("sent") == "1",
        "voted": request.GET.get("voted"),
    }
    response = render(request, "incidents/report_status.html", context)
    _remember_device(request, response)
    return response


@require_POST
def report_status_vote(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    report = selectors.report_status(report_id=report_id)
    if report is None or not report.incident_id:
        raise Http404
    if selectors.incident_public(incident_id=report.incident_id) is None:
        raise Http404
    device = _device_token(request)
    choice = request.POST.get("still_there")
    target = reverse("report-status", args=[report_id])
    if device is None or choice not in ("yes", "no"):
        return HttpResponseRedirect(target + "?voted=error", status=303)
    try:
        source = abuse.vote_guard(request, device=device)
    except abuse.RateLimited:
        return HttpResponseRedirect(target + "?voted=busy", status=303)
    try:
        services.incident_vote(
            incident_id=report.incident_id, device=device, still_there=choice == "yes", source=source
        )
    except DomainError:
        return HttpResponseRedirect(target + "?voted=ended", status=303)
    return HttpResponseRedirect(target + "?voted=ok", status=303)


@require_GET
def quick_exit(request: HttpRequest) -> HttpResponse:
    """A neutral page with nothing of this service on it, for the quick-exit control. Fetched from the
    network, it also asks the browser to drop this site's HTTP cache and cookies (the page's script has
    erased its storage, keeping this page for offline exits)."""
    response = render(request, "incidents/exit.html")
    response["Clear-Site-Data"] = '"cache", "cookies"'
    return response


@require_GET
def set_language(request: HttpRequest, code: str) -> HttpResponse:
    if code not in dict(settings.LANGUAGES):
        raise Http404
    target = request.GET.get("next") or reverse("report")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = reverse("report")
    response = HttpResponseRedirect(target, status=303)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=request.is_secure(),
    )
    return response


@lru_cache(maxsize=1)
def _shell_digest() -> str:
    digest = hashlib.sha256()
    for folder in ("report", "leaflet", "lib", "map"):
        for path in sorted((settings.BASE_DIR / "static" / folder).rglob("*")):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    leaflet = finders.find("leaflet/leaflet.js")
    if leaflet:
        digest.update(open(leaflet, "rb").read())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the root so that its scope covers /report and the map at /.

    Its cache is named after a digest of the files it keeps, so a deploy that changes any of them
    changes the worker's bytes: browsers install the new worker, which drops the old cache.
    """
    script = (settings.BASE_DIR / "static" / "report" / "sw.js").read_text()
    script = script.replace('"alc-shell-v1"', f'"alc-shell-{_shell_digest()}"')
    script = script.replace("BASEMAP_BYTES = 4000000;", f"BASEMAP_BYTES = {settings.BASEMAP_OFFLINE_BYTES};")
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response
