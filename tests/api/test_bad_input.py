"""No input makes a 5xx: nesting too deep, numbers that fit no float, NaN and empty geometries, in every API.

Each bad body gets a 4xx in the error shape and leaves nothing stored.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from config.parsers import MAX_JSON_DEPTH, loads, too_deep
from consumers import services as consumers
from incidents.models import Incident, ModerationEvent, Report, Vote
from moderation import accounts
from tests.factories import CARACAS, IncidentFactory
from watch.models import WebhookSubscription

pytestmark = pytest.mark.django_db

DEEP = "[" * 5_000 + "]" * 5_000
DEEP_OBJECT = '{"a":' * 5_000 + "1" + "}" * 5_000
HUGE = "1" + "0" * 400  # a valid JSON integer that no float holds
LON, LAT = (json.dumps(c) for c in CARACAS)


def _error(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail", "fields"} and body["detail"]
    return body


def _point(lon: str, lat: str) -> str:
    return f'{{"type": "Point", "coordinates": [{lon}, {lat}]}}'


def _report(location: str) -> str:
    return f'{{"client_id": "{uuid.uuid4()}", "kind": "checkpoint", "device": "phone-1", "location": {location}}}'


# The body, and the error code (or None where the field's own validation answers).
REPORTS = [
    pytest.param(DEEP, "too_deep", id="deep-array"),
    pytest.param(_report(DEEP), "too_deep", id="deep-location"),
    pytest.param(DEEP_OBJECT, "too_deep", id="deep-object"),
    pytest.param(_report(_point(HUGE, LAT)), "invalid", id="huge-int-lon"),
    pytest.param(_report(_point(LON, "-" + HUGE)), "invalid", id="huge-int-lat"),
    pytest.param(_report(_point("1e400", LAT)), "invalid", id="1e400"),
    pytest.param(_report(_point("NaN", LAT)), "parse_error", id="NaN"),
    pytest.param(_report(_point("-Infinity", LAT)), "parse_error", id="Infinity"),
    pytest.param(_report('{"type": "Point", "coordinates": []}'), "invalid", id="empty-point"),
    pytest.param(_report(f'{{"type": "Point", "coordinates": [{LON}, {LAT}, {HUGE}]}}'), "invalid", id="huge-z"),
]


@pytest.mark.parametrize(("body", "code"), REPORTS)
def test_a_bad_report_body_is_a_4xx_and_nothing_is_stored(body, code):
    body_out = _error(APIClient().post("/api/v1/reports", body, content_type="application/json"), 400)
    assert body_out["error"] == code
    if code == "invalid":
        assert "location" in body_out["fields"]
    assert not Report.objects.exists()


@pytest.mark.parametrize("location", [DEEP, _point("NaN", LAT), _point(HUGE, LAT), _point("1e400", LAT)])
def test_a_bad_location_in_a_multipart_report_is_a_400_naming_it(location):
    data = {"client_id": str(uuid.uuid4()), "kind": "checkpoint", "device": "phone-1", "location": location}
    body = _error(APIClient().post("/api/v1/reports", data, format="multipart"), 400)
    assert body["error"] == "invalid" and "location" in body["fields"]
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(DEEP, "too_deep", id="deep"),
        pytest.param('{"still_there": true, "device": "a", "x": ' + DEEP + "}", "too_deep", id="deep-member"),
        pytest.param('{"still_there": true, "device": "a", "x": NaN}', "parse_error", id="NaN"),
    ],
)
def test_a_bad_vote_body_is_a_4xx_and_counts_no_vote(body, code):
    incident = IncidentFactory()
    response = APIClient().post(f"/api/v1/incidents/{incident.pk}/votes", body, content_type="application/json")
    assert _error(response, 400)["error"] == code
    assert not Vote.objects.exists()


@pytest.mark.parametrize(
    ("bbox", "code"),
    [
        pytest.param(DEEP, "too_deep", id="deep"),
        pytest.param(f"[{HUGE}, 10, -66, 11]", "invalid", id="huge-int"),
        pytest.param("[-67, 10, 1e400, 11]", "invalid", id="1e400"),
        pytest.param("[-67, 10, NaN, 11]", "parse_error", id="NaN"),
        pytest.param("[]", "invalid", id="empty"),
    ],
)
def test_a_bad_webhook_body_is_a_4xx_and_registers_nothing(bbox, code):
    _api_key, key = consumers.api_key_create(name="Newsroom")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = f'{{"url": "https://hooks.example.org/alcabala", "bbox": {bbox}}}'
    answer = _error(client.post("/api/v1/webhooks", body, content_type="application/json"), 400)
    assert answer["error"] == code
    if code == "invalid":
        assert answer["fields"] == {
            "bbox": "bbox must be [minLon, minLat, maxLon, maxLat] (or six numbers with heights) in degrees."
        }
    assert not WebhookSubscription.objects.exists()


@pytest.fixture
def mod_token() -> str:
    user = User.objects.create_user("mod", password="a long passphrase 1")
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return accounts.token_issue(user=user).token


@pytest.mark.parametrize(
    ("location", "code"),
    [
        pytest.param(DEEP, "too_deep", id="deep"),
        pytest.param(_point(HUGE, LAT), "invalid_location", id="huge-int"),
        pytest.param(_point(LON, "1e400"), "invalid", id="1e400"),  # DRF's JSONField refuses an infinity
        pytest.param(_point("NaN", LAT), "parse_error", id="NaN"),
        pytest.param('{"type": "Point", "coordinates": []}', "invalid_location", id="empty"),
        pytest.param('"POINT(1 2)"', "invalid_location", id="a-string"),
        pytest.param("[1, 2]", "invalid_location", id="a-list"),
        pytest.param(_point('"10.5"', LAT), "invalid_location", id="a-number-as-text"),
        pytest.param(_point("1000", LAT), "invalid_location", id="out-of-range"),
    ],
)
def test_a_bad_move_in_the_moderation_api_is_a_4xx_and_moves_nothing(mod_token, location, code):
    incident = IncidentFactory()
    before = incident.point.coords
    body = f'{{"action": "move", "reason": "typed", "location": {location}}}'
    response = Client().post(
        f"/api/moderation/v1/incidents/{incident.pk}/actions",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {mod_token}",
    )
    answer = _error(response, 400)
    assert answer["error"] == code
    if code != "too_deep" and code != "parse_error":
        assert "location" in answer["fields"]
    assert Incident.objects.get(pk=incident.pk).point.coords == before
    assert not ModerationEvent.objects.exists()


def test_a_good_move_in_the_moderation_api_still_moves(mod_token):
    incident = IncidentFactory()
    body = {"action": "move", "reason": "typed", "location": {"type": "Point", "coordinates": [-66.91, 10.49]}}
    response = Client().post(
        f"/api/moderation/v1/incidents/{incident.pk}/actions",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {mod_token}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["location"]["coordinates"] == [-66.91, 10.49]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(DEEP, "too_deep", id="deep"),
        pytest.param('{"route": ' + DEEP + "}", "too_deep", id="deep-member"),
        pytest.param('{"type": "LineString", "coordinates": [[-66.9, 10.4], [' + HUGE + ", 10.5]]}", "invalid_route"),
        pytest.param('{"type": "LineString", "coordinates": [[-66.9, 10.4], [1e400, 10.5]]}', "invalid_route"),
        pytest.param('{"type": "LineString", "coordinates": [[-66.9, 10.4], [NaN, 10.5]]}', "invalid_route"),
        pytest.param('{"type": "LineString", "coordinates": []}', "route_too_short", id="empty"),
    ],
)
def test_a_bad_route_is_a_400_and_one_too_deep_says_so(body, code):
    answer = _error(APIClient().post("/api/v1/route-check", body, content_type="application/geo+json"), 400)
    assert answer["error"] == code
    if code == "too_deep":
        assert str(MAX_JSON_DEPTH) in answer["detail"]


def test_nesting_up_to_the_bound_is_read_and_one_more_level_is_not():
    at_bound = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert not too_deep(at_bound.encode()) and loads(at_bound) == eval(at_bound)
    assert too_deep(("[" + at_bound + "]").encode())
    # Brackets inside strings are text, escaped quotes included.
    text = json.dumps({"note": '"[[[' * 100 + "{{{"})
    assert not too_deep(text.encode()) and loads(text)["note"].startswith('"[[[')
    # Wide is not deep: a long route of positions is two levels.
    wide = json.dumps({"type": "LineString", "coordinates": [[-66.9, 10.4]] * 10_000})
    assert not too_deep(wide.encode())


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/incidents?format=", "format"),
        ("/api/v1/incidents/changes?format=", "format"),
        ("/api/v1/places?q=Caracas&format=", "format"),
        ("/api/v1/incidents?bbox=", "bbox"),
        ("/api/v1/incidents?updated_since=", "updated_since"),
        ("/api/v1/incidents/changes?limit=", "limit"),
        ("/api/v1/places?q=Caracas&limit=", "limit"),
        ("/api/v1/incidents?kind=,", "kind"),
        ("/api/v1/incidents?kind=", "kind"),
        ("/api/v1/incidents?status=verified,", "status"),
    ],
)
def test_an_empty_parameter_is_a_400_not_taken_as_absent(url, field):
    IncidentFactory()
    body = _error(APIClient().get(url), 400)
    assert field in body["fields"]


def test_an_empty_observed_at_is_a_400_and_stores_no_report():
    report = {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": {"type": "Point", "coordinates": list(CARACAS)},
        "observed_at": "",
    }
    body = _error(APIClient().post("/api/v1/reports", report, format="json"), 400)
    assert "observed_at" in body["fields"] and "ISO 8601" in body["fields"]["observed_at"]
    assert not Report.objects.exists()


def test_a_report_sent_again_with_a_kind_that_is_none_is_refused_not_answered_as_the_first():
    report = {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": {"type": "Point", "coordinates": list(CARACAS)},
    }
    assert APIClient().post("/api/v1/reports", report, format="json").status_code == 201
    again = APIClient().post("/api/v1/reports", {**report, "kind": "AAA"}, format="json")
    assert _error(again, 400)["error"] == "unknown_kind"
    assert APIClient().post("/api/v1/reports", report, format="json").status_code == 200


@pytest.mark.parametrize("body", [{"device": 0.0, "still_there": True}, {"device": "phone-1", "still_there": 0}])
def test_a_vote_with_a_number_for_a_text_or_a_boolean_is_a_400(body):
    incident = IncidentFactory()
    _error(APIClient().post(f"/api/v1/incidents/{incident.pk}/votes", body, format="json"), 400)
    assert not Vote.objects.exists()


def test_an_empty_observed_at_in_a_multipart_report_is_a_400_too():
    form = {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": json.dumps({"type": "Point", "coordinates": list(CARACAS)}),
        "observed_at": "",
    }
    body = _error(APIClient().post("/api/v1/reports", form, format="multipart"), 400)
    assert "observed_at" in body["fields"]
    assert not Report.objects.exists()


@pytest.mark.parametrize(("route", "code"), [(" ", "no_route"), ("&^ neither GPX nor GeoJSON", "invalid_route")])
def test_a_json_body_with_a_route_that_is_no_route_is_a_400_naming_it(route, code):
    response = APIClient().post("/api/v1/route-check", {"route": route, "corridor_m": 300}, format="json")
    body = _error(response, 400)
    assert body["error"] == code and "route" in body["fields"]


# ISO 8601 allows any offset below a day; PostgreSQL refuses one beyond ±15:59, and Python cannot shift the
# first or last day of its calendar across midnight. Each is read, refused with a 400, never a 500.
ODD_TIMES = [
    "2026-11-24T03:17:37-17:23",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:00:00-05:00",
    "9999-12-31",
]


@pytest.mark.parametrize("moment", ODD_TIMES)
def test_a_time_with_an_odd_offset_or_at_the_calendars_edge_is_read_or_refused_never_a_500(moment):
    client = APIClient()
    IncidentFactory()
    answers = {
        "updated_since": client.get("/api/v1/incidents", {"updated_since": moment}),
        "ogc datetime": client.get("/ogc/collections/incidents/items", {"datetime": moment, "f": "json"}),
        "ogc filter": client.get(
            "/ogc/collections/incidents/items", {"filter": f"updated_at > TIMESTAMP('{moment}')", "f": "json"}
        ),
        "ogc interval": client.get("/ogc/collections/incidents/items", {"datetime": f"{moment}/..", "f": "json"}),
    }
    key = consumers.api_key_create(name="A newsroom")[1]
    answers["export"] = client.post(
        "/api/v1/exports",
        {"from": moment, "to": "2026-12-01", "format": "csv"},
        format="json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    for name, answer in answers.items():
        assert answer.status_code in (200, 202, 400), (name, answer.status_code, answer.content[:300])
        if answer.status_code == 400:
            assert answer.json()["detail"], name
