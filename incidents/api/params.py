"""Parsing of query parameters into clear 400s."""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils.dateparse import parse_date, parse_datetime

from config.errors import ApiError
from geo.spatial import bbox_geometry
from incidents import conf
from incidents.models import Status

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


BBOX_FORMAT = (
    "bbox must be minLon,minLat,maxLon,maxLat in degrees (or minLon,minLat,minHeight,maxLon,maxLat,maxHeight), "
    "e.g. -67.1,10.3,-66.7,10.6."
)


def parse_bbox(value: str | None) -> Polygon | MultiPolygon | None:
    """The one bbox parser of /api/v1, /ogc and /feeds (OGC API – Features Part 1, §7.15.3): four numbers, or
    six with heights (ignored: incidents lie on the ground). A minLon above maxLon is a box across the
    antimeridian, given as a MultiPolygon of its two halves (geo.spatial.bbox_geometry)."""
    if value is None:  # an empty bbox= is a mistake, refused below
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise ApiError("invalid_bbox", BBOX_FORMAT, fields={"bbox": BBOX_FORMAT})
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ApiError("invalid_bbox", BBOX_FORMAT, fields={"bbox": BBOX_FORMAT}) from None
    if not all(math.isfinite(v) for v in numbers):
        raise ApiError("invalid_bbox", BBOX_FORMAT, fields={"bbox": BBOX_FORMAT})
    if len(numbers) == 6:
        min_lon, min_lat, min_z, max_lon, max_lat, max_z = numbers
        if min_z > max_z:
            detail = "bbox's minimum height must not exceed its maximum height."
            raise ApiError("invalid_bbox", detail, fields={"bbox": detail})
    else:
        min_lon, min_lat, max_lon, max_lat = numbers
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        detail = "bbox values are out of range: longitudes within ±180, latitudes within ±90."
        raise ApiError("invalid_bbox", detail, fields={"bbox": detail})
    if min_lat > max_lat:
        detail = (
            "bbox's minLat must not exceed its maxLat (a minLon above maxLon is fine: a box across the antimeridian)."
        )
        raise ApiError("invalid_bbox", detail, fields={"bbox": detail})
    return bbox_geometry(min_lon, min_lat, max_lon, max_lat)


def parse_kinds(value: str | None) -> list[str] | None:
    if value is None:
        return None
    kinds = [k.strip() for k in value.split(",")]
    unknown = [k or "(empty)" for k in kinds if k not in conf.KINDS]
    if unknown:
        detail = f"Unknown kind {', '.join(unknown)}; use {', '.join(conf.KINDS)}."
        raise ApiError("invalid_kind", detail, fields={"kind": detail})
    return kinds or None


def parse_statuses(value: str | None) -> list[str] | None:
    if value is None:
        return None
    statuses = [s.strip() for s in value.split(",")]
    unknown = [s or "(empty)" for s in statuses if s not in Status.values]
    if unknown:
        detail = f"Unknown status {', '.join(unknown)}; use {', '.join(Status.values)}."
        raise ApiError("invalid_status", detail, fields={"status": detail})
    return statuses or None


def in_utc(moment: datetime, name: str) -> datetime:
    """`moment` in UTC (naive: read as UTC). Any offset ISO 8601 allows is fine, even one no zone uses (the
    database only takes some); a time that leaves the years 1 to 9999 once in UTC is a 400, not a crash."""
    try:
        return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        detail = f"{name} is out of range: give a time between the years 1 and 9999, in UTC."
        raise ApiError(f"invalid_{name}", detail, fields={name: detail}) from None


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parse_datetime(value.replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            day = parse_date(value)
        except ValueError:
            day = None
        if day is not None:
            parsed = datetime(day.year, day.month, day.day)
    if parsed is None:
        detail = f"{name} must be an ISO 8601 time such as 2026-11-27T10:00:00Z."
        raise ApiError(f"invalid_{name}", detail, fields={name: detail})
    return in_utc(parsed, name)


def parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    detail = f"limit must be a whole number from 1 to {MAX_LIMIT}."
    try:
        limit = int(value)
    except ValueError:
        raise ApiError("invalid_limit", detail, fields={"limit": detail}) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError("invalid_limit", detail, fields={"limit": detail})
    return limit


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def parse_cursor(value: str | None) -> int | None:
    if not value:
        return None
    detail = "cursor is not one this server gave out; start again without it."
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        prefix, _, number = raw.partition(":")
        if prefix != "id" or not number.isdigit() or len(number) > 18:
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError("invalid_cursor", detail, fields={"cursor": detail}) from None


def encode_version_cursor(version: int) -> str:
    return base64.urlsafe_b64encode(f"v:{version}".encode()).decode().rstrip("=")


def parse_version_cursor(value: str | None) -> int | None:
    """The changes feed's cursor: opaque to clients; inside, the last map version they have seen."""
    if not value:
        return None
    detail = "since is not a cursor this server gave out; start again without it."
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        prefix, _, number = raw.partition(":")
        if prefix != "v" or not number.isdigit() or len(number) > 18:
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError("invalid_since", detail, fields={"since": detail}) from None
