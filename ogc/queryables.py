"""The queryables of the `incidents` collection (OGC API – Features Part 3), from the public field table.

Every queryable is a public property of the Feature, and every comparison judges the public value, as the
other filters do (incidents/public/filters.py): a time is compared as its floored public time, the status
as the effective one (read-time expiry), `verified` as the Feature says it. So a filter, however often it
is repeated and narrowed, learns no more than the Features it could have downloaded. `flags` (an array) is
not a queryable. Sorting orders by the same public values, times by their public step and then by id.

Filters become Django Q objects; nothing here writes SQL text from what a client sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import F, Func, IntegerField, Q
from django.db.models.expressions import OrderBy
from django.utils.dateparse import parse_date, parse_datetime

from config.errors import ApiError
from incidents import conf
from incidents.api import params
from incidents.models import Status
from incidents.public import fields
from incidents.public.filters import public_time_at_least, public_time_below
from incidents.public.status import status_q
from ogc import cql2
from ogc.cql2 import CqlError, Literal

EQUALITY = ("=", "<>")
ORDERED = ("=", "<>", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Queryable:
    name: str
    type: str  # enum, text, time, integer, number, boolean
    field: fields.Field

    @property
    def operators(self) -> tuple[str, ...]:
        return EQUALITY if self.type == "boolean" else ORDERED

    @property
    def sortable(self) -> bool:
        return self.name not in ("status", "verified", "note")

    def schema(self) -> dict[str, Any]:
        return {"title": str(self.field.label), "description": self.field.description, **self.field.codec.schema()}


_TYPES = {
    fields.Enum: "enum",
    fields.Text: "text",
    fields.Time: "time",
    fields.Integer: "integer",
    fields.Number: "number",
    fields.Boolean: "boolean",
}


def queryables() -> dict[str, Queryable]:
    """Read from the field table each time, as every representation is (a test may extend the table)."""
    found = {}
    for f in fields.FIELDS:
        kind = _TYPES.get(type(f.codec))
        if kind is not None:
            found[f.name] = Queryable(f.name, kind, f)
    return found


def schema(url: str) -> dict[str, Any]:
    """The queryables as a JSON Schema (Part 3, /req/queryables/get-queryables-response)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": "Incidents",
        "properties": {name: q.schema() for name, q in queryables().items()},
        "additionalProperties": False,
    }


def _error(name: str, detail: str) -> ApiError:
    return ApiError(f"invalid_{name.replace('-', '_')}", detail, fields={name: detail})


def lookup(name: str, parameter: str) -> Queryable:
    found = queryables().get(name)
    if found is None:
        names = ", ".join(queryables())
        raise _error(parameter, f"{parameter}: {name!r} is not a queryable; the queryables are {names}.")
    return found


# --- values -------------------------------------------------------------------------------------------


def time_range(text: str, *, date_only: bool | None = None, parameter: str) -> tuple[datetime, datetime]:
    """The instants a time literal stands for, inclusive: one instant, or a whole day for a date."""
    if len(text) == 11 and text.endswith("T"):
        text = text[:10]  # GDAL writes a date-only bound as 2026-12-01T
    try:
        day = parse_date(text) if date_only is not False and len(text) == 10 else None
    except ValueError:
        day = None
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if day == date.max:
            return start, datetime.max.replace(tzinfo=UTC)
        return start, start + timedelta(days=1) - timedelta(microseconds=1)
    instant = None
    if date_only is not True:
        try:
            instant = parse_datetime(text)
        except ValueError:
            instant = None
    if instant is None:
        example = "2026-12-01" if date_only else "2026-12-01T10:00:00Z"
        raise _error(parameter, f"{parameter}: {text!r} is not a {'date' if date_only else 'time'} such as {example}.")
    try:
        instant = params.in_utc(instant, parameter)
    except ApiError:
        detail = f"{parameter}: {text!r} is out of range: give a time between the years 1 and 9999."
        raise _error(parameter, detail) from None
    return instant, instant


def value_of(queryable: Queryable, literal: Literal, parameter: str) -> Any:
    """The literal as a value of the queryable's type, or a 400 saying what the queryable takes."""
    name, kind = queryable.name, queryable.type
    if kind == "time":
        if literal.kind in ("timestamp", "date", "string"):
            date_only = {"timestamp": False, "date": True}.get(literal.kind)
            return time_range(literal.value, date_only=date_only, parameter=parameter)
        raise _error(parameter, f"{parameter}: {name} is a time: compare it with TIMESTAMP('…') or DATE('…').")
    if kind in ("integer", "number"):
        if literal.kind != "number":
            raise _error(parameter, f"{parameter}: {name} is a number: compare it with a number, e.g. {name} >= 2.")
        return literal.value
    if kind == "boolean":
        if literal.kind != "boolean":
            raise _error(parameter, f"{parameter}: {name} is true or false: compare it with TRUE or FALSE.")
        return literal.value
    if literal.kind != "string":
        raise _error(parameter, f"{parameter}: {name} is text: compare it with a quoted string, e.g. {name} = 'x'.")
    if kind == "enum":
        allowed = queryable.field.codec.schema()["enum"]
        if literal.value not in allowed:
            raise _error(parameter, f"{parameter}: {name} is one of {', '.join(allowed)}, not {literal.value!r}.")
    return literal.value


