"""Reading what clients send: JSON with bounded nesting, and numbers that must fit a finite float.

Python's json parser recurses once per level of nesting, so a body of 5,000 `[` raised RecursionError (a
500) and even a few hundred levels cost every later step that walks the value. `loads` refuses more than
MAX_JSON_DEPTH levels *before* parsing, with a linear scan of the bytes (strings set aside), and refuses
NaN and Infinity, which Python would otherwise accept. `JSONParser` is the DRF parser of every API view
(REST_FRAMEWORK's default, and views that name their parsers use it too); plain views and the route check
call `loads`. A 400-digit integer is valid JSON but no float: `finite_float` turns a JSON number into a
finite float or None, and each caller names the field at fault.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from config.errors import ApiError

MAX_JSON_DEPTH = 32  # a GeoJSON MultiPolygon in a Feature in a FeatureCollection is 6

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(rb"\[\]|\{\}")


class JSONTooDeep(ValueError):
    def __init__(self, limit: int):
        super().__init__(f"nested more than {limit} levels deep")
        self.limit = limit


def too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects more than `limit` levels deep (or leaves brackets open).

    Each pass deletes every empty `[]` and `{}`, which takes one level off every branch at once; whatever
    is left after `limit` passes was deeper. Every pass is one regular-expression sweep, in C.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    for _pass in range(limit):
        if not brackets:
            return False
        brackets = _EMPTY_PAIR.sub(b"", brackets)
    return bool(brackets)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; send a finite number")


def loads(
    data: bytes | str,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    parse_constant: Callable[[str], Any] = _refuse_constant,
) -> Any:
    """JSON text as Python values; JSONTooDeep past `max_depth` levels, ValueError for anything invalid."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if too_deep(raw, max_depth):
        raise JSONTooDeep(max_depth)
    try:
        return json.loads(data, parse_constant=parse_constant)
    except RecursionError:  # not reached below the bound; a last guard all the same
        raise JSONTooDeep(max_depth) from None


def too_deep_error(limit: int = MAX_JSON_DEPTH) -> ApiError:
    detail = _("The JSON is nested more than %(n)s levels deep; send flatter data.") % {"n": limit}
    return ApiError("too_deep", detail)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with `loads`: too deep is a 400 `too_deep`, NaN and Infinity a 400 `parse_error`."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads(stream.read().decode(encoding))
        except JSONTooDeep as exc:
            raise too_deep_error(exc.limit) from None
        except (ValueError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def finite_float(value: object) -> float | None:
    """A JSON number as a finite float; None for a bool, a string, NaN, an infinity or an integer too large."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
