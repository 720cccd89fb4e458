from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


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
