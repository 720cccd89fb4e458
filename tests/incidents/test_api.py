from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from rest_framework.test import APIClient

from incidents import services
from incidents.models import Incident, Report
from incidents.public.fields import FIELDS
from tests.factories import CARACAS, IncidentFactory, address, offset

pytestmark = pytest.mark.django_db

PUBLIC_PROPERTIES = tuple(f.name for f in FIELDS)

SAN_CRISTOBAL = (-72.2250, 7.7669)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def report_body(**overrides) -> dict:
    body = {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": {"type": "Point", "coordinates": list(CARACAS)},
        "device": "phone-1",
    }
    body.update(overrides)
    return body


def post_json(api: APIClient, path: str, body, **headers) -> object:
    return api.post(path, data=json.dumps(body), content_type="application/json", **headers)


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["fields"], dict)
    return body


# --- reports --------------------------------------------------------------------------------------


def test_posting_a_report_answers_201_with_its_status_url(api):
    body = report_body()
    response = post_json(api, "/api/v1/reports", body)
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {"id", "client_id", "state", "status_url"}
    assert data["client_id"] == body["client_id"]
    assert data["state"] == "received"
    status = api.get(data["status_url"])
    assert status.status_code == 200
    assert status.json() == {"id": data["id"], "state": "received", "incident": None}


def test_the_same_client_id_again_answers_200_with_the_first_report(api):
    body = report_body()
    first = post_json(api, "/api/v1/reports", body)
    second = post_json(api, "/api/v1/reports", {**body, "kind": "militia"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert Report.objects.count() == 1


def test_report_status_shows_the_incident_once_processed(api):
    created = post_json(api, "/api/v1/reports", report_body()).json()
    services.report_process(report_id=created["id"])
    status = api.get(f"/api/v1/reports/{created['id']}").json()
    assert status["state"] == "processed"
    assert status["incident"] == Incident.objects.get().pk
    assert set(status) == {"id", "state", "incident"}


def test_report_submission_is_enqueued_after_commit(api, django_capture_on_commit_callbacks, redis_server):
    redis_server.client().flushdb()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_json(api, "/api/v1/reports", report_body())
    assert response.status_code == 201
    assert len(callbacks) == 1
    assert redis_server.client().llen("celery") == 1


def test_a_report_with_a_place_name_only_is_accepted(api):
    body = report_body(place="Redoma de Petare")
    del body["location"]
    response = post_json(api, "/api/v1/reports", body)
    assert response.status_code == 201
    assert Report.objects.get().place_text == "Redoma de Petare"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_id": None}, "client_id"),
        ({"client_id": ""}, "client_id"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"client_id": 12345}, "client_id"),
        ({"kind": "ufo"}, "kind"),
        ({"kind": None}, "kind"),
        ({"location": {"type": "Point", "coordinates": [CARACAS[1], CARACAS[0]]}}, "location"),
        ({"location": {"type": "Point", "coordinates": [-66.9, 123.0]}}, "location"),
        ({"location": {"type": "Point", "coordinates": ["a", "b"]}}, "location"),
        ({"location": {"type": "Point", "coordinates": [True, False]}}, "location"),
        ({"location": {"type": "Point", "coordinates": [1]}}, "location"),
        ({"location": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}, "location"),
        ({"location": "10.5,-66.9"}, "location"),
        ({"location": {"type": "Point", "coordinates": [-3.70, 40.42]}}, "location"),
        ({"location": None}, "location"),
        ({"accuracy_m": -5}, "accuracy_m"),
        ({"accuracy_m": "far"}, "accuracy_m"),
        ({"observed_at": "yesterday"}, "observed_at"),
        ({"observed_at": "2001-01-01T00:00:00Z"}, "observed_at"),
        ({"description": "x" * 501}, "description"),
        ({"description": {"nested": True}}, "description"),
        ({"place": "x" * 201, "location": None}, "place"),
        ({"device": ["a", "b"]}, "device"),
    ],
)
def test_malformed_reports_get_a_clear_400(api, body, field):
    data = report_body(**body)
    response = post_json(api, "/api/v1/reports", data)
    error = assert_error_shape(response, 400)
    assert field in error["fields"], error
    assert Report.objects.count() == 0


def test_swapped_coordinates_get_a_hint(api):
    response = post_json(api, "/api/v1/reports", report_body(location={"type": "Point", "coordinates": [10.48, -66.9]}))
    error = assert_error_shape(response, 400)
    assert "[lon, lat]" in error["detail"]


def test_a_report_without_client_id_gets_a_clear_400(api):
    data = report_body()
    del data["client_id"]
    error = assert_error_shape(post_json(api, "/api/v1/reports", data), 400)
    assert "client_id" in error["fields"]


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("", "application/json", 400),
        ("[1, 2, 3]", "application/json", 400),
        ('"just a string"', "application/json", 400),
        ("null", "application/json", 400),
        ('{"client_id": NaN}', "application/json", 400),
        ("kind=checkpoint", "application/x-www-form-urlencoded", 415),
        ("<xml/>", "text/xml", 415),
    ],
)
def test_unreadable_bodies_get_a_4xx_in_the_error_shape(api, raw, content_type, status):
    response = api.generic("POST", "/api/v1/reports", raw, content_type=content_type)
    assert_error_shape(response, status)


