"""`?format=columns`, the map's compact format, says what the GeoJSON list says, incident by incident."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents"


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def decode(body: dict) -> list[dict]:
    """Features rebuilt from the columns, as a client of the format would."""
    t0 = datetime.strptime(body["t0"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    step = timedelta(seconds=body["timeStep"])
    cols = body["columns"]
    out = []
    for i, pk in enumerate(cols["id"]):
        properties = {
            "kind": body["kinds"][cols["kind"][i]],
            "status": body["statuses"][cols["status"][i]],
            "place": body["places"][cols["place"][i]],
            **{name: iso(t0 + step * cols[name][i]) for name in ("first_reported_at", "last_confirmed_at")},
            "expires_at": iso(t0 + step * cols["expires_at"][i]),
            "reporters": cols["reporters"][i],
            "sources": cols["sources"][i],
            "still_there": cols["still_there"][i],
            "gone": cols["gone"][i],
            "confidence": cols["confidence"][i],
            "verified": bool(cols["verified"][i]),
            "flags": body["flags"].get(str(pk), []),
            "note": body["notes"].get(str(pk), ""),
            "updated_at": iso(t0 + step * cols["updated_at"][i]),
        }
        geometry = {"type": "Point", "coordinates": [cols["lon"][i], cols["lat"][i]]}
        out.append({"type": "Feature", "id": pk, "geometry": geometry, "properties": properties})
    return out


def test_columns_hold_the_same_incidents_as_the_geojson_list(api, settings):
    settings.PUBLISH_POLICY = "open"
    rng = random.Random(27)
    now = timezone.now()
    for _ in range(120):
        first = now - timedelta(seconds=rng.randint(0, 20 * 3600), microseconds=rng.randint(0, 999_999))
        IncidentFactory(
            kind=rng.choice(["checkpoint", "roadblock", "militia", "hazard"]),
            point=Point(rng.uniform(-73.3, -59.8), rng.uniform(0.7, 12.2), srid=4326),
            status=rng.choice(["unverified", "verified"]),
            place=rng.choice(["", "Peaje de Tazón", 'Los "Teques" \\ km 3', "<img src=x onerror=alert(1)>"]),
            note=rng.choice(["", "", "ñandú ✓", "<script>alert(1)</script>"]),
            first_reported_at=first,
            last_confirmed_at=first + timedelta(minutes=rng.randint(0, 90)),
            expires_at=first + timedelta(hours=rng.choice([6, 12, 24])),
            verified_at=rng.choice([None, now]),
            reporters=rng.randint(1, 9),
            burst=rng.random() < 0.3,
            contested=rng.random() < 0.3,
            trusted=rng.random() < 0.2,
            reported_gone=rng.random() < 0.2,
            still_there=rng.randint(0, 5),
            gone=rng.randint(0, 5),
            confidence=rng.choice([0.0, 1 / 3, 0.5, 0.85, 1.0]),
            updated_at=now - timedelta(seconds=rng.randint(0, 9999)),
        )
    geojson = api.get(URL, {"limit": 1000}).json()["features"]
    response = api.get(URL, {"limit": 1000, "format": "columns"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["type"] == "IncidentColumns" and body["numberReturned"] == len(geojson) > 50
    got = decode(body)
    for feature in geojson:  # the format keeps 4 decimals of confidence: enough for a percentage
        feature["properties"]["confidence"] = round(feature["properties"]["confidence"], 4)
    assert got == geojson
    # Distinct place names are listed once each.
    assert sorted(body["places"]) == sorted({f["properties"]["place"] for f in geojson})


def test_columns_page_with_a_cursor_and_filters_like_the_list(api):
    IncidentFactory.create_batch(3, kind="checkpoint", status="verified", verified_at=timezone.now())
    IncidentFactory.create_batch(2, kind="militia", status="verified", verified_at=timezone.now())
    first = api.get(URL, {"limit": 2, "format": "columns", "kind": "checkpoint"})
    body = first.json()
    assert body["columns"]["kind"] == [0, 0]
    nexts = [link["href"] for link in body["links"] if link["rel"] == "next"]
    assert len(nexts) == 1 and "format=columns" in nexts[0] and 'rel="next"' in first["Link"]
    rest = api.get(nexts[0]).json()
    assert rest["numberReturned"] == 1 and not [link for link in rest["links"] if link["rel"] == "next"]
    everything = api.get(URL, {"kind": "checkpoint"}).json()["features"]
    assert body["columns"]["id"] + rest["columns"]["id"] == [f["id"] for f in everything]


def test_unchanged_columns_poll_gets_304_and_a_bad_format_a_clear_400(api):
    IncidentFactory(status="verified", verified_at=timezone.now())
    first = api.get(URL, {"format": "columns"})
    again = api.get(URL, {"format": "columns"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert api.get(URL, {"format": "geojson"}, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    bad = api.get(URL, {"format": "xml"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_format"
    assert "columns" in json.loads(bad.content)["detail"] and "csv" in bad.json()["detail"]
    # Elsewhere too; and a missing incident is still a 404 whatever the format.
    assert api.get("/api/v1/incidents/changes", {"format": "csv"}).json()["error"] == "invalid_format"
    assert api.get("/api/v1/incidents/999999", {"format": "json"}).status_code == 404
