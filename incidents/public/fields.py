"""The public properties of an incident, in order: the one table every representation is generated from.

Each `Field` names a property, the model columns it reads and a codec. The codec knows, for its type of
value, the Python value (with the public rounding), the SQL that writes the same JSON text in PostgreSQL,
the JSON Schema, the CSV cell, the map's compact encoding and what a person reads in the Atom feed. So the
GeoJSON Feature (`features`), the PostGIS text (`sql`) and the stored text (`stored`), `?format=columns`,
the CSV, GPX and KML, the changes feed, OGC items, Atom entries, webhook payloads and the OpenAPI schema follow this
table: adding a property is one `Field` here (architecture §10.1).

Times are floored to PUBLIC_TIME_STEP_S and the point snapped to PUBLIC_GRID_M (architecture §6.4); the
point is the Feature's geometry, not a property (see `features` and `sql`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from config.csvcell import text_cell
from geo.spatial import floor_time
from incidents import conf
from incidents.models import Kind, Status
from incidents.public.status import effective_status

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Context:
    """The settings and the moment a Feature is built for."""

    now: datetime
    grid_m: float
    step_s: int


def context(now: datetime) -> Context:
    return Context(now=now, grid_m=conf.public_grid_m(), step_s=conf.public_time_step_s())


def public_time(value: datetime, step_s: int) -> str:
    """A public time: floored to the step, in UTC, to the second."""
    return floor_time(value, step_s).strftime(TIME_FORMAT)


# --- how a property is written in the map's compact format (incidents/public/columns.py) ---------------


@dataclass(frozen=True)
class Plain:
    """One array entry per incident, the codec's compact value."""


@dataclass(frozen=True)
class Listed:
    """An index into the list `key` of the body: a closed set of values, or the distinct ones met."""

    key: str


@dataclass(frozen=True)
class Sparse:
    """Only the incidents with a non-empty value, as `key: {id: value}` in the body."""

    key: str


Encoding = Plain | Listed | Sparse


# --- codecs: one per type of value ---------------------------------------------------------------------


class Codec(ABC):
    def python(self, raw: Any, ctx: Context) -> Any:
        """The JSON value of a raw value (a column's, or what a field computes from the row)."""
        return raw

    @abstractmethod
    def sql(self, expr: str, ctx: Context) -> str:
        """An SQL expression writing the JSON text of `expr` exactly as `python` would give it."""

    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the value."""

    def compact(self, raw: Any, ctx: Context, t0_s: int) -> Any:
        """The value in the map's compact format (`t0_s`: the body's `t0`, in seconds)."""
        return self.python(raw, ctx)

    def cell(self, value: Any) -> str:
        """The CSV cell of the JSON value (a value we write ourselves: a number, a time)."""
        return "" if value is None else str(value)

    def display(self, value: Any) -> str:
        """What a person reads (Atom entries)."""
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Enum(Codec):
    """A value from a closed set of identifiers (nothing to escape), shown by its translated label."""

    values: Callable[[], Sequence[str]]
    labels: Callable[[str], str | Promise] = str

    def sql(self, expr: str, ctx: Context) -> str:
        return f"""'"' || {expr} || '"'"""

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.values())}

    def cell(self, value: Any) -> str:
        return "" if value is None else text_cell(str(value))

    def display(self, value: Any) -> str:
        return str(self.labels(value))


@dataclass(frozen=True)
class Text(Codec):
    """Free text (a place name, a moderator's note): JSON-escaped, never markup."""

    def sql(self, expr: str, ctx: Context) -> str:
        return f"to_json({expr})::text"

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}

    def cell(self, value: Any) -> str:
        return "" if value is None else text_cell(str(value))  # a spreadsheet must not run it


@dataclass(frozen=True)
class Time(Codec):
    """A time floored to PUBLIC_TIME_STEP_S; in the compact format, whole steps from the body's `t0`."""

    def python(self, value: Any, ctx: Context) -> Any:
        return public_time(value, ctx.step_s)

    def sql(self, expr: str, ctx: Context) -> str:
        floored = f"date_bin(make_interval(secs => {int(ctx.step_s)}), {expr}, timestamptz 'epoch')"
        return f"""'"' || to_char({floored} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"'"""

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}

    def compact(self, raw: Any, ctx: Context, t0_s: int) -> Any:
        # floor_time's arithmetic, counted in steps: t0 is itself a whole step.
        return (math.floor(raw.timestamp()) - t0_s) // ctx.step_s

    def display(self, value: Any) -> str:
        return datetime.strptime(value, TIME_FORMAT).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Integer(Codec):
    minimum: int | None = 0

    def python(self, value: Any, ctx: Context) -> Any:
        return int(value)

    def sql(self, expr: str, ctx: Context) -> str:
        return f"{expr}::text"

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", **({} if self.minimum is None else {"minimum": self.minimum})}