def test_a_huge_body_is_refused_with_413(api, settings):
    settings.MAX_REQUEST_BODY_BYTES = 50_000
    body = json.dumps(report_body(description="x" * 60_000))
    response = api.generic("POST", "/api/v1/reports", body, content_type="application/json")
    assert_error_shape(response, 413)


def test_a_large_body_under_the_limit_but_over_the_form_limit_is_refused_clearly(api):
    body = json.dumps(report_body(description="x" * 100_000))
    response = api.generic("POST", "/api/v1/reports", body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert_error_shape(response, response.status_code)


def test_unknown_report_ids_are_404_in_the_error_shape(api):
    assert_error_shape(api.get(f"/api/v1/reports/{uuid.uuid4()}"), 404)
    assert_error_shape(api.get("/api/v1/reports/not-a-uuid"), 404)


def test_unknown_api_paths_are_404_in_the_error_shape(api):
    assert_error_shape(api.get("/api/v1/nothing-here"), 404)


# --- incidents ------------------------------------------------------------------------------------


def test_incidents_are_an_rfc7946_feature_collection_with_exactly_the_public_properties(api):
    incident = IncidentFactory(
        point=Point(-66.9036123456, 10.4806123456, srid=4326), place="Av. Baralt", note="Confirmed by staff"
    )
    response = api.get("/api/v1/incidents")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = json.loads(response.content)
    assert body["type"] == "FeatureCollection"
    assert "crs" not in body
    (feature,) = body["features"]
    assert feature["type"] == "Feature"
    assert feature["id"] == incident.pk
    assert set(feature["properties"]) == set(PUBLIC_PROPERTIES)
    lon, lat = feature["geometry"]["coordinates"]
    assert feature["geometry"]["type"] == "Point"
    assert abs(lon - -66.9036) < 0.001 and abs(lat - 10.4806) < 0.001  # [lon, lat], not [lat, lon]
    assert len(str(lon).split(".")[1]) <= 6 and len(str(lat).split(".")[1]) <= 6
    assert feature["properties"]["place"] == "Av. Baralt"
    assert feature["properties"]["note"] == "Confirmed by staff"


def test_public_locations_are_snapped_so_nearby_reports_share_a_point(api):
    first = IncidentFactory(point=Point(*offset(*CARACAS, east_m=3, north_m=2), srid=4326))
    second = IncidentFactory(point=Point(*offset(*CARACAS, east_m=-4, north_m=-3), srid=4326))
    body = api.get("/api/v1/incidents").json()
    coordinates = {f["id"]: tuple(f["geometry"]["coordinates"]) for f in body["features"]}
    assert coordinates[first.pk] == coordinates[second.pk]


def test_public_times_are_rounded_down_to_five_minutes(api):
    observed = timezone.now().replace(minute=17, second=41, microsecond=123) - timedelta(hours=1)
    IncidentFactory(first_reported_at=observed, last_confirmed_at=observed, expires_at=observed + timedelta(hours=6))
    properties = api.get("/api/v1/incidents").json()["features"][0]["properties"]
    for name in ("first_reported_at", "last_confirmed_at", "expires_at", "updated_at"):
        value = datetime.fromisoformat(properties[name].replace("Z", "+00:00"))
        assert value.minute % 5 == 0 and value.second == 0, (name, properties[name])
    assert properties["first_reported_at"].endswith(":15:00Z")


def test_nothing_private_leaves_the_server(api):
    created = post_json(api, "/api/v1/reports", report_body(description="secret text", device="secret-device"))
    services.report_process(report_id=created.json()["id"])
    post_json(api, "/api/v1/reports", report_body(device="other", description="more secret"))
    services.report_process(report_id=Report.objects.exclude(pk=created.json()["id"]).get().pk)
    text = api.get("/api/v1/incidents").content.decode()
    assert "secret" not in text
    assert Report.objects.first().reporter_key not in text


def test_filters_by_bbox_kind_and_status(api):
    caracas = IncidentFactory(kind="checkpoint")
    border = IncidentFactory(kind="militia", point=Point(*SAN_CRISTOBAL, srid=4326))
    verified = IncidentFactory(
        kind="roadblock", status="verified", verified_at=timezone.now(), point=Point(*offset(*CARACAS, east_m=900))
    )

    def ids(query):
        response = api.get(f"/api/v1/incidents?{query}")
        assert response.status_code == 200, response.content
        return {f["id"] for f in response.json()["features"]}

    assert ids("bbox=-67.1,10.3,-66.7,10.6") == {caracas.pk, verified.pk}
    assert ids("bbox=-72.5,7.5,-72.0,8.0") == {border.pk}
    assert ids("kind=militia,roadblock") == {border.pk, verified.pk}
    assert ids("status=verified") == {verified.pk}
    assert ids("status=unverified&kind=checkpoint") == {caracas.pk}


def test_updated_since_includes_ended_incidents_for_clients_that_keep_a_copy(api):
    before = timezone.now() - timedelta(minutes=1)
    live = IncidentFactory()
    ended = IncidentFactory(status="cleared", point=Point(*SAN_CRISTOBAL, srid=4326))
    IncidentFactory(status="cleared", updated_at=before - timedelta(hours=1), point=Point(*offset(*CARACAS, 900)))
    default = {f["id"] for f in api.get("/api/v1/incidents").json()["features"]}
    assert default == {live.pk}
    since = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = api.get(f"/api/v1/incidents?updated_since={since}").json()
    assert {f["id"]: f["properties"]["status"] for f in body["features"]} == {
        live.pk: "unverified",
        ended.pk: "cleared",
    }


@pytest.mark.parametrize(
    "query",
    [
        "bbox=garbage",
        "bbox=1,2,3",
        "bbox=1,2,3,4,5",
        "bbox=-67,11,-66,10",
        "bbox=-67,10,0,-66,11,-1",
        "bbox=-200,10,-67,11",
        "bbox=nan,10,-67,11",
        "kind=ufo",
        "status=maybe",
        "updated_since=last-tuesday",
        "updated_since=2026-13-45T99:00:00Z",
        "limit=0",
        "limit=10001",
        "limit=ten",
        "cursor=%%%",
        "cursor=aWQ6YWJj",
        "cursor=" + "A" * 200,
    ],
)
def test_garbage_query_parameters_get_a_clear_400(api, query):
    IncidentFactory()
    assert_error_shape(api.get(f"/api/v1/incidents?{query}"), 400)


def test_paging_with_limit_and_cursor_returns_each_incident_once(api):
    created = {IncidentFactory(point=Point(*offset(*CARACAS, east_m=n * 300), srid=4326)).pk for n in range(7)}
    seen, url, pages = [], "/api/v1/incidents?limit=3&kind=checkpoint", 0
    while url:
        response = api.get(url)
        body = response.json()
        seen += [f["id"] for f in body["features"]]
        next_links = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = next_links[0] if next_links else None
        if url:
            assert response["Link"] == f'<{url}>; rel="next"'
            assert "kind=checkpoint" in url
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_one_incident_is_a_feature_and_unknown_or_unpublished_ones_are_404(api):
    public = IncidentFactory()
    hidden = IncidentFactory(reporters=1, point=Point(*SAN_CRISTOBAL, srid=4326))
    response = api.get(f"/api/v1/incidents/{public.pk}")
    assert response["Content-Type"] == "application/geo+json"
    assert response.json()["id"] == public.pk
    assert_error_shape(api.get(f"/api/v1/incidents/{hidden.pk}"), 404)
    assert_error_shape(api.get("/api/v1/incidents/999999"), 404)
    assert_error_shape(api.get("/api/v1/incidents/abc"), 404)


# --- votes ----------------------------------------------------------------------------------------


def test_two_gone_votes_through_the_api_clear_the_incident(api):
    incident = IncidentFactory()
    url = f"/api/v1/incidents/{incident.pk}/votes"
    first = post_json(api, url, {"still_there": False, "device": "a"}, REMOTE_ADDR=address(1))
    assert first.status_code == 201
    assert first.json()["properties"]["gone"] == 1
    # Another phone on the same network is the same source: not enough.
    again = post_json(api, url, {"still_there": False, "device": "a2"}, REMOTE_ADDR=address(1))
    assert again.json()["properties"]["status"] == "unverified"
    second = post_json(api, url, {"still_there": False, "device": "b"}, REMOTE_ADDR=address(2))
    assert second.json()["properties"]["status"] == "cleared"
    assert api.get("/api/v1/incidents").json()["features"] == []
    third = post_json(api, f"/api/v1/incidents/{incident.pk}/votes", {"still_there": True, "device": "c"})
    assert_error_shape(third, 409)


@pytest.mark.parametrize(
    "body",
    [{}, {"still_there": "perhaps", "device": "a"}, {"still_there": True}, {"still_there": True, "device": ""}],
)
def test_malformed_votes_get_a_clear_400(api, body):
    incident = IncidentFactory()
    assert_error_shape(post_json(api, f"/api/v1/incidents/{incident.pk}/votes", body), 400)


def test_votes_on_unknown_or_unpublished_incidents_are_404(api):
    hidden = IncidentFactory(reporters=1)
    body = {"still_there": False, "device": "a"}
    assert_error_shape(post_json(api, f"/api/v1/incidents/{hidden.pk}/votes", body), 404)
    assert_error_shape(post_json(api, "/api/v1/incidents/424242/votes", body), 404)


# --- health ---------------------------------------------------------------------------------------


def test_healthz_answers_ok(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database_and_redis(api, settings, redis_server):
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_503_when_redis_is_unreachable(api, settings):
    from tests.conftest import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("unreachable")
