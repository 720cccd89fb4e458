"""Redeeming a code refuses other sites' pages and is limited per network; the moderators' side needs a moderator
who gave both factors, on the pages and in the API."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from moderation import accounts
from tests.trust.conftest import from_network, shown_code
from trust import services
from trust.models import TrustedReporter, TrustEvent

pytestmark = pytest.mark.django_db

CROSS_SITE = {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://evil.example"}


def redeem_api(code: str, **headers):
    body = json.dumps({"code": code})
    return APIClient().post("/api/v1/trusted", data=body, content_type="application/json", **headers)


# --- cross-site ----------------------------------------------------------------------------------


def test_a_code_sent_from_another_sites_page_is_refused_and_not_spent(enrolled):
    _enrolment, code = enrolled
    answer = redeem_api(code, **CROSS_SITE)
    assert answer.status_code == 403 and answer.json()["error"] == "cross_site"
    form = Client(HTTP_ACCEPT_LANGUAGE="en").post("/trusted", {"code": code}, **CROSS_SITE)
    assert form.status_code == 403 and "alc_device" not in form.cookies
    assert TrustedReporter.objects.get().redeemed_at is None
    assert redeem_api(code, HTTP_SEC_FETCH_SITE="same-origin", HTTP_ORIGIN="http://testserver").status_code == 201


def test_refused_cross_site_attempts_do_not_spend_the_networks_limit(enrolled, settings):
    settings.TRUST_REDEEM_ATTEMPTS_PER_NETWORK = 2
    _enrolment, code = enrolled
    for _ in range(5):
        assert redeem_api(code, **CROSS_SITE).status_code == 403
    assert redeem_api(code).status_code == 201


# --- rate limits ---------------------------------------------------------------------------------


def test_too_many_attempts_from_one_network_are_refused_with_retry_after(enrolled, settings, behind_proxy):
    settings.TRUST_REDEEM_ATTEMPTS_PER_NETWORK = 3
    settings.TRUST_REDEEM_WINDOW_MINUTES = 15
    _enrolment, code = enrolled
    here, elsewhere = from_network("192.0.2.10"), from_network("198.51.100.20")
    for _ in range(3):
        assert redeem_api("WRONG-CODE", **here).status_code == 400
    refused = redeem_api(code, **here)
    assert refused.status_code == 429
    assert refused.json()["error"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 15 * 60
    form = Client(HTTP_ACCEPT_LANGUAGE="en").post("/trusted", {"code": code}, **here)
    assert form.status_code == 429 and form["Retry-After"] and "Too many codes" in form.content.decode()
    assert TrustedReporter.objects.get().redeemed_at is None  # the right code, refused, is not spent
    assert redeem_api(code, **elsewhere).status_code == 201


# --- the moderators' side ------------------------------------------------------------------------


def test_the_moderators_pages_need_a_moderator_who_gave_both_factors(client, citizen, moderator, enrolled):
    enrolment, _code = enrolled
    revoke = f"/moderate/trusted/{enrolment.reporter_id}/revoke"
    assert client.get("/moderate/trusted").status_code == 403
    assert client.post("/moderate/trusted", {"label": "T-99"}).status_code == 403
    assert client.post(revoke).status_code == 403
    client.force_login(citizen)
    assert client.get("/moderate/trusted").status_code == 403
    assert client.post(revoke).status_code == 403
    client.force_login(moderator)  # a password alone
    answer = client.post("/moderate/trusted", {"label": "T-99"})
    assert answer.status_code == 302 and answer["Location"].startswith("/moderate/verify")
    assert client.post(revoke).status_code == 302
    assert list(TrustedReporter.objects.values_list("label", "revoked_at")) == [("T-17", None)]


def test_the_revoke_button_is_a_post_with_a_csrf_token(moderator, enrolled):
    from tests.moderation.conftest import verify

    browser = Client(enforce_csrf_checks=True)
    verify(browser, moderator)
    enrolment, _code = enrolled
    assert browser.get(f"/moderate/trusted/{enrolment.reporter_id}/revoke").status_code == 405
    assert browser.post(f"/moderate/trusted/{enrolment.reporter_id}/revoke").status_code == 403  # no token
    page = browser.get("/moderate/trusted").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    done = browser.post(f"/moderate/trusted/{enrolment.reporter_id}/revoke", {"csrfmiddlewaretoken": token})
    assert done.status_code == 303
    assert TrustedReporter.objects.get().revoked_at is not None


def test_the_moderation_api_lists_enrols_and_revokes(moderator, citizen):
    api = APIClient()
    assert api.get("/api/moderation/v1/trusted").status_code == 403
    assert api.post("/api/moderation/v1/trusted", {"label": "T-1"}, format="json").status_code == 403
    citizen.groups.clear()
    api.credentials(HTTP_AUTHORIZATION=f"Token {accounts.token_issue(user=citizen).token}")
    assert api.get("/api/moderation/v1/trusted").status_code == 403

    api.credentials(HTTP_AUTHORIZATION=f"Token {accounts.token_issue(user=moderator).token}")
    made = api.post("/api/moderation/v1/trusted", {"label": "T-1"}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["label"] == "T-1" and body["enrolled_by"] == "mod" and body["active"] is False
    assert body["code_expires_at"] and made["Cache-Control"] == "no-store"
    token = services.redeem(code=body["code"])
    listed = api.get("/api/moderation/v1/trusted").json()
    assert [(row["label"], row["active"], row["rejections"]) for row in listed] == [("T-1", True, 0)]
    assert "code" not in listed[0]
    taken = api.post("/api/moderation/v1/trusted", {"label": "T-1"}, format="json")
    assert taken.status_code == 409 and taken.json()["fields"] == {"label": taken.json()["detail"]}

    revoked = api.post(f"/api/moderation/v1/trusted/{body['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "mod"
    assert services.trusted_reporter(token) is None
    assert api.post("/api/moderation/v1/trusted/999999/revoke").status_code == 404
    actions = list(TrustEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["enrolled", "redeemed", "revoked"]


def test_the_page_shows_rejections_and_reports_beside_each_pseudonym(mod_client, moderator):
    code = shown_code(mod_client.post("/moderate/trusted", {"label": "T-8"}).content.decode())
    services.redeem(code=code)
    TrustedReporter.objects.filter(label="T-8").update(rejections=3, reports=11)
    page = mod_client.get("/moderate/trusted").content.decode()
    row = page.split('data-label="T-8"')[1].split("</tr>")[0]
    assert '<td class="rejections"><strong>3</strong></td>' in row
    assert '<td class="reports">11</td>' in row
    assert "trusted" in row
    assert 'id="trusted-link"' in page  # the moderators' menu leads here