@dataclass(frozen=True)
class Number(Codec):
    """A float; in the compact format rounded to `decimals`."""

    minimum: float | None = None
    maximum: float | None = None
    decimals: int = 4
    percent: bool = False

    def python(self, value: Any, ctx: Context) -> Any:
        return float(value)

    def sql(self, expr: str, ctx: Context) -> str:
        return f"{expr}::float8::text"  # float8's shortest exact text, as Python's repr

    def schema(self) -> dict[str, Any]:
        bounds = {"minimum": self.minimum, "maximum": self.maximum}
        return {"type": "number", **{k: v for k, v in bounds.items() if v is not None}}

    def compact(self, raw: Any, ctx: Context, t0_s: int) -> Any:
        return round(float(raw), self.decimals)

    def display(self, value: Any) -> str:
        return f"{round(value * 100)} %" if self.percent else f"{value:g}"


@dataclass(frozen=True)
class Boolean(Codec):
    """In SQL, `expr` is a condition; in the compact format, 1 or 0."""

    def python(self, value: Any, ctx: Context) -> Any:
        return bool(value)

    def sql(self, expr: str, ctx: Context) -> str:
        return f"CASE WHEN {expr} THEN 'true' ELSE 'false' END"

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def compact(self, raw: Any, ctx: Context, t0_s: int) -> Any:
        return 1 if raw else 0

    def cell(self, value: Any) -> str:
        return "true" if value else "false"

    def display(self, value: Any) -> str:
        return str(_("yes") if value else _("no"))


@dataclass(frozen=True)
class Flags(Codec):
    """A set of flags, each a Boolean column of its own name: the JSON array of those that are set, in the
    order of `names`; in a CSV cell joined by `;`."""

    names: tuple[str, ...]
    labels: Callable[[str], str | Promise] = str

    def python(self, value: Any, ctx: Context) -> Any:
        return list(value)

    def sql(self, expr: str, ctx: Context) -> str:
        # concat_ws skips the NULLs of the flags not set.
        parts = ", ".join(f"""CASE WHEN q.{name} THEN '"{name}"' END""" for name in self.names)
        return f"'[' || concat_ws(',', {parts}) || ']'"

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string", "enum": list(self.names)}, "uniqueItems": True}

    def cell(self, value: Any) -> str:
        return ";".join(value or ())

    def display(self, value: Any) -> str:
        return ", ".join(str(self.labels(name)) for name in value) if value else str(_("none"))


