"""One JSON error shape for every 4xx: {"error": code, "detail": text, "fields": {...}}.

A `DomainError` (incidents/errors.py) raised below any view takes this shape with its own status and
headers: `api_exception_handler` answers it for DRF views, `DomainErrorMiddleware` for plain Django views
(or the error page with its message, for a browser that asks for HTML). Views do not catch it to re-raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from incidents.errors import DomainError

logger = logging.getLogger(__name__)


class ApiError(DomainError):
    """A request the API's own parsing refuses (a bad parameter, an unknown id): a DomainError like any other."""


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub_key, sub_value in _flatten(value).items():
                    out[f"{key}.{sub_key}"] = sub_value
            elif isinstance(value, list):
                out[key] = " ".join(str(v) for v in value)
            else:
                out[key] = str(value)
        return out
    if isinstance(detail, list):
        return {"non_field_errors": " ".join(str(v) for v in detail)}
    return {"non_field_errors": str(detail)}


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    return {"error": code, "detail": detail, "fields": fields or {}}


def _unknown_format(context) -> tuple[str, list[str]] | None:
    """DRF answers an unknown `?format=` with a 404, as if the resource were missing: say what is offered."""
    request, view = context.get("request"), context.get("view")
    wanted = getattr(request, "query_params", {}).get("format") if request is not None else None
    if not wanted or view is None:
        return None
    offered = sorted({renderer.format for renderer in view.get_renderers()})
    return None if wanted in offered else (wanted[:40], offered)


def api_exception_handler(exc, context):
    headers = {}
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status_code, headers=exc.headers)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("too_large", "The request body is too large."), status=413)
    if isinstance(exc, Http404) and (unknown := _unknown_format(context)):
        wanted, offered = unknown
        detail = f"format={wanted} is not offered here; use one of: {', '.join(offered)} (or leave it out)."
        return Response(error_body("invalid_format", detail, {"format": detail}), status=400)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return Response(error_body("not_found", "Nothing was found here."), status=404)
    if isinstance(exc, DjangoValidationError):
        return Response(error_body("invalid", " ".join(exc.messages)), status=400)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request could not be read."), status=400)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        summary = "; ".join(f"{k}: {v}" for k, v in fields.items()) or "The request is not valid."
        return Response(error_body("invalid", summary, fields), status=400)
    if isinstance(exc, exceptions.ParseError):
        return Response(error_body("parse_error", f"The body is not valid JSON: {exc.detail}"), status=400)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return Response(
            error_body(
                "unsupported_media_type", f"{exc.detail} Send application/json (or multipart/form-data with a photo)."
            ),
            status=415,
        )
    if isinstance(exc, exceptions.Throttled):
        wait = getattr(exc, "wait", None)  # set by DRF's Throttled.__init__; its stubs do not declare it
        if wait is not None:
            headers["Retry-After"] = str(int(wait))
        return Response(error_body("throttled", str(exc.detail)), status=429, headers=headers)
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        return Response(error_body(code, str(exc.detail)), status=exc.status_code)
    return None


def _wants_html(request: HttpRequest) -> bool:
    return not request.path.startswith(("/api/", "/ogc/")) and "text/html" in request.META.get("HTTP_ACCEPT", "")


def _page(request: HttpRequest, status: int, message: str):
    from django.shortcuts import render

    return render(request, "error.html", {"status": status, "message": message}, status=status)


def domain_error_response(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """The answer to a DomainError outside DRF: the JSON error shape, or the error page for a browser."""
    if _wants_html(request):
        response = _page(request, exc.status_code, exc.detail)
    else:
        response = JsonResponse(error_body(exc.code, exc.detail, exc.fields), status=exc.status_code)
    for name, value in exc.headers.items():
        response[name] = value
    return response


class DomainErrorMiddleware:
    """Answers a DomainError that a plain Django view let through (DRF views answer their own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DomainError):
            return domain_error_response(request, exception)
        return None


def handler404(request: HttpRequest, exception=None):
    if _wants_html(request):
        return _page(request, 404, _("There is nothing at this address."))
    return JsonResponse(error_body("not_found", f"There is nothing at {request.path}."), status=404)


def handler400(request: HttpRequest, exception=None):
    if _wants_html(request):
        too_big = isinstance(exception, RequestDataTooBig)
        message = (
            _("What you sent is too large. A photo must be under 8 MB; go back and choose a smaller one or none.")
            if too_big
            else _("What you sent could not be read. Go back and try again.")
        )
        return _page(request, 413 if too_big else 400, message)
    return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)


def service_unavailable(request: HttpRequest, retry_after_s: int = 5):
    """503 for a moment's outage of a backing service: the client should try again in a few seconds."""
    message = _("The service is briefly unavailable. Try again in a few seconds.")
    if _wants_html(request):
        response = _page(request, 503, message)
    else:
        response = JsonResponse(error_body("unavailable", message), status=503)
    response["Retry-After"] = str(retry_after_s)
    return response


def handler500(request: HttpRequest):
    return JsonResponse(
        error_body("server_error", "Something went wrong on our side; the error was logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
