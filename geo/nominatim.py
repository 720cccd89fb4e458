"""The Nominatim provider: geopy's Nominatim client against a configured (self-hosted) service.

Every request first takes the token of the rate limit shared through Redis (geo/ratelimit.py) and every
answer, "nothing found" included, is cached in Redis: forward by the folded text, reverse by the point
rounded to 4 decimals (about 11 m). Searches are bounded to the deployment area's box, and the first
result (Nominatim ranks them by importance) that lies inside the area itself is taken. Network errors
are never cached; they reach the caller as geopy's exceptions, for the worker's retry policy
(geo/geocoding.py). Requests refuse to run inside a database transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from urllib.parse import urlparse

import redis
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connections
from geopy.geocoders import Nominatim

from config.redis import get_redis
from geo import ratelimit
from geo.gazetteer import name_key

logger = logging.getLogger(__name__)

LOCALITY_FIELDS = ("city", "town", "village", "suburb", "hamlet", "municipality", "county")
ROAD_FIELDS = ("road", "pedestrian", "neighbourhood")
MAX_LABEL = 200


@dataclass(frozen=True, slots=True)
class Found:
    lon: float
    lat: float
    label: str


class NetworkInTransaction(RuntimeError):
    """A network call was about to run while a database transaction is open (architecture §4 forbids it)."""


def label_from(raw: dict) -> str:
    """ "Road, Place, State" from a Nominatim answer's address details, else its display name."""
    address = raw.get("address") or {}
    parts: list[str] = []
    for group in (ROAD_FIELDS, LOCALITY_FIELDS, ("state",)):
        value = next((address[field] for field in group if address.get(field)), "")
        if value and value not in parts:
            parts.append(value)
    label = ", ".join(parts) or str(raw.get("display_name", ""))
    return label[:MAX_LABEL]


class NominatimProvider:
    name = "nominatim"

    def __init__(
        self,
        *,
        url: str,
        user_agent: str,
        timeout_s: float,
        rate_per_s: float,
        max_wait_s: float,
        cache_ttl_s: int,
        language: str,
        area: GEOSGeometry,
    ):
        parsed = urlparse(url)
        self.client = Nominatim(
            domain=parsed.netloc + parsed.path.rstrip("/"),
            scheme=parsed.scheme,
            user_agent=user_agent,
            timeout=timeout_s,
        )
        # One bucket per service, whatever the number of processes or deployments' settings modules.
        self.bucket = hashlib.sha256(f"{parsed.netloc}{parsed.path}".encode()).hexdigest()[:16]
        self.cache_prefix = f"alc:geo:nominatim:{self.bucket}"
        self.rate_per_s = rate_per_s
        self.timeout_s = timeout_s
        self.max_wait_s = max_wait_s
        self.cache_ttl_s = cache_ttl_s
        self.language = language
        self.area = area
        self.prepared = area.prepared

    # --- the cache --------------------------------------------------------------------------------

    def _cached(self, key: str) -> tuple[bool, dict | None]:
        try:
            value = get_redis().get(key)
        except redis.RedisError as exc:
            logger.warning("geocoding cache unreachable: %s", exc.__class__.__name__)
            return False, None
        if value is None:
            return False, None
        data = json.loads(value)
        return True, data or None

    def _remember(self, key: str, data: dict | None) -> None:
        try:
            get_redis().set(key, json.dumps(data or {}), ex=self.cache_ttl_s)
        except redis.RedisError as exc:
            logger.warning("geocoding cache unreachable: %s", exc.__class__.__name__)

    def _slot(self):
        """The shared rate limit's turn for one request; never inside a database transaction."""
        if any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
            raise NetworkInTransaction("geocoding over the network inside a database transaction")
        return ratelimit.request_slot(
            self.bucket, rate_per_s=self.rate_per_s, max_wait_s=self.max_wait_s, lease_s=self.timeout_s + 5
        )

    # --- lookups ----------------------------------------------------------------------------------

    def forward(self, text: str) -> Found | None:
        folded = name_key(text)
        if not folded:
            return None
        key = f"{self.cache_prefix}:fwd:{hashlib.sha256(folded.encode()).hexdigest()}"
        hit, data = self._cached(key)
        if hit:
            return Found(**data) if data else None
        min_lon, min_lat, max_lon, max_lat = self.area.extent
        with self._slot():
            locations = self.client.geocode(
                text,
                exactly_one=False,
                limit=5,
                addressdetails=True,
                language=self.language,
                viewbox=[(min_lat, min_lon), (max_lat, max_lon)],
                bounded=True,
            )
        found = None
        for location in locations or []:
            if self.prepared.covers(Point(location.longitude, location.latitude, srid=4326)):
                found = Found(location.longitude, location.latitude, label_from(location.raw))
                break
        self._remember(key, None if found is None else {"lon": found.lon, "lat": found.lat, "label": found.label})
        return found

    def reverse(self, lon: float, lat: float) -> str | None:
        key = f"{self.cache_prefix}:rev:{lat:.4f},{lon:.4f}"
        hit, data = self._cached(key)
        if hit:
            return data["label"] if data else None
        with self._slot():
            location = self.client.reverse((lat, lon), exactly_one=True, addressdetails=True, language=self.language)
        label = label_from(location.raw) if location is not None else ""
        self._remember(key, {"label": label} if label else None)
        return label or None
