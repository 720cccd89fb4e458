from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses, with a code, a sentence a person can act on, and the field at fault."""

    status_code = 400

    def __init__(self, code: str, detail: str, *, field: str | None = None, status_code: int | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        if status_code is not None:
            self.status_code = status_code

    @property
    def fields(self) -> dict[str, str]:
        return {self.field: self.detail} if self.field else {}
