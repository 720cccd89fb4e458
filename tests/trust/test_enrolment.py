"""Trusted reporters (issue 15 item 7): a moderator enrols a pseudonym, a phone redeems the one-time code for a
trusted token, a moderator revokes it in one action. Codes and tokens exist only as keyed hashes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.keys import device_key
from incidents.views import DEVICE_COOKIE
from tests.trust.conftest import shown_code
from trust import services
from trust.keys import normalise_code, token_key
from trust.models import AppendOnlyError, TrustedReporter, TrustEnrolment, TrustEvent

pytestmark = pytest.mark.django_db


def redeem_api(code: str, **headers):
    return APIClient().post(
        "/api/v1/trusted", data=json.dumps({"code": code}), content_type="application/json", **headers
    )


def actions() -> list[str]:
    return list(TrustEvent.objects.order_by("id").values_list("action", flat=True))


def every_stored_value() -> str:
    """Every row of every model, as text: what a dump of the database would show."""
    rows = []
    for model in apps.get_models():
        rows += [repr(row) for row in model._default_manager.values()]
    return "\n".join(rows)


# --- enrolment and the code ----------------------------------------------------------------------


def test_the_code_is_shown_once_with_its_qr_and_expiry_and_only_hashes_are_stored(mod_client, moderator, settings):
    settings.TRUST_ENROLMENT_TTL_HOURS = 24
    page = mod_client.post("/moderate/trusted", {"label": "T-17"})
    assert page.status_code == 200
    html = page.content.decode()
    code = shown_code(html)
    assert len(normalise_code(code)) == 24
    assert "<svg" in html.split('id="code-qr"')[1].split("</div>")[0]  # the QR code, inline
    enrolment = TrustEnrolment.objects.get()
    assert enrolment.expires_at == enrolment.created_at + timedelta(hours=24)
    assert enrolment.expires_at.strftime("%Y-%m-%d %H:%M") in html
    assert code not in mod_client.get("/moderate/trusted").content.decode()  # shown once

    answer = redeem_api(code)
    assert answer.status_code == 201, answer.content
    token = answer.json()["token"]
    assert answer["Cache-Control"] == "no-store"

    dump = every_stored_value()
    for secret in (code, normalise_code(code), token):
        assert secret not in dump
    reporter = TrustedReporter.objects.get()
    assert reporter.key == token_key(token) and reporter.label == "T-17" and reporter.enrolled_by == moderator
    # Its own purpose: a trusted token's hash is never the reporter_key of a report sent with it.
    assert reporter.key != device_key(token)


def test_a_code_expires_after_trust_enrolment_ttl_hours(moderator, settings):
    settings.TRUST_ENROLMENT_TTL_HOURS = 2
    start = timezone.now()
    _kept, early = services.enrol(label="T-1", actor=moderator, now=start)
    _enrolment, late = services.enrol(label="T-2", actor=moderator, now=start)
    with time_machine.travel(start + timedelta(hours=1, minutes=59)):
        assert redeem_api(early).status_code == 201
    with time_machine.travel(start + timedelta(hours=2, minutes=1)):
        answer = redeem_api(late)
    assert answer.status_code == 410
    body = answer.json()
    assert body["error"] == "code_expired" and "new one" in body["fields"]["code"]
    assert TrustedReporter.objects.get(label="T-2").redeemed_at is None
    assert TrustEvent.objects.filter(label="T-2", action="code_expired").exists()


def test_a_code_works_once(enrolled):
    _enrolment, code = enrolled
    first = redeem_api(code)
    assert first.status_code == 201
    again = redeem_api(code)
    assert again.status_code == 409 and again.json()["error"] == "code_used"
    assert TrustedReporter.objects.get().key == token_key(first.json()["token"])  # the first phone keeps it
    assert actions() == ["enrolled", "redeemed", "code_used"]


def test_an_unknown_code_is_refused_with_a_sentence_to_act_on(enrolled):
    answer = redeem_api("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF")
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "code_unknown" and "typed" in body["detail"]
    assert TrustedReporter.objects.get().redeemed_at is None


def test_the_code_is_typed_by_hand_case_spaces_and_dashes_do_not_matter(enrolled):
    _enrolment, code = enrolled
    typed = " " + normalise_code(code).lower()[:12] + " " + normalise_code(code).lower()[12:] + " "
    assert redeem_api(typed).status_code == 201


def test_redeeming_through_the_form_without_javascript_shows_the_token_and_sets_the_device_cookie(enrolled):
    _enrolment, code = enrolled
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "id_code" in browser.get("/trusted").content.decode()
    page = browser.post("/trusted", {"code": code})
    assert page.status_code == 200
    html = page.content.decode()
    token = html.split('id="trusted-token">')[1].split("<")[0]
    assert services.trusted_reporter(token) == TrustedReporter.objects.get()
    cookie = page.cookies[DEVICE_COOKIE]
    assert cookie.value == token and cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["max-age"] >= 7 * 24 * 3600
    # The no-JavaScript report form reads this cookie as its device token: 16 to 64 letters and digits.
    assert 16 <= len(token) <= 64 and token.isalnum()
    again = browser.post("/trusted", {"code": code})
    assert again.status_code == 409 and "already used" in again.content.decode()
    assert DEVICE_COOKIE not in again.cookies


def test_the_reporter_page_works_in_spanish_and_english(enrolled):
    spanish = Client(HTTP_ACCEPT_LANGUAGE="es").get("/trusted").content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/trusted").content.decode()
    assert "Reportero de confianza" in spanish
    assert "Trusted reporter" in english


# --- the token, revocation and the audit log -----------------------------------------------------


def test_trusted_reporter_is_the_active_reporter_of_a_token_and_nobody_else(enrolled):
    _enrolment, code = enrolled
    assert services.trusted_reporter(None) is None
    assert services.trusted_reporter("") is None
    assert services.trusted_reporter("a" * 64) is None
    token = services.redeem(code=code)
    assert services.trusted_reporter(token) == TrustedReporter.objects.get()


def test_revoking_is_one_action_after_which_the_token_no_longer_counts(mod_client, enrolled, moderator):
    enrolment, code = enrolled
    token = services.redeem(code=code)
    response = mod_client.post(f"/moderate/trusted/{enrolment.reporter_id}/revoke")
    assert response.status_code == 303
    assert services.trusted_reporter(token) is None
    reporter = TrustedReporter.objects.get()
    assert reporter.revoked_at is not None and reporter.revoked_by == moderator
    page = mod_client.get("/moderate/trusted").content.decode()
    assert "revoked" in page and f"/moderate/trusted/{reporter.pk}/revoke" not in page
    mod_client.post(f"/moderate/trusted/{enrolment.reporter_id}/revoke")  # again: nothing more happens
    assert actions() == ["enrolled", "redeemed", "revoked"]


def test_a_revoked_reporters_unused_code_no_longer_works(enrolled, moderator):
    enrolment, code = enrolled
    assert services.revoke(reporter=enrolment.reporter, actor=moderator)
    answer = redeem_api(code)
    assert answer.status_code == 403 and answer.json()["error"] == "code_revoked"
    assert TrustedReporter.objects.get().key is None


def test_every_step_is_in_the_append_only_audit_log(mod_client, moderator):
    mod_client.post("/moderate/trusted", {"label": "T-3"})
    code = shown_code(mod_client.post("/moderate/trusted", {"label": "T-4"}).content.decode())
    redeem_api(code)
    redeem_api(code)
    _enrolment, late = services.enrol(label="T-5", actor=moderator)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        redeem_api(late)
    mod_client.post(f"/moderate/trusted/{TrustedReporter.objects.get(label='T-4').pk}/revoke")
    events = list(TrustEvent.objects.order_by("id").values_list("label", "action", "actor__username"))
    assert events == [
        ("T-3", "enrolled", "mod"),
        ("T-4", "enrolled", "mod"),
        ("T-4", "redeemed", None),
        ("T-4", "code_used", None),
        ("T-5", "enrolled", "mod"),
        ("T-5", "code_expired", None),
        ("T-4", "revoked", "mod"),
    ]
    event = TrustEvent.objects.first()
    event.action = "revoked"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_labels_are_unique_and_the_form_says_to_use_a_pseudonym(mod_client):
    page = mod_client.get("/moderate/trusted").content.decode()
    assert "Never a real name" in page
    assert mod_client.post("/moderate/trusted", {"label": "T-17"}).status_code == 200
    taken = mod_client.post("/moderate/trusted", {"label": "t-17"})
    assert taken.status_code == 409 and "already in use" in taken.content.decode()
    assert 'id="code-value"' not in taken.content.decode()
    assert TrustedReporter.objects.count() == 1


def test_the_command_enrols_and_prints_the_code_once(moderator, citizen, capsys):
    call_command("trust_enrol", "--label", "T-9", "--by", "mod")
    out = capsys.readouterr().out
    code = out.strip().splitlines()[-1]
    assert "T-9" in out and "/trusted" in out
    assert services.trusted_reporter(services.redeem(code=code)).label == "T-9"
    with pytest.raises(CommandError, match="not an active moderator"):
        call_command("trust_enrol", "--label", "T-10", "--by", "someone")
    assert not TrustedReporter.objects.filter(label="T-10").exists()
