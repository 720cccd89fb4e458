from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.contrib.gis.geos import Point
from django.utils import timezone

from incidents.models import Incident, Report, Source

CARACAS = (-66.9036, 10.4806)


def offset(lon: float, lat: float, east_m: float = 0, north_m: float = 0) -> tuple[float, float]:
    """A point `east_m` metres east and `north_m` metres north of (lon, lat)."""
    import math

    return (
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
        lat + north_m / 111_320,
    )


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    kind = "checkpoint"
    point = factory.LazyFunction(lambda: Point(*CARACAS, srid=4326))
    first_reported_at = factory.LazyFunction(timezone.now)
    last_confirmed_at = factory.LazyAttribute(lambda o: o.first_reported_at)
    expires_at = factory.LazyAttribute(lambda o: o.last_confirmed_at + timedelta(hours=6))
    reporters = 2
    # One independent source a reporter, with their Source rows (under tags no network has: real tags are hex).
    sources = factory.LazyAttribute(lambda o: o.reporters)
    sources_confirming = factory.LazyAttribute(lambda o: o.sources)
    version = factory.Sequence(lambda n: 1_000_000 + n)

    @factory.post_generation
    def source_rows(self, create, extracted, **kwargs):
        if not create:
            return
        Source.objects.bulk_create(
            Source(incident=self, tag=f"T{n}.{self.pk}"[:8], reported=True, confirmed_at=self.last_confirmed_at)
            for n in range(self.sources_confirming)
        )


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    client_id = factory.LazyFunction(uuid.uuid4)
    kind = "checkpoint"
    point = factory.LazyFunction(lambda: Point(*CARACAS, srid=4326))
    observed_at = factory.LazyFunction(timezone.now)


def address(n: int) -> str:
    """An address in the n-th network group of its own: an IPv6 /48 of the documentation range."""
    return f"2001:db8:{n:x}::1"


def network(n: int) -> str:
    """The source pseudonym (what `abuse.report_guard` hands to the services) of the n-th network group."""
    from incidents.abuse import network_group
    from incidents.keys import source_key

    return source_key(network_group(address(n)))


def network_of(device: str | None) -> str | None:
    """The network of a phone in the tests that give each phone one of its own; None without a device."""
    if not device:
        return None
    import zlib

    return network(zlib.crc32(device.encode()) % 0xFFFF + 1)


def vote(**kwargs):
    """`services.incident_vote` from the voting phone's own network (`network_of`), unless a `source` is given."""
    from incidents import services

    kwargs.setdefault("source", network_of(kwargs.get("device")))
    return services.incident_vote(**kwargs)