def parameter_literal(queryable: Queryable, text: str) -> Literal:
    """A query parameter's text (`?kind=checkpoint`) read as the literal of the queryable's type."""
    name, kind = queryable.name, queryable.type
    if kind in ("integer", "number"):
        try:
            number = int(text) if kind == "integer" else float(text)
        except ValueError:
            raise _error(name, f"{name} must be a number.") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise _error(name, f"{name} must be a finite number.")
        return Literal("number", number)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise _error(name, f"{name} must be true or false.")
        return Literal("boolean", text.lower() == "true")
    return Literal("string", text)


# --- conditions ---------------------------------------------------------------------------------------


def _verified_q() -> Q:
    return Q(verified_at__isnull=False) & ~Q(status=Status.REJECTED)


def comparison_q(queryable: Queryable, op: str, literal: Literal, *, now: datetime, parameter: str) -> Q:
    """The incidents whose public value of `queryable` compares `op` with the literal."""
    if op not in queryable.operators:
        allowed = " or ".join(queryable.operators)
        raise _error(parameter, f"{parameter}: {queryable.name} can only be compared with {allowed}.")
    value = value_of(queryable, literal, parameter)
    column = queryable.field.columns[0]
    if queryable.type == "enum":
        # A closed set: the values that compare so, by code point, as CQL2 compares strings; the status is
        # the effective one (read-time expiry).
        compare = {
            "=": str.__eq__,
            "<>": str.__eq__,  # negated below
            "<": str.__lt__,
            "<=": str.__le__,
            ">": str.__gt__,
            ">=": str.__ge__,
        }[op]
        matching = [v for v in queryable.field.codec.schema()["enum"] if compare(v, value)]
        condition = status_q(matching, now) if queryable.name == "status" else Q(**{f"{column}__in": matching})
    elif queryable.name == "verified":
        condition = _verified_q() if value else ~_verified_q()
    elif queryable.type == "time":
        low, high = value
        at_least_low, below_high = public_time_at_least(low), public_time_below(high)
        condition = {
            "=": Q(**{f"{column}__gte": at_least_low, f"{column}__lt": below_high}),
            "<>": ~Q(**{f"{column}__gte": at_least_low, f"{column}__lt": below_high}),
            "<": Q(**{f"{column}__lt": at_least_low}),
            "<=": Q(**{f"{column}__lt": below_high}),
            ">": Q(**{f"{column}__gte": below_high}),
            ">=": Q(**{f"{column}__gte": at_least_low}),
        }[op]
        return condition  # "<>" is already the negation
    else:
        lookups = {"=": "exact", "<>": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
        condition = Q(**{f"{column}__{lookups[op]}": value})
    return ~condition if op == "<>" else condition


def tree_q(tree: tuple, *, now: datetime) -> Q:
    """The Q of a parsed CQL2 filter (ogc.cql2.parse)."""
    head = tree[0]
    if head == "and":
        return tree_q(tree[1], now=now) & tree_q(tree[2], now=now)
    if head == "or":
        return tree_q(tree[1], now=now) | tree_q(tree[2], now=now)
    if head == "not":
        return ~tree_q(tree[1], now=now)
    if head == "null":
        lookup(tree[1], "filter")
        # No public property is ever null: IS NULL keeps nothing, IS NOT NULL everything (pk is never null).
        return Q(pk__isnull=not tree[2])
    _cmp, op, name, literal = tree
    return comparison_q(lookup(name, "filter"), op, literal, now=now, parameter="filter")


def filter_q(text: str, *, now: datetime) -> Q:
    try:
        tree = cql2.parse(text)
    except CqlError as error:
        raise _error("filter", str(error)) from None
    return tree_q(tree, now=now)


# --- sorting ------------------------------------------------------------------------------------------


class PublicTimeStep(Func):
    """A stored time as the number of its public step since the epoch: what its public time sorts by."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        step = int(conf.public_time_step_s())
        return self.as_sql(compiler, connection, template=f"floor(extract(epoch from %(expressions)s) / {step})")

    def as_sqlite(self, compiler, connection, **extra):
        step = int(conf.public_time_step_s())
        return self.as_sql(compiler, connection, template=f"(unixepoch(%(expressions)s) / {step})")


def sort_order(text: str | None) -> list[OrderBy] | None:
    """`sortby=-updated_at,kind`: the public values to order by, then id; None for the default order."""
    if not text:
        return None
    order: list[OrderBy] = []
    seen = set()
    for part in text.split(","):
        part = part.strip()  # a "+" sent unencoded arrives as a space
        descending = part.startswith("-")
        name = part.lstrip("+-").strip()
        if not name:
            raise _error("sortby", "sortby is a comma-separated list of queryables, each with + or - before it.")
        queryable = lookup(name, "sortby")
        if not queryable.sortable:
            names = ", ".join(n for n, q in queryables().items() if q.sortable)
            raise _error("sortby", f"sortby: {name} cannot be sorted on; sort on {names}.")
        if name in seen:
            raise _error("sortby", f"sortby names {name} twice.")
        seen.add(name)
        column = queryable.field.columns[0]
        expression = PublicTimeStep(F(column)) if queryable.type == "time" else F(column)
        order.append(expression.desc() if descending else expression.asc())
    order.append(F("pk").asc())
    return order
