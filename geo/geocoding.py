"""Turning what a reporter typed into a point, and a point into a readable place name.

This module is the one geocoding interface the rest of the code calls: `locate(text)` and
`describe(point)`. Typed coordinates ("10.4806, -66.9036", "10.4806 -66.9036", with or without a degree
sign) are always understood; place names go to the provider chosen by the GEOCODER setting:

- `gazetteer` (default): offline, in memory (geo/gazetteer.py);
- `nominatim`: geopy's Nominatim at NOMINATIM_URL, rate-limited and cached through Redis (geo/nominatim.py);
- `chain`: Nominatim, and the gazetteer when Nominatim finds nothing.

Network errors (geopy's GeocoderTimedOut, GeocoderUnavailable, GeocoderServiceError) reach the caller,
so that the Celery task retries with backoff, outside any transaction. The task's last try passes
`fallback=True`: the gazetteer answers instead, and the failure is logged and counted in Redis
(`fallback_count()`). Errors that no retry can mend (a refused query, refused credentials) go to the
gazetteer at once, logged and counted the same way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol, TypeVar

import redis
from django.conf import settings
from django.contrib.gis.geos import Point
from geopy.exc import (
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
    GeocoderQueryError,
    GeocoderServiceError,
    GeocoderTimedOut,
    GeocoderUnavailable,
)

from config.redis import get_redis
from geo.area import deployment_area
from geo.gazetteer import Gazetteer, gazetteer_for
from geo.nominatim import Found

logger = logging.getLogger(__name__)

# What the worker retries. GeocoderServiceError is geopy's base class, so timeouts, refused connections,
# 5xx answers and 429s are all retried; UNMENDABLE ones are answered by the gazetteer at once.
NETWORK_ERRORS: tuple[type[Exception], ...] = (GeocoderTimedOut, GeocoderUnavailable, GeocoderServiceError)
UNMENDABLE: tuple[type[Exception], ...] = (
    GeocoderQueryError,
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
)
FALLBACK_COUNTER = "alc:geo:fallbacks"

_NUMBER = r"[-+]?\d{1,3}(?:[.,]\d+)?"
_COORDS = re.compile(rf"^\s*\(?\s*({_NUMBER})\s*°?\s*[,;\s]\s*({_NUMBER})\s*°?\s*\)?\s*$")

T = TypeVar("T")


def parse_coordinates(text: str) -> Point | None:
    """Read "lat, lon" as people type it (the order of phones and maps, not GeoJSON's)."""
    match = _COORDS.match(text or "")
    if not match:
        return None
    lat, lon = (float(group.replace(",", ".")) for group in match.groups())
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Point(lon, lat, srid=4326)


class Provider(Protocol):
    name: str

    def forward(self, text: str) -> Found | None: ...

    def reverse(self, lon: float, lat: float) -> str | None: ...


class GazetteerProvider:
    name = "gazetteer"

    def __init__(self, index: Gazetteer):
        self.index = index

    def forward(self, text: str) -> Found | None:
        place = self.index.forward(text)
        return Found(place.lon, place.lat, place.label) if place else None

    def reverse(self, lon: float, lat: float) -> str | None:
        return self.index.reverse(lon, lat)


class ChainProvider:
    """The first provider's answer, or the next one's when it has none. Errors are not swallowed."""

    name = "chain"

    def __init__(self, *providers: Provider):
        self.providers = providers

    def forward(self, text: str) -> Found | None:
        for provider in self.providers:
            found = provider.forward(text)
            if found is not None:
                return found
        return None

    def reverse(self, lon: float, lat: float) -> str | None:
        for provider in self.providers:
            label = provider.reverse(lon, lat)
            if label:
                return label
        return None


def gazetteer() -> GazetteerProvider:
    """The offline provider for the deployment area, built once per process."""
    return GazetteerProvider(gazetteer_for(str(settings.DEPLOYMENT_AREA), deployment_area()))


@lru_cache(maxsize=4)
def _nominatim(url: str, user_agent: str, timeout_s: float, rate: float, max_wait: float, ttl: int, lang: str):
    from geo.nominatim import NominatimProvider

    return NominatimProvider(
        url=url,
        user_agent=user_agent,
        timeout_s=timeout_s,
        rate_per_s=rate,
        max_wait_s=max_wait,
        cache_ttl_s=ttl,
        language=lang,
        area=deployment_area(),
    )


def nominatim():
    return _nominatim(
        settings.NOMINATIM_URL,
        settings.NOMINATIM_USER_AGENT,
        settings.NOMINATIM_TIMEOUT_S,
        settings.NOMINATIM_RATE_PER_S,
        settings.NOMINATIM_MAX_WAIT_S,
        settings.GEOCODER_CACHE_TTL_S,
        settings.NOMINATIM_LANGUAGE,
    )


def provider() -> Provider:
    """The provider the GEOCODER setting names."""
    choice = getattr(settings, "GEOCODER", "gazetteer")
    if choice == "nominatim":
        return nominatim()
    if choice == "chain":
        return ChainProvider(nominatim(), gazetteer())
    return gazetteer()


def lookups_are_local() -> bool:
    """Whether names come from the offline gazetteer alone: a lookup then costs microseconds and no quota."""
    return getattr(settings, "GEOCODER", "gazetteer") == "gazetteer"


def fallback_count() -> int:
    """How many lookups the gazetteer answered because the configured service failed."""
    try:
        return int(get_redis().get(FALLBACK_COUNTER) or 0)
    except redis.RedisError:
        return 0


def _answer(what: str, call: Callable[[Provider], T], *, fallback: bool) -> T:
    chosen = provider()
    if isinstance(chosen, GazetteerProvider):
        return call(chosen)
    try:
        return call(chosen)
    except NETWORK_ERRORS as exc:
        if not fallback and not isinstance(exc, UNMENDABLE):
            raise
        logger.warning("%s: %s failed (%s: %s); the gazetteer answers", what, chosen.name, exc.__class__.__name__, exc)
        try:
            get_redis().incr(FALLBACK_COUNTER)
        except redis.RedisError:
            pass  # the log line above still records it
        return call(gazetteer())


def locate(place_text: str, *, fallback: bool = False) -> Point | None:
    """The point a reporter's place text stands for, or None when it cannot be placed.

    Typed coordinates win; otherwise the configured provider decides. A name it cannot decide between
    several places gives None, never a guess. Raises one of NETWORK_ERRORS unless `fallback` is set.
    """
    point = parse_coordinates(place_text)
    if point is not None or not (place_text or "").strip():
        return point
    found = _answer("forward geocoding", lambda p: p.forward(place_text), fallback=fallback)
    return Point(found.lon, found.lat, srid=4326) if found else None


def describe(point: Point, *, fallback: bool = False) -> str:
    """A readable name for a point ("Maiquetía, La Guaira"), or "" when there is none.

    Raises one of NETWORK_ERRORS unless `fallback` is set.
    """
    label = _answer("reverse geocoding", lambda p: p.reverse(point.x, point.y), fallback=fallback)
    return label or ""
