"""Content negotiation that refuses an empty `?format=`.

DRF reads `format=` as no format at all and answers the default; a client that sent the parameter meant
something, so it gets a 400 saying what is offered, as an unknown format does (config/errors.py).
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

from config.errors import ApiError


class StrictFormatNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if format_suffix is None and request.query_params.get(self.settings.URL_FORMAT_OVERRIDE, None) == "":
            offered = ", ".join(sorted({renderer.format for renderer in renderers}))
            detail = f"format is empty; use one of: {offered} (or leave it out)."
            raise ApiError("invalid_format", detail, fields={"format": detail})
        return super().select_renderer(request, renderers, format_suffix)
