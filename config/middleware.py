from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseForbidden, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import translation

logger = logging.getLogger(__name__)


class BodySizeLimitMiddleware:
    """Refuse an oversized body by its Content-Length, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return JsonResponse(
                {"error": "bad_request", "detail": "The Content-Length header is not a number.", "fields": {}},
                status=400,
            )
        limit = settings.MAX_REQUEST_BODY_BYTES
        if length > limit:
            return JsonResponse(
                {
                    "error": "too_large",
                    "detail": f"The request body is {length} bytes; the limit is {limit} bytes.",
                    "fields": {},
                },
                status=413,
            )
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Pages may ask for the position and the camera (the report page), nothing else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class NoReferrerCsrfMiddleware(CsrfViewMiddleware):
    """Django's CSRF protection, adjusted to Referrer-Policy: no-referrer (architecture §6.5).

    Under that policy browsers send `Origin: null` and no Referer with a form's POST, so Django's
    origin and referer checks would refuse every form. Those two checks are defence in depth; the
    token check (a secret in the form that must match the SameSite=Strict cookie) still runs on
    every unsafe request and is what stops a forged post. A real, mismatching Origin or Referer is
    still refused.
    """

    def process_view(
        self,
        request: HttpRequest,
        callback: Callable[..., HttpResponseBase],
        callback_args: tuple[Any, ...],
        callback_kwargs: dict[str, Any],
    ) -> HttpResponseForbidden | None:
        origin = request.META.get("HTTP_ORIGIN")
        if origin != "null" and (origin is not None or request.META.get("HTTP_REFERER")):
            return super().process_view(request, callback, callback_args, callback_kwargs)
        # The browser hid where the post came from: let Django's checks see this site's own origin, which
        # passes the origin check and skips the referer one, so that the token check alone decides. The
        # view gets the headers as they came.
        scheme = "https" if request.is_secure() else "http"
        request.META["HTTP_ORIGIN"] = f"{scheme}://{request.get_host()}"
        try:
            return super().process_view(request, callback, callback_args, callback_kwargs)
        finally:
            if origin is None:
                del request.META["HTTP_ORIGIN"]
            else:
                request.META["HTTP_ORIGIN"] = origin


class ApiLanguageMiddleware:
    """API clients that state no language get English; people get the site's language (architecture §1: es/en)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path.startswith(("/api/", "/ogc/"))
            and "HTTP_ACCEPT_LANGUAGE" not in request.META
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A database that cannot be reached for a moment (restarting, failing over) answers 503 with Retry-After,
    which clients retry (the report page's outbox does), instead of a 500. Django drops the broken connection
    at the end of the request and CONN_HEALTH_CHECKS tests a kept one before reuse, so the next request
    reconnects on its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        from config.errors import service_unavailable

        logger.warning("database unavailable: %s", exception.__class__.__name__)
        return service_unavailable(request)
