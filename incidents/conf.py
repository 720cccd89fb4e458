"""The domain's settings with their defaults, in one place (django-loci's habit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

KINDS = ("checkpoint", "roadblock", "militia", "hazard")

_KIND_DEFAULTS = {
    "checkpoint": {"ttl_minutes": 360, "merge_radius_m": 250},
    "roadblock": {"ttl_minutes": 720, "merge_radius_m": 250},
    "militia": {"ttl_minutes": 120, "merge_radius_m": 600},
    "hazard": {"ttl_minutes": 180, "merge_radius_m": 400},
}


@dataclass(frozen=True)
class KindSettings:
    ttl: timedelta
    merge_radius_m: float


def kind_settings(kind: str) -> KindSettings:
    configured = getattr(settings, "INCIDENT_KINDS", {}).get(kind, {})
    defaults = _KIND_DEFAULTS[kind]
    return KindSettings(
        ttl=timedelta(minutes=configured.get("ttl_minutes", defaults["ttl_minutes"])),
        merge_radius_m=float(configured.get("merge_radius_m", defaults["merge_radius_m"])),
    )


def publish_policy() -> str:
    return getattr(settings, "PUBLISH_POLICY", "corroborated")


def corroboration_sources() -> int:
    """Independent sources (network groups) that make an incident public under `corroborated`."""
    return getattr(settings, "CORROBORATION_SOURCES", 2)


def gone_sources_to_clear() -> int:
    """Independent sources answering "gone" that clear an unverified incident (architecture §3)."""
    return getattr(settings, "GONE_SOURCES_TO_CLEAR", 2)


def network_reach_per_hour() -> int:
    """Distinct incidents one network group may add weight to in any hour."""
    return getattr(settings, "NETWORK_REACH_PER_HOUR", 3)


def report_max_age() -> timedelta:
    return timedelta(hours=getattr(settings, "REPORT_MAX_AGE_HOURS", 24))


def public_grid_m() -> int:
    return getattr(settings, "PUBLIC_GRID_M", 50)


def public_time_step_s() -> int:
    return getattr(settings, "PUBLIC_TIME_STEP_S", 300)


# A phone's clock may run a little ahead; within this an observation is taken as "now".
CLOCK_SKEW = timedelta(minutes=5)


# --- Abuse resistance (architecture §6.1, incidents/abuse.py) ---

# (limit, window in seconds) pairs; the settings parse RATE_LIMIT_* variables into these.
RateLimits = tuple[tuple[int, int], ...]

_RATE_LIMIT_DEFAULTS: dict[str, RateLimits] = {
    "RATE_LIMIT_REPORTS_PER_NETWORK": ((20, 600), (60, 3600)),
    "RATE_LIMIT_REPORTS_PER_DEVICE": ((10, 600), (30, 3600)),
    "RATE_LIMIT_VOTES_PER_NETWORK": ((60, 600), (200, 3600)),
    "RATE_LIMIT_VOTES_PER_DEVICE": ((30, 600), (100, 3600)),
    "RATE_LIMIT_MESSAGES_PER_SENDER": ((10, 600), (30, 3600)),
    "RATE_LIMIT_MESSAGES_PER_GATEWAY": ((300, 600), (1000, 3600)),
}


def rate_limits(name: str) -> RateLimits:
    """The limits named `name` (a key of _RATE_LIMIT_DEFAULTS); an empty tuple means no limit."""
    return tuple((int(limit), int(window)) for limit, window in getattr(settings, name, _RATE_LIMIT_DEFAULTS[name]))


def trusted_proxies() -> tuple[str, ...]:
    """Addresses or CIDR networks of the reverse proxies whose X-Forwarded-For is believed."""
    return tuple(getattr(settings, "TRUSTED_PROXIES", None) or ())


def burst_window() -> timedelta:
    return timedelta(minutes=getattr(settings, "BURST_WINDOW_MINUTES", 10))


def burst_min_reporters() -> int:
    return getattr(settings, "BURST_MIN_REPORTERS", 3)


def burst_confidence_factor() -> float:
    return getattr(settings, "BURST_CONFIDENCE_FACTOR", 0.5)
