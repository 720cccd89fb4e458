"""Paging through many incidents with limit and the cursor: each exactly once, on both API surfaces."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from incidents.models import Incident

pytestmark = pytest.mark.django_db


def make(n: int) -> list[int]:
    rng = random.Random(n)
    now = timezone.now()
    rows = [
        Incident(
            kind=rng.choice(["checkpoint", "roadblock", "militia", "hazard"]),
            point=Point(rng.uniform(-72.5, -61), rng.uniform(4, 11.5), srid=4326),
            first_reported_at=now,
            last_confirmed_at=now,
            expires_at=now + timedelta(hours=6),
            reporters=2,
            sources=2,
            version=10_000_000 + i,
        )
        for i in range(n)
    ]
    Incident.objects.bulk_create(rows, batch_size=1000)
    return sorted(Incident.objects.values_list("pk", flat=True))


def test_paging_2500_incidents_by_1000_returns_each_exactly_once(api):
    expected = make(2500)
    seen: list[int] = []
    url, pages = "/api/v1/incidents?limit=1000", 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [f["id"] for f in body["features"]]
        pages += 1
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        if url:
            assert response["Link"] == f'<{url}>; rel="next"'
    assert pages == 3
    assert seen == expected  # each once, in id order


def test_paging_the_ogc_items_and_the_changes_feed_returns_each_exactly_once(api):
    expected = make(2500)
    seen, url = [], "/ogc/collections/incidents/items?limit=1000"
    while url:
        body = api.get(url).json()
        assert body["numberMatched"] == 2500
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert seen == expected
    changed, cursor = [], None
    while True:
        body = api.get("/api/v1/incidents/changes", {"limit": 1000, **({"since": cursor} if cursor else {})}).json()
        changed += [f["id"] for f in body["features"]]
        cursor = body["next"]
        if not body["more"]:
            break
    assert sorted(changed) == expected and len(changed) == 2500


def test_the_default_limit_is_1000_and_the_maximum_10000(api):
    make(1001)
    assert api.get("/api/v1/incidents").json()["numberReturned"] == 1000
    assert api.get("/api/v1/incidents?limit=10000").json()["numberReturned"] == 1001
    assert api.get("/api/v1/incidents?limit=10001").status_code == 400
