from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.contrib.gis.geos import Point
from django.utils import timezone

from incidents.models import Incident, Report

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
    version = factory.Sequence(lambda n: 1_000_000 + n)


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    client_id = factory.LazyFunction(uuid.uuid4)
    kind = "checkpoint"
    point = factory.LazyFunction(lambda: Point(*CARACAS, srid=4326))
    observed_at = factory.LazyFunction(timezone.now)
