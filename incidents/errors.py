"""The one exception a request's refusal travels up as (a leaf module: it imports nothing of the project).

Raised anywhere below a view, it is turned into the JSON error shape {"error": code, "detail": text,
"fields": {...}} with its status and headers by config/errors.py: the API's exception handler for DRF
views, `DomainErrorMiddleware` for plain Django views (an error page instead when a browser asks for HTML).
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A request the domain refuses, with a code, a sentence a person can act on, and the fields at fault.

    `field` names the one field at fault (its message is `detail`); `fields` maps several to their own
    messages. `headers` go onto the response (a 429's Retry-After).
    """

    status_code = 400
    default_field: str | None = None

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        fields: Mapping[str, str] | None = None,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field if field is not None or fields is not None else self.default_field
        self._fields = dict(fields) if fields is not None else None
        self.headers = dict(headers or {})
        if status_code is not None:
            self.status_code = status_code

    @property
    def fields(self) -> dict[str, str]:
        if self._fields is not None:
            return dict(self._fields)
        return {self.field: self.detail} if self.field else {}
