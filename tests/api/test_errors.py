"""One error path: a DomainError raised under a DRF view or a plain Django view is answered alike."""

from __future__ import annotations

import json

import pytest
from django.utils.html import escape

from tests.factories import CARACAS, IncidentFactory

pytestmark = pytest.mark.django_db

BAD_BBOX = "-67,10,-68"


def _shape(response) -> tuple[int, dict]:
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}
    return response.status_code, body


def test_a_bad_bbox_is_the_same_error_from_the_api_the_ogc_api_and_the_feed(api):
    drf = _shape(api.get("/api/v1/incidents", {"bbox": BAD_BBOX}))
    ogc = _shape(api.get("/ogc/collections/incidents/items", {"bbox": BAD_BBOX}))
    feed = _shape(api.get("/feeds/incidents.atom", {"bbox": BAD_BBOX}))
    assert drf == ogc == feed
    status, body = drf
    assert status == 400 and body["error"] == "invalid_bbox" and set(body["fields"]) == {"bbox"}


def test_a_route_error_keeps_its_code_status_and_field(api):
    url = "/api/v1/route-check"
    line = {"type": "LineString", "coordinates": [list(CARACAS), list(CARACAS)]}
    status, body = _shape(api.post(url, json.dumps(line), content_type="application/json"))
    assert status == 400 and body["error"] == "route_too_short" and body["fields"] == {"route": body["detail"]}
    status, body = _shape(
        api.post(
            f"{url}?corridor_m=9",
            json.dumps({**line, "coordinates": [[-66.9, 10.5], [-66.8, 10.5]]}),
            content_type="application/json",
        )
    )
    assert status == 400 and body["error"] == "invalid_corridor" and body["fields"] == {"corridor_m": body["detail"]}
    status, body = _shape(api.post(url, b"route", content_type="text/csv"))
    assert status == 415 and body["error"] == "unsupported_media_type" and set(body["fields"]) == {"route"}


def test_too_many_reads_are_a_429_with_retry_after_from_either_kind_of_view(api, settings):
    settings.API_READ_RATE_ANON = [(1, 60)]
    IncidentFactory()
    assert api.get("/api/v1/incidents").status_code == 200
    answers = [
        api.get("/api/v1/incidents"),
        api.get("/ogc/collections/incidents/items"),
        api.get("/feeds/incidents.atom"),
    ]
    shapes = [_shape(response) for response in answers]
    assert [status for status, _ in shapes] == [429, 429, 429]
    assert {body["error"] for _, body in shapes} == {"throttled"}
    assert all(int(response["Retry-After"]) >= 1 for response in answers)


def test_a_browser_gets_the_error_page_with_the_message_and_the_status(client):
    # A feed reader gets JSON; a browser that asks for HTML gets the page, with the same message.
    status, body = _shape(client.get("/feeds/incidents.atom", {"bbox": BAD_BBOX}, HTTP_ACCEPT="application/atom+xml"))
    page = client.get("/feeds/incidents.atom", {"bbox": BAD_BBOX}, HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert page.status_code == status == 400
    assert page["Content-Type"].startswith("text/html")
    assert f"<h1>{escape(body['detail'])}</h1>" in page.content.decode()