# --- the table -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One public property.

    `reads`: the model columns it needs (default: its own name). `value` and `sql`: the raw value from a
    row and the effective status, in Python and in SQL over the row `q` and `s.eff` (default: the first
    column it reads). `encoding` overrides the codec's in the compact format. `label=None` keeps it out of the
    Atom summary.
    """

    name: str
    codec: Codec
    label: str | Promise | None
    description: str
    reads: tuple[str, ...] = ()
    value: Callable[[Any, str], Any] | None = None
    sql: str | None = None
    encoding: Encoding | None = None
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", self.reads or (self.name,))

    def raw(self, row: Any, eff: str) -> Any:
        return getattr(row, self.columns[0]) if self.value is None else self.value(row, eff)

    def python(self, row: Any, eff: str, ctx: Context) -> Any:
        return self.codec.python(self.raw(row, eff), ctx)

    def sql_text(self, ctx: Context) -> str:
        return self.codec.sql(self.sql or f"q.{self.columns[0]}", ctx)

    @property
    def compact_encoding(self) -> Encoding:
        return self.encoding or Plain()


def _verified(row: Any, eff: str) -> bool:
    return row.verified_at is not None and eff != Status.REJECTED


# What the public is told about how an incident's evidence came in (architecture §3).
FLAGS: dict[str, str | Promise] = {
    "burst": _("Many reporters from few networks at once"),
    "contested": _("Contested: reports and votes disagree"),
    "trusted": _("Reported by a trusted reporter"),
    "reported_gone": _("Reported gone (a moderator will decide)"),
}


def _flags(row: Any, eff: str) -> list[str]:
    return [name for name in FLAGS if getattr(row, name)]


# Read when a representation is built, never copied at import time (so a test may extend the table).
FIELDS: tuple[Field, ...] = (
    Field(
        "kind",
        Enum(lambda: conf.KINDS, lambda v: Kind(v).label),
        _("Kind"),
        "What was reported: a checkpoint, a roadblock, an armed group (militia) or another danger (hazard).",
        encoding=Listed("kinds"),
    ),
    Field(
        "status",
        Enum(lambda: Status.values, lambda v: Status(v).label),
        _("Status"),
        "unverified or verified while live; cleared, expired or rejected once ended. An incident past its "
        "expiry reads as expired at once.",
        reads=("status", "expires_at"),
        value=lambda row, eff: eff,
        sql="s.eff",
        encoding=Listed("statuses"),
    ),
    Field("place", Text(), _("Place"), "The place's name, from the gazetteer.", encoding=Listed("places")),
    Field("first_reported_at", Time(), _("First reported"), "When it was first seen, rounded down."),
    Field("last_confirmed_at", Time(), _("Last confirmed"), "When a report or a vote last confirmed it."),
    Field("expires_at", Time(), _("Expires"), "When it leaves the map unless confirmed again."),
    Field("reporters", Integer(), _("Distinct reporters"), "How many distinct devices reported it."),
    Field(
        "sources",
        Integer(),
        _("Independent sources"),
        "How many independent sources reported it: distinct networks (an IPv4 /24, an IPv6 /48), however many "
        "devices each carried, each counted only within its hourly reach. Publication and confidence count these.",
    ),
    Field("still_there", Integer(), _("Still there votes"), 'Devices that answered "still there".'),
    Field("gone", Integer(), _("Gone votes"), 'Devices that answered "gone".'),
    Field(
        "confidence",
        Number(minimum=0, maximum=1, decimals=4, percent=True),
        _("Confidence"),
        "How sure we are, from 0 to 1.",
    ),
    Field(
        "verified",
        Boolean(),
        _("Verified by moderators"),
        "A moderator verified it (and did not reject it since).",
        reads=("verified_at",),
        value=_verified,
        sql=f"q.verified_at IS NOT NULL AND s.eff <> '{Status.REJECTED}'",
    ),
    Field(
        "flags",
        Flags(tuple(FLAGS), lambda name: FLAGS[name]),
        _("Flags"),
        'burst: many reporters from few networks at once; contested: "gone" and fresh confirmations disagree, '
        "or it was reopened after votes cleared it; trusted: a trusted reporter reported it; reported_gone: "
        "independent sources say it is gone but a moderator verified it, so a moderator decides.",
        reads=tuple(FLAGS),
        value=_flags,
        encoding=Sparse("flags"),
    ),
    Field("note", Text(), _("Moderators' note"), "Public text written by moderators.", encoding=Sparse("notes")),
    Field("updated_at", Time(), _("Updated"), "When anything public about it last changed."),
)


def model_columns() -> tuple[str, ...]:
    """The Incident columns every representation reads, in a stable order: id, version and the fields'."""
    names = ["id", "version", "status", "expires_at"]
    for f in FIELDS:
        names.extend(c for c in f.columns if c not in names)
    return tuple(names)


def properties(row: Any, ctx: Context) -> dict[str, Any]:
    """The public properties of a row (or an Incident), read-time expiry applied."""
    eff = effective_status(row.status, row.expires_at, ctx.now)
    return {f.name: f.python(row, eff, ctx) for f in FIELDS}


def display_rows(properties: dict[str, Any]) -> list[tuple[str | Promise, str]]:
    """Every labelled, non-empty property of a Feature as a person reads it (Atom entries, GPX, KML)."""
    return [
        (f.label, f.codec.display(properties[f.name]))
        for f in FIELDS
        if f.label is not None and f.name in properties and properties[f.name] not in ("", None)
    ]


def properties_schema() -> dict[str, Any]:
    """The JSON Schema of a Feature's `properties`."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in FIELDS],
        "properties": {f.name: {**f.codec.schema(), "description": f.description} for f in FIELDS},
    }
