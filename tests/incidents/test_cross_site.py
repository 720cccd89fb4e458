"""Cross-site writes are refused (issue 14, finding 4) and the honeypot is the HTML form's alone (finding 9).

A page of another site can make its visitors' browsers post to the API; the browser says so in Sec-Fetch-Site
and Origin, which no page can set. Native clients send neither and keep working.
"""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from incidents import services
from incidents.models import Incident, Report
from tests.factories import CARACAS, IncidentFactory

pytestmark = pytest.mark.django_db

OWN = "http://testserver"  # the test client's own origin (Host: testserver, plain HTTP)

REFUSED = {
    "a cross-site fetch": {"HTTP_SEC_FETCH_SITE": "cross-site"},
    "a cross-site form": {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://evil.example"},
    "a sibling site": {"HTTP_SEC_FETCH_SITE": "same-site", "HTTP_ORIGIN": "http://blog.testserver"},
    "a foreign Origin, no Sec-Fetch-Site": {"HTTP_ORIGIN": "https://evil.example"},
    "our host on another port": {"HTTP_ORIGIN": "http://testserver:8080"},
    "our host over another scheme": {"HTTP_ORIGIN": "https://testserver"},
    "Origin null, no Sec-Fetch-Site (a sandboxed frame)": {"HTTP_ORIGIN": "null"},
    "Origin null from a sandboxed frame": {"HTTP_ORIGIN": "null", "HTTP_SEC_FETCH_SITE": "cross-site"},
    "an Origin that is no origin": {"HTTP_ORIGIN": "http://[not-a-host"},
}
ACCEPTED = {
    "no header (a native app, curl)": {},
    "our own page": {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": OWN},
    "our own origin with its default port": {"HTTP_ORIGIN": "http://TestServer:80"},
    "our own page under no-referrer": {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": "null"},
    "our service worker": {"HTTP_SEC_FETCH_SITE": "same-origin"},
    "typed by the user": {"HTTP_SEC_FETCH_SITE": "none"},
}


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def report_body(**extra) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": {"type": "Point", "coordinates": list(CARACAS)},
        "device": "phone-1",
        **extra,
    }


def post_json(api: APIClient, body: dict, headers: dict):
    return api.post("/api/v1/reports", data=json.dumps(body), content_type="application/json", **headers)


def post_multipart(api: APIClient, body: dict, headers: dict):
    fields = {key: json.dumps(value) if isinstance(value, dict) else value for key, value in body.items()}
    return api.post("/api/v1/reports", data=fields, format="multipart", **headers)


def assert_cross_site(response) -> None:
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["error"] == "cross_site"
    assert "another website" in body["detail"]
    assert body["fields"] == {}


@pytest.mark.parametrize("post", [post_json, post_multipart], ids=["json", "multipart"])
@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_a_report_a_browser_says_is_cross_site_is_refused_and_nothing_is_kept(api, post, headers):
    assert_cross_site(post(api, report_body(), headers))
    assert Report.objects.count() == 0


@pytest.mark.parametrize("post", [post_json, post_multipart], ids=["json", "multipart"])
@pytest.mark.parametrize("headers", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_report_from_a_native_client_or_our_own_pages_is_accepted(api, post, headers):
    body = report_body()
    response = post(api, body, headers)
    assert response.status_code == 201, response.content
    assert Report.objects.get().client_id == uuid.UUID(body["client_id"])


def test_a_photo_from_our_page_is_accepted_and_the_same_from_another_site_is_not(api, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    jpeg = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(jpeg, "JPEG")

    def fields() -> dict:
        body = {**report_body(), "photo": SimpleUploadedFile("p.jpg", jpeg.getvalue(), content_type="image/jpeg")}
        return {**body, "location": json.dumps(body["location"])}

    foreign = {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://evil.example"}
    assert_cross_site(api.post("/api/v1/reports", data=fields(), format="multipart", **foreign))
    own = {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": OWN}
    response = api.post("/api/v1/reports", data=fields(), format="multipart", **own)
    assert response.status_code == 201, response.content
    assert Report.objects.get().photo


def test_a_cross_site_report_is_refused_before_the_body_is_read(api):
    # Not even a malformed body gets as far as a 400: nothing of it is looked at.
    response = api.post(
        "/api/v1/reports", data="{not json", content_type="application/json", HTTP_SEC_FETCH_SITE="cross-site"
    )
    assert_cross_site(response)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_the_bodies_a_form_can_send_without_a_preflight_are_not_reports(api, content_type):
    # From another site: refused as cross-site first. From a client with no Origin: the API reads JSON, and
    # multipart only for a photo.
    body = json.dumps(report_body())
    foreign = {"HTTP_ORIGIN": "https://evil.example"}
    assert_cross_site(api.post("/api/v1/reports", data=body, content_type=content_type, **foreign))
    response = api.post("/api/v1/reports", data=body, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert Report.objects.count() == 0


def test_a_refused_cross_site_report_does_not_spend_the_visitors_rate_limit(api, settings):
    settings.RATE_LIMIT_REPORTS_PER_NETWORK = [(2, 600)]
    for _ in range(5):
        assert_cross_site(post_json(api, report_body(), {"HTTP_ORIGIN": "https://evil.example"}))
    statuses = [post_json(api, report_body(), {}).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def vote(api: APIClient, incident_id: int, headers: dict, *, content_type: str = "application/json"):
    body = json.dumps({"still_there": False, "device": f"phone-{uuid.uuid4().hex}"})
    return api.post(f"/api/v1/incidents/{incident_id}/votes", data=body, content_type=content_type, **headers)


@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_a_vote_a_browser_says_is_cross_site_is_refused_and_not_counted(api, headers):
    incident = IncidentFactory()
    assert_cross_site(vote(api, incident.pk, headers))
    incident.refresh_from_db()
    assert (incident.gone, incident.still_there) == (0, 0)


@pytest.mark.parametrize("headers", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_vote_from_a_native_client_or_our_own_pages_is_counted(api, headers):
    incident = IncidentFactory()
    response = vote(api, incident.pk, headers)
    assert response.status_code == 201, response.content
    incident.refresh_from_db()
    assert incident.gone == 1


def test_a_vote_sent_as_a_form_is_not_a_vote(api):
    incident = IncidentFactory()
    foreign = {"HTTP_ORIGIN": "https://evil.example"}
    assert_cross_site(vote(api, incident.pk, foreign, content_type="text/plain"))
    assert vote(api, incident.pk, {}, content_type="text/plain").status_code == 415
    incident.refresh_from_db()
    assert incident.gone == 0


def test_behind_the_proxy_our_https_origin_is_our_own(api, settings):
    # production.py trusts X-Forwarded-Proto from nginx; the request then sees itself as https.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["map.example.org"]
    headers = {"HTTP_HOST": "map.example.org", "HTTP_X_FORWARDED_PROTO": "https"}
    own = post_json(api, report_body(), {**headers, "HTTP_ORIGIN": "https://map.example.org"})
    assert own.status_code == 201, own.content
    assert_cross_site(post_json(api, report_body(), {**headers, "HTTP_ORIGIN": "http://map.example.org"}))
    assert Report.objects.count() == 1


# --- the honeypot: the HTML form's alone ----------------------------------------------------------


def test_the_published_schema_has_no_honeypot(api):
    response = api.get("/api/v1/schema", {"format": "json"})
    assert response.status_code == 200
    document = response.json()
    report_input = document["components"]["schemas"]["ReportInputRequest"]
    assert "client_id" in report_input["properties"]
    assert "website" not in json.dumps(document)


def test_a_json_report_that_fills_website_is_kept_and_processed_like_any_other(api):
    response = post_json(api, report_body(website="https://example.org"), {})
    assert response.status_code == 201, response.content
    status = api.get(response.json()["status_url"])
    assert status.status_code == 200
    assert status.json()["state"] == "received"
    report = services.report_process(report_id=response.json()["id"])
    assert report is not None and report.state == "processed" and report.incident_id is not None


def form_post(client: Client, **fields):
    page = client.get("/report").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    client_id = re.search(r'name="client_id" value="([^"]+)"', page).group(1)
    data = {"csrfmiddlewaretoken": token, "client_id": client_id, "when": "0", **fields}
    return client.post("/report", data, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin"), client_id


def test_a_form_post_with_the_honeypot_filled_is_kept_as_spam_and_never_placed():
    client = Client(enforce_csrf_checks=True)
    response, client_id = form_post(
        client, kind="checkpoint", place="10.4806, -66.9036", description="Dos guardias", website="http://spam"
    )
    assert response.status_code == 303
    report = Report.objects.get()
    assert str(report.client_id) == client_id
    assert (report.state, report.channel, report.description) == ("spam", "web", "Dos guardias")
    assert response["Location"] == f"/report/status/{report.pk}?sent=1"
    # The worker leaves it alone, and its status page says what became of it.
    services.report_process(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == "spam" and report.incident_id is None
    assert Incident.objects.count() == 0
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "kept for moderators to review" in page.content.decode()
    assert client.get(f"/api/v1/reports/{report.pk}").json()["state"] == "spam"


def test_a_form_post_with_an_empty_honeypot_is_a_report_like_any_other():
    client = Client(enforce_csrf_checks=True)
    response, _client_id = form_post(client, kind="checkpoint", place="10.4806, -66.9036", website="")
    assert response.status_code == 303
    assert Report.objects.get().state == "received"
