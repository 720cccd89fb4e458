"""CORS: every public read may be read by another site's page; no write, and no private read, gets a CORS header
(config/cors.py). The browser side is tests/browser/test_cross_site.py."""

from __future__ import annotations

import pytest

from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "https://newsroom.example", "HTTP_SEC_FETCH_SITE": "cross-site"}
PUBLIC_READS = [
    "/api/v1/incidents",
    "/api/v1/incidents?format=csv",
    "/api/v1/incidents?format=excel",
    "/api/v1/incidents?format=gpx",
    "/api/v1/incidents?format=kml",
    "/api/v1/incidents?bbox=nonsense",  # an error too: the page must read what went wrong
    "/api/v1/incidents/changes",
    "/api/v1/incidents/{id}",
    "/api/v1/places?q=Caracas",
    "/api/v1/schema",
    "/feeds/incidents.atom",
    "/ogc/",
    "/ogc/conformance",
    "/ogc/collections/incidents/items?f=json",
    "/ogc/collections/incidents/items/{id}?f=json",
]
NOT_PUBLIC = [
    ("post", "/api/v1/reports"),
    ("get", "/api/v1/reports/00000000-0000-0000-0000-000000000000"),
    ("post", "/api/v1/incidents/{id}/votes"),
    ("post", "/api/v1/trusted"),
    ("get", "/api/v1/webhooks"),
    ("get", "/api/moderation/v1/queue"),
    ("get", "/moderate/"),
    ("get", "/report"),
    ("get", "/"),
]


@pytest.fixture
def incident_id() -> int:
    return IncidentFactory().pk


@pytest.mark.parametrize("path", PUBLIC_READS)
def test_a_public_read_is_readable_by_any_page_without_credentials(client, incident_id, path):
    response = client.get(path.format(id=incident_id), **ORIGIN)
    assert response.status_code < 500
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    exposed = {name.strip() for name in response["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Link", "Retry-After", "Content-Disposition"} <= exposed


@pytest.mark.parametrize(("method", "path"), NOT_PUBLIC)
def test_writes_and_private_reads_carry_no_cors_header(client, incident_id, method, path):
    response = getattr(client, method)(path.format(id=incident_id), **ORIGIN)
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_preflights_are_answered_for_public_reads_and_the_route_check_only(client, incident_id):
    def preflight(path: str, method: str):
        return client.options(
            path,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, if-none-match",
            **ORIGIN,
        )

    read = preflight("/api/v1/incidents?format=csv", "GET")
    assert read.status_code == 204 and read["Access-Control-Allow-Origin"] == "*"
    assert read["Access-Control-Allow-Methods"] == "GET, HEAD"
    allowed = {h.strip().lower() for h in read["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "if-none-match", "content-type"} <= allowed
    route = preflight("/api/v1/route-check", "POST")
    assert route.status_code == 204 and "POST" in route["Access-Control-Allow-Methods"]
    # A write's preflight gets no permission: the browser never sends the write.
    for path in ("/api/v1/reports", f"/api/v1/incidents/{incident_id}/votes", "/api/v1/webhooks"):
        answer = preflight(path, "POST")
        assert "Access-Control-Allow-Origin" not in answer, path
    # Nor may a page POST to a read.
    assert "POST" not in preflight("/api/v1/incidents", "POST")["Access-Control-Allow-Methods"]


def test_the_route_check_answer_is_readable_by_any_page(client):
    body = '{"route": {"type": "LineString", "coordinates": [[-66.95, 10.48], [-66.85, 10.49]]}}'
    response = client.post("/api/v1/route-check", data=body, content_type="application/json", **ORIGIN)
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == "*"


def test_native_clients_get_the_same_answer(client):
    response = client.get("/api/v1/incidents")
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
