"""Moderators' accounts: API tokens hashed, expiring and issued only after the second factor; enrolment only
with a one-time code; lockout per account and network, counted before the check so that parallel guesses
cannot race past it."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from moderation import accounts
from moderation.models import AccountEvent, Enrolment, ModeratorToken
from tests.factories import IncidentFactory
from tests.moderation.conftest import verify

pytestmark = pytest.mark.django_db

PASSWORD = "a long passphrase 1"  # the moderator fixture's
NETWORK_A, NETWORK_B = "192.0.2.1", "198.51.100.7"


def totp_for(device: TOTPDevice) -> pyotp.TOTP:
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode())


def from_network(address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": address}


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]


# --- API tokens ----------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_only_its_hash_is_stored(mod_client, client, moderator):
    IncidentFactory()
    page = mod_client.post("/moderate/tokens", {"name": "our triage script"})
    assert page.status_code == 200
    token = page.content.decode().split('id="token-value">')[1].split("<")[0]
    assert token.startswith("alcm_") and len(token) > 40
    row = ModeratorToken.objects.get()
    assert token not in {row.token_hash, row.prefix} and token.startswith(row.prefix)
    assert row.name == "our triage script" and row.user == moderator
    assert token not in mod_client.get("/moderate/tokens").content.decode()  # shown once
    api = Client()
    answer = api.get("/api/moderation/v1/queue", HTTP_AUTHORIZATION=f"Token {token}")
    assert answer.status_code == 200 and len(answer.json()["new"]) == 1
    assert ModeratorToken.objects.get().last_used_at is not None
    assert [event.action for event in AccountEvent.objects.all()] == ["token_issued"]


def test_a_session_without_the_second_factor_cannot_issue_a_token(client, moderator):
    TOTPDevice.objects.create(user=moderator, name="default", confirmed=True)
    client.force_login(moderator)  # password only
    response = client.post("/moderate/tokens", {"name": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/moderate/verify")
    assert not ModeratorToken.objects.exists()


def test_an_expired_token_is_refused_with_a_401_that_says_so(client, moderator, settings):
    settings.MODERATION_TOKEN_TTL_HOURS = 12
    token = accounts.token_issue(user=moderator).token
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    with time_machine.travel(timezone.now() + timedelta(hours=11, minutes=59)):
        assert client.get("/api/moderation/v1/queue", **auth).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=12, minutes=1)):
        refused = client.get("/api/moderation/v1/queue", **auth)
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Token")
    assert refused.json()["error"] == "token_expired" and "/moderate/tokens" in refused.json()["detail"]
    unknown = client.get("/api/moderation/v1/queue", HTTP_AUTHORIZATION="Token alcm_made-up")
    assert unknown.status_code == 401 and unknown.json()["error"] == "token_invalid"


def test_a_moderator_revokes_a_token_from_the_tokens_page(mod_client, client, moderator):
    token = accounts.token_issue(user=moderator).token
    row = ModeratorToken.objects.get()
    other = accounts.token_issue(user=User.objects.create_user("other", password="x" * 20)).record
    assert mod_client.post(f"/moderate/tokens/{other.pk}/revoke").status_code == 404  # not theirs
    done = mod_client.post(f"/moderate/tokens/{row.pk}/revoke")
    assert done.status_code == 303
    refused = client.get("/api/moderation/v1/queue", HTTP_AUTHORIZATION=f"Token {token}")
    assert refused.status_code == 401 and refused.json()["error"] == "token_revoked"
    assert ModeratorToken.objects.get(pk=other.pk).revoked_at is None
    revoked = AccountEvent.objects.get(action="token_revoked")
    assert revoked.actor == moderator and revoked.detail == row.prefix


def test_staff_revoke_tokens_in_the_admin(client, moderator):
    token = accounts.token_issue(user=moderator).token
    root = User.objects.create_superuser("root", password="x" * 20)
    verify(client, root)
    base = "/admin/moderation/moderatortoken/"
    assert client.get(base).status_code == 200
    row = ModeratorToken.objects.get()
    assert token not in client.get(f"{base}{row.pk}/change/").content.decode()
    client.post(base, {"action": "revoke_selected", "_selected_action": [row.pk]})
    assert ModeratorToken.objects.get().revoked_at is not None
    api = Client().get("/api/moderation/v1/queue", HTTP_AUTHORIZATION=f"Token {token}")
    assert api.status_code == 401
    assert AccountEvent.objects.get(action="token_revoked").actor == root


def test_drf_plain_text_tokens_are_gone():
    assert "rest_framework.authtoken" not in django_settings.INSTALLED_APPS
    assert "authtoken_token" not in connection.introspection.table_names()


# --- enrolment -----------------------------------------------------------------------------------


def enrol(client, *, username="mod", password=PASSWORD, code: str) -> pyotp.TOTP:
    started = client.post("/moderate/enrol", {"username": username, "password": password, "code": code})
    assert started.status_code == 303, started.content
    secret = client.get("/moderate/setup").content.decode().split('id="totp-secret">')[1].split("<")[0]
    return pyotp.TOTP(secret)


def test_an_enrolment_code_enrols_a_device_once(client, moderator):
    code = accounts.enrolment_issue(user=moderator)
    assert code.replace("-", "") not in Enrolment.objects.get().code_hash
    totp = enrol(client, code=code)
    wrong = "123456" if totp.now() != "123456" else "654321"
    assert client.post("/moderate/setup", {"otp_token": wrong}).status_code == 400
    assert client.get("/moderate/").status_code == 403  # not logged in before the first right code
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        done = client.post("/moderate/setup", {"otp_token": totp.now()})
    assert done.status_code == 302 and client.get("/moderate/").status_code == 200
    assert TOTPDevice.objects.get(user=moderator).confirmed
    assert [event.action for event in AccountEvent.objects.order_by("id")] == ["enrolment_issued", "enrolled"]
    again = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/moderate/enrol", {"username": "mod", "password": PASSWORD, "code": code}
    )
    assert again.status_code == 400 and b"already used" in again.content
    assert TOTPDevice.objects.filter(user=moderator).count() == 1


def test_an_enrolment_code_needs_the_password_and_expires(client, moderator, settings):
    settings.ENROLMENT_TTL_HOURS = 24
    code = accounts.enrolment_issue(user=moderator)
    wrong = client.post("/moderate/enrol", {"username": "mod", "password": "not it at all", "code": code})
    assert wrong.status_code == 400 and not TOTPDevice.objects.exists()
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        late = client.post(
            "/moderate/enrol", {"username": "mod", "password": PASSWORD, "code": code}, HTTP_ACCEPT_LANGUAGE="en"
        )
    assert late.status_code == 400 and b"expired" in late.content and not TOTPDevice.objects.exists()


def test_the_enrolment_and_refusal_speak_spanish(client, moderator):
    page = client.get("/moderate/enrol", HTTP_ACCEPT_LANGUAGE="es-VE,es").content.decode()
    assert "Dé de alta su segundo factor" in page
    refused = client.post(
        "/moderate/login", {"username": "mod", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="es-VE,es"
    ).content.decode()
    assert "Pida a un administrador un código de alta" in refused


def test_a_code_that_expires_during_set_up_does_not_confirm_the_device(client, moderator, settings):
    settings.ENROLMENT_TTL_HOURS = 1
    totp = enrol(client, code=accounts.enrolment_issue(user=moderator))
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        late = client.post("/moderate/setup", {"otp_token": totp.now()})
    assert late.status_code == 302 and late["Location"] == "/moderate/enrol"
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_an_administrator_issues_a_code_that_replaces_a_lost_device_and_kills_its_tokens(client, moderator):
    old = TOTPDevice.objects.create(user=moderator, name="seized phone", confirmed=True)
    token = accounts.token_issue(user=moderator).token
    root = User.objects.create_superuser("root", password="x" * 20)
    admin = Client()
    verify(admin, root)
    page = admin.post("/admin/auth/user/", {"action": "issue_enrolment_codes", "_selected_action": [moderator.pk]})
    assert page.status_code == 200
    code = page.content.decode().split("<td>mod</td><td><code>")[1].split("<")[0]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    assert Client().get("/api/moderation/v1/queue", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    login = client.post("/moderate/login", {"username": "mod", "password": PASSWORD, "otp_token": totp_for(old).now()})
    assert login.status_code == 403  # the old phone's codes are worthless now
    totp = enrol(client, code=code)
    assert client.post("/moderate/setup", {"otp_token": totp.now()}).status_code == 302
    issued = AccountEvent.objects.get(action="enrolment_issued")
    assert issued.actor == root and issued.username == "mod"


# --- lockout -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_forty_parallel_wrong_passwords_check_at_most_the_limit(moderator, settings, behind_proxy, monkeypatch):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 5
    TOTPDevice.objects.create(user=moderator, name="default", confirmed=True)
    checked = []
    lock = threading.Lock()
    real_check = AbstractBaseUser.check_password

    def counting_check(user, raw_password):
        with lock:
            checked.append(raw_password)
        return real_check(user, raw_password)

    monkeypatch.setattr(AbstractBaseUser, "check_password", counting_check)
    start = threading.Barrier(40, timeout=30)
    statuses: list[int] = []

    def guess(number: int) -> None:
        try:
            start.wait()
            response = Client().post(
                "/moderate/login",
                {"username": "mod", "password": f"guess {number}", "otp_token": "000000"},
                **from_network(NETWORK_A),
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == 40
    assert len(checked) <= 5
    assert statuses.count(429) >= 35


def test_a_lockout_from_one_network_does_not_stop_the_owner_on_another(client, moderator, settings, behind_proxy):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    device = TOTPDevice.objects.create(user=moderator, name="default", confirmed=True)
    attacker = Client()
    for _ in range(3):
        wrong = attacker.post("/moderate/login", {"username": "mod", "password": "wrong"}, **from_network(NETWORK_A))
        assert wrong.status_code == 400
    form = {"username": "mod", "password": PASSWORD, "otp_token": totp_for(device).now()}
    assert attacker.post("/moderate/login", form, **from_network(NETWORK_A)).status_code == 429
    owner = client.post("/moderate/login", form, **from_network(NETWORK_B))
    assert owner.status_code == 302 and client.get("/moderate/", **from_network(NETWORK_B)).status_code == 200


def test_guesses_from_many_networks_stop_at_the_ceiling_but_spare_the_owners_browser(
    client, moderator, settings, behind_proxy
):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    settings.LOGIN_FAILURES_PER_ACCOUNT_ANYWHERE = 4
    totp = totp_for(TOTPDevice.objects.create(user=moderator, name="default", confirmed=True))
    form = {"username": "mod", "password": PASSWORD}
    assert (
        client.post("/moderate/login", {**form, "otp_token": totp.now()}, **from_network(NETWORK_B)).status_code == 302
    )
    client.post("/moderate/logout")
    for number in range(1, 5):  # four networks, one wrong guess each
        Client().post(
            "/moderate/login", {"username": "mod", "password": "wrong"}, **from_network(f"203.0.113.{number}")
        )
    later = timezone.now() + timedelta(seconds=60)
    with time_machine.travel(later, tick=False):
        stranger = Client().post("/moderate/login", {**form, "otp_token": totp.now()}, **from_network("203.0.113.9"))
        assert stranger.status_code == 429  # the account's ceiling holds for browsers it does not know
        owner = client.post("/moderate/login", {**form, "otp_token": totp.now()}, **from_network(NETWORK_A))
    assert owner.status_code == 302
