"""A trusted reporter's phone redeems its code in Chromium, with and without JavaScript (architecture §6.9)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from trust import services
from trust.models import TrustedReporter

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE_TOKEN = "import('/static/lib/common.js').then((common) => common.deviceToken())"


@pytest.fixture
def code() -> str:
    moderator = User.objects.create_user("mod", password="a long passphrase 1")
    moderator.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return services.enrol(label="T-17", actor=moderator)[1]


def test_with_javascript_the_scanned_code_is_redeemed_kept_as_the_device_token_and_erased_by_the_quick_exit(page, code):
    page.goto(f"/trusted#code={code}")
    expect(page.locator("#id_code")).to_have_value(code)
    assert "#" not in page.url  # the code does not stay in the address bar or the history entry
    daily = page.evaluate(DEVICE_TOKEN)
    page.get_by_role("button", name="Usar este código").click()
    expect(page.locator("#trusted-done")).to_be_visible()
    expect(page.locator("#trusted-form")).to_be_hidden()
    token = page.evaluate("localStorage.getItem('alc_trusted')")
    assert services.trusted_reporter(token) == TrustedReporter.objects.get()
    assert page.evaluate(DEVICE_TOKEN) == token != daily
    page.locator("#quick-exit").click()
    page.wait_for_url("**/exit")
    assert page.evaluate("localStorage.getItem('alc_trusted')") is None
    assert page.evaluate(DEVICE_TOKEN) != token


def test_with_javascript_a_used_code_says_so_on_the_page(page, code):
    services.redeem(code=code)
    page.goto("/trusted")
    page.locator("#id_code").fill(code)
    page.get_by_role("button", name="Usar este código").click()
    expect(page.locator("#trusted-error")).to_contain_text("ya se usó")
    assert page.evaluate("localStorage.getItem('alc_trusted')") is None


def test_without_javascript_the_form_shows_the_token_and_keeps_it_as_the_device_cookie(browser, live_server, code):
    context = browser.new_context(locale="es-VE", java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/trusted")
        page.locator("#id_code").fill(code.lower())
        page.get_by_role("button", name="Usar este código").click()
        expect(page.locator("h1")).to_contain_text("Este teléfono ya es un reportero de confianza")
        token = page.locator("#trusted-token").inner_text()
        assert services.trusted_reporter(token) == TrustedReporter.objects.get()
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        assert cookies["alc_device"]["value"] == token and cookies["alc_device"]["httpOnly"]
    finally:
        context.close()
