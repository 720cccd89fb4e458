"""Nobody but a moderator with a verified second factor sees anything behind /moderate/, the moderation
API, a photo or the admin."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from incidents.models import ModerationEvent, Status
from moderation import accounts
from tests.factories import IncidentFactory, ReportFactory
from tests.moderation.conftest import verify

pytestmark = pytest.mark.django_db

SECRET_TEXT = "two soldiers and a white pickup"


@pytest.fixture
def world(settings, tmp_path, moderator):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    incident = IncidentFactory()
    report = ReportFactory(incident=incident, state="processed", description=SECRET_TEXT)
    report.photo.save("p.jpg", ContentFile(b"\xff\xd8jpeg-bytes"), save=True)
    unlocatable = ReportFactory(point=None, place_text="somewhere", state="unlocatable", description=SECRET_TEXT)
    from moderation import services

    services.incident_note(incident_id=incident.pk, moderator=moderator, note="a note")
    return {"incident": incident, "report": report, "unlocatable": unlocatable}


def pages(world) -> list[tuple[str, str]]:
    incident, report, lost = world["incident"], world["report"], world["unlocatable"]
    return [
        ("get", "/moderate/"),
        ("get", f"/moderate/incidents/{incident.pk}"),
        ("get", f"/moderate/incidents/{incident.pk}/audit"),
        ("post", f"/moderate/incidents/{incident.pk}/act"),
        ("post", "/moderate/bulk"),
        ("get", f"/moderate/reports/{report.pk}/photo"),
        ("get", f"/moderate/reports/{lost.pk}/place"),
        ("post", f"/moderate/reports/{report.pk}/split"),
        ("get", "/api/moderation/v1/queue"),
        ("get", f"/api/moderation/v1/incidents/{incident.pk}"),
        ("post", f"/api/moderation/v1/incidents/{incident.pk}/actions"),
        ("get", f"/api/moderation/v1/incidents/{incident.pk}/events"),
        ("get", "/admin/"),
        ("get", "/admin/incidents/incident/"),
        ("get", f"/admin/incidents/incident/{incident.pk}/change/"),
        ("get", "/admin/incidents/report/"),
        ("get", "/admin/incidents/moderationevent/"),
        ("get", "/admin/auth/user/"),
    ]


def assert_no_data(response, world):
    assert response.status_code in (403, 404), (response.status_code, response.get("Location"))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert SECRET_TEXT.encode() not in body and b"jpeg-bytes" not in body and b"a note" not in body


def test_anonymous_users_get_nothing(client, world):
    for method, url in pages(world):
        response = getattr(client, method)(url, {"action": "verify", "incident": world["incident"].pk})
        assert_no_data(response, world)
    assert world["incident"].__class__.objects.get().status == Status.UNVERIFIED


def test_logged_in_non_moderators_get_nothing(client, world, citizen):
    verify(client, citizen)  # even with a verified second factor
    for method, url in pages(world):
        response = getattr(client, method)(url, {"action": "verify", "incident": world["incident"].pk})
        assert_no_data(response, world)
    staff = User.objects.create_user("clerk", password="x" * 20, is_staff=True)  # staff, not a moderator
    verify(client, staff)
    for method, url in pages(world):
        if url.startswith("/admin/"):
            continue  # staff may use the admin for what their permissions allow
        assert_no_data(getattr(client, method)(url, {"action": "verify"}), world)


def test_an_api_token_of_a_non_moderator_gets_nothing(client, world, citizen):
    token = accounts.token_issue(user=citizen).token
    for method, url in pages(world):
        if url.startswith("/api/"):
            response = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Token {token}")
            assert_no_data(response, world)


def test_a_moderator_without_the_second_factor_is_sent_to_give_it(client, world, moderator):
    TOTPDevice.objects.create(user=moderator, name="default", confirmed=True)
    client.force_login(moderator)
    response = client.get(f"/moderate/incidents/{world['incident'].pk}")
    assert response.status_code == 302 and response["Location"].startswith("/moderate/verify?next=")
    assert client.get("/admin/incidents/incident/").status_code in (302, 403)


def test_a_verified_moderator_sees_the_queue_the_incident_and_the_photo(mod_client, world):
    incident = world["incident"]
    queue = mod_client.get("/moderate/")
    assert queue.status_code == 200 and f"#{incident.pk}".encode() in queue.content
    assert b"somewhere" in queue.content  # the unlocatable report
    page = mod_client.get(f"/moderate/incidents/{incident.pk}")
    assert page.status_code == 200 and SECRET_TEXT.encode() in page.content
    photo = mod_client.get(f"/moderate/reports/{world['report'].pk}/photo")
    assert photo.status_code == 200 and b"".join(photo.streaming_content) == b"\xff\xd8jpeg-bytes"
    assert "no-store" in photo["Cache-Control"]
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]


def test_login_needs_the_totp_code_and_locks_out_after_failures(client, moderator, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    device = TOTPDevice.objects.create(user=moderator, name="default", confirmed=True)
    totp = pyotp.TOTP(__import__("base64").b32encode(device.bin_key).decode())
    form = {"username": "mod", "password": "a long passphrase 1"}
    assert client.post("/moderate/login", form).status_code == 400  # no code
    assert client.post("/moderate/login", {**form, "otp_token": "000000"}).status_code == 400
    # django-otp also slows a device down after a wrong code: come back a little later.
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        response = client.post("/moderate/login", {**form, "otp_token": totp.now()})
    assert response.status_code == 302 and response["Location"] == "/moderate/"
    assert client.get("/moderate/").status_code == 200
    client.post("/moderate/logout")
    for _ in range(3):
        client.post("/moderate/login", {**form, "password": "wrong"})
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        locked = client.post("/moderate/login", {**form, "otp_token": totp.now()})
    assert locked.status_code == 429  # right password and code, but the account is locked for now


def test_login_keeps_no_address(client, moderator, _private_redis):
    client.post("/moderate/login", {"username": "mod", "password": "wrong"}, REMOTE_ADDR="203.0.113.77")
    redis = _private_redis.client()
    keys = [key.decode() for key in redis.keys("*")]
    assert any(key.startswith("alc:login:") for key in keys)
    for key in keys:
        assert "203.0.113" not in key
        value = redis.dump(key) or b""
        assert b"203.0.113" not in value


def test_moderation_api_lists_the_queue_and_acts(client, world, moderator):
    token = accounts.token_issue(user=moderator).token
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    queue = client.get("/api/moderation/v1/queue", **auth).json()
    assert [item["id"] for item in queue["new"]] == [world["incident"].pk]
    url = f"/api/moderation/v1/incidents/{world['incident'].pk}/actions"
    refused = client.post(url, {"action": "reject"}, content_type="application/json", **auth)
    assert refused.status_code == 400 and refused.json()["error"] == "reason_required"
    done = client.post(url, {"action": "reject", "reason": "fake"}, content_type="application/json", **auth)
    assert done.status_code == 200 and done.json()["status"] == "rejected"
    again = client.post(url, {"action": "verify"}, content_type="application/json", **auth)
    assert again.status_code == 409
    events = client.get(f"/api/moderation/v1/incidents/{world['incident'].pk}/events", **auth).json()
    assert [event["action"] for event in events] == ["note", "rejected"]
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/api/moderation/v1/incidents/{world['incident'].pk}/events", **auth)
        assert response.status_code == 405
    assert ModerationEvent.objects.count() == 2


def test_moderation_forms_need_the_csrf_token(world, moderator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    verify(client, moderator)
    url = f"/moderate/incidents/{world['incident'].pk}/act"
    assert client.post(url, {"action": "verify"}, HTTP_ORIGIN="null").status_code == 403
    page = client.get(f"/moderate/incidents/{world['incident'].pk}")
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    done = client.post(url, {"action": "verify", "csrfmiddlewaretoken": token}, HTTP_ORIGIN="null")
    assert done.status_code == 303
    assert world["incident"].__class__.objects.get().status == Status.VERIFIED
    assert client.post("/moderate/login", {"username": "mod", "password": "x"}).status_code == 403


def test_a_session_ends_after_the_idle_time(mod_client, settings):
    assert mod_client.get("/moderate/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.SESSION_IDLE_MINUTES + 1)):
        assert mod_client.get("/moderate/").status_code == 403


def test_a_moderator_without_a_device_cannot_log_in_with_the_password_alone(client, moderator):
    response = client.post(
        "/moderate/login", {"username": "mod", "password": "a long passphrase 1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 403
    assert b"Ask an administrator for an enrolment code" in response.content
    assert client.get("/moderate/").status_code == 403  # not logged in at all
    assert client.get("/moderate/setup").status_code == 302  # no device to set up without a code
    assert not TOTPDevice.objects.filter(user=moderator).exists()


def test_behind_nginx_the_photo_is_handed_to_nginx_only_after_the_moderator_check(mod_client, client, world, settings):
    settings.PRIVATE_MEDIA_X_ACCEL_PREFIX = "/_private/"
    photo = mod_client.get(f"/moderate/reports/{world['report'].pk}/photo")
    assert photo.status_code == 200
    assert photo["X-Accel-Redirect"] == f"/_private/{world['report'].photo.name}"
    assert photo.content == b""
    client.logout()
    refused = client.get(f"/moderate/reports/{world['report'].pk}/photo")
    assert refused.status_code in (403, 404) and "X-Accel-Redirect" not in refused
