"""One bbox parser for /api/v1, /ogc and /feeds: four numbers or six (heights ignored), boxes across the
antimeridian, and the same clear 400 everywhere."""

from __future__ import annotations

import json

import feedparser
import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from consumers.services import api_key_create
from incidents.models import EventType, IncidentEvent
from incidents.public.features import feature
from tests.factories import CARACAS, IncidentFactory
from watch.models import WebhookSubscription

pytestmark = pytest.mark.django_db

# Fiji's Taveuni lies across 180°: one incident just east of it, one just west, one far away in Caracas.
EAST_OF_180 = (179.95, -16.80)
WEST_OF_180 = (-179.95, -16.90)
ACROSS = "179.9,-17.0,-179.9,-16.7"


@pytest.fixture
def placed():
    east = IncidentFactory(point=Point(*EAST_OF_180, srid=4326))
    west = IncidentFactory(point=Point(*WEST_OF_180, srid=4326))
    caracas = IncidentFactory(point=Point(*CARACAS, srid=4326))
    now = timezone.now()
    for incident in (east, west, caracas):
        public = feature(incident, now=now)
        IncidentEvent.objects.create(
            incident=incident,
            type=EventType.PUBLISHED,
            kind=incident.kind,
            status=incident.status,
            point=Point(*public["geometry"]["coordinates"], srid=4326),
            version=incident.version,
            feature=public,
            created_at=now,
        )
    return {"east": east.pk, "west": west.pk, "caracas": caracas.pk}


def found(api, bbox: str) -> dict[str, set[int]]:
    """The incidents each of the three bbox-taking reads returns for `bbox`."""
    answers = {
        "api": api.get(f"/api/v1/incidents?bbox={bbox}"),
        "ogc": api.get(f"/ogc/collections/incidents/items?f=json&bbox={bbox}"),
        "feed": api.get(f"/feeds/incidents.atom?bbox={bbox}"),
    }
    for name, response in answers.items():
        assert response.status_code == 200, (name, response.content[:300])
    return {
        "api": {f["id"] for f in answers["api"].json()["features"]},
        "ogc": {f["id"] for f in answers["ogc"].json()["features"]},
        "feed": {entry["id"] for entry in feedparser.parse(answers["feed"].content).entries},
    }


def test_a_box_across_the_antimeridian_finds_both_sides_on_every_read(api, placed):
    got = found(api, ACROSS)
    assert got["api"] == got["ogc"] == {placed["east"], placed["west"]}
    assert len(got["feed"]) == 2
    # The same box the other way round is the rest of the world: Caracas only.
    other = found(api, "-179.9,-17.0,179.9,-16.7")
    assert other["api"] == other["ogc"] == set()
    everywhere_else = found(api, "-179.9,-20,179.9,20")
    assert everywhere_else["api"] == everywhere_else["ogc"] == {placed["caracas"]}
    assert len(everywhere_else["feed"]) == 1


def test_six_numbers_are_the_same_box_as_four_on_every_read(api, placed):
    assert found(api, "179.9,-17.0,-50,-179.9,-16.7,3000") == found(api, ACROSS)


def test_the_feed_names_a_box_across_the_antimeridian_as_it_was_given(api, placed):
    parsed = feedparser.parse(api.get(f"/feeds/incidents.atom?bbox={ACROSS}").content)
    self_link = next(link["href"] for link in parsed.feed.links if link["rel"] == "self")
    assert "bbox=179.9%2C-17%2C-179.9%2C-16.7" in self_link


@pytest.mark.parametrize(
    ("bbox", "says"),
    [
        ("1,2,3", "minLon,minLat,maxLon,maxLat"),
        ("1,2,3,4,5", "minLon,minLat,maxLon,maxLat"),
        ("-67,11,-66,10", "minLat must not exceed"),
        ("-67,10,100,-66,11,0", "height"),
        ("-190,10,-66,11", "out of range"),
        ("-67,10,-66,inf", "minLon,minLat,maxLon,maxLat"),
    ],
)
def test_a_bad_bbox_is_the_same_clear_400_on_every_read(api, bbox, says):
    for path in ("/api/v1/incidents", "/ogc/collections/incidents/items", "/feeds/incidents.atom"):
        response = api.get(f"{path}?bbox={bbox}")
        assert response.status_code == 400, (path, response.content[:300])
        body = response.json()
        assert body["error"] == "invalid_bbox" and says in body["fields"]["bbox"], (path, body)


def test_a_webhook_area_across_the_antimeridian_is_kept_as_given_and_wants_both_sides_only(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the hook is never called here
    _row, key = api_key_create(name="Newsroom")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = {"url": "http://127.0.0.1:9/hook", "bbox": [179.9, -17, 0, -179.9, -16.7, 10]}
    response = api.post("/api/v1/webhooks", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["bbox"] == [179.9, -17, -179.9, -16.7]
    area = WebhookSubscription.objects.get()

    def wants(lon: float, lat: float) -> bool:
        return area.wants(IncidentEvent(type=EventType.PUBLISHED, kind="checkpoint", point=Point(lon, lat)))

    assert wants(*EAST_OF_180) and wants(*WEST_OF_180)
    assert not wants(*CARACAS) and not wants(179.95, -10)
