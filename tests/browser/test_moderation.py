"""A moderator's session in Chromium: log in with a TOTP code, verify, reject with a reason, merge; the public
API and the audit log show each result."""

from __future__ import annotations

import base64
import json
import urllib.request
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import Point
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from incidents.models import Incident, Report, Status
from tests.factories import CARACAS, IncidentFactory, ReportFactory, offset

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long passphrase for tests"


def api(live_server, path: str) -> dict:
    with urllib.request.urlopen(f"{live_server.url}{path}") as response:
        return json.loads(response.read())


def test_a_moderator_logs_in_verifies_rejects_and_merges(browser, live_server):
    user = User.objects.create_user("ana", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    totp = pyotp.TOTP(base64.b32encode(device.bin_key).decode())
    now = timezone.now()
    to_verify, to_reject = IncidentFactory(place="Peaje de Tazón"), IncidentFactory(kind="roadblock")
    older = IncidentFactory(kind="militia", created_at=now - timedelta(minutes=30))
    newer = IncidentFactory(kind="militia", point=Point(*offset(*CARACAS, east_m=200), srid=4326))
    for incident in (to_verify, to_reject, older, newer):
        ReportFactory(incident=incident, kind=incident.kind, state="processed", description="<b>text</b>")

    context = browser.new_context(locale="en-US", base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
        )
        page.goto("/moderate/")
        expect(page.locator("h1")).to_be_visible()
        page.goto("/moderate/login")
        page.fill("#id_username", "ana")
        page.fill("#id_password", PASSWORD)
        page.fill("#id_otp_token", totp.now())
        page.locator("#login-form button[type=submit]").click()
        expect(page.locator(f"a.qlink[href='/moderate/incidents/{to_verify.pk}']")).to_be_visible()

        page.locator(f"a.qlink[href='/moderate/incidents/{to_verify.pk}']").click()
        expect(page.locator("td.text").first).to_have_text("<b>text</b>")  # user text stays text
        expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)  # the small map, from our static files
        assert page.locator("#map").bounding_box()["height"] > 100
        expect(page.locator("#move-form .leaflet-container")).to_be_visible()  # django-leaflet's widget
        page.locator("#verify").click()
        expect(page.locator("#incident-status")).to_have_attribute("data-status", "verified")

        page.goto(f"/moderate/incidents/{to_reject.pk}")
        page.locator("#reject").click()  # no reason: the browser's required field stops it
        assert Incident.objects.get(pk=to_reject.pk).status == Status.UNVERIFIED
        page.fill("#reject-reason", "Same photo as last week's report")
        page.locator("#reject").click()
        expect(page.locator("#incident-status")).to_have_attribute("data-status", "rejected")

        page.goto(f"/moderate/incidents/{newer.pk}")
        page.fill("#merge-other", str(older.pk))
        page.locator("#merge").click()
        expect(page).to_have_url(f"{live_server.url}/moderate/incidents/{older.pk}")
        expect(page.locator(".messages")).to_contain_text(f"#{older.pk}")

        page.locator("#audit-link").click()
        expect(page.locator("#audit tr.event-merge")).to_contain_text("ana")
        page.goto(f"/moderate/incidents/{to_reject.pk}/audit")
        expect(page.locator("#audit tr.event-rejected")).to_contain_text("Same photo as last week's report")
        page.goto(f"/moderate/incidents/{newer.pk}/audit")
        expect(page.locator("#audit tr.event-merged")).to_contain_text(f"merged into #{older.pk}")
        assert errors == []
    finally:
        context.close()

    assert api(live_server, f"/api/v1/incidents/{to_verify.pk}")["properties"]["verified"] is True
    rejected = api(live_server, "/api/v1/incidents?status=rejected")
    assert {feature["id"] for feature in rejected["features"]} == {to_reject.pk, newer.pk}
    live = api(live_server, "/api/v1/incidents?kind=militia")
    assert [feature["id"] for feature in live["features"]] == [older.pk]
    assert Report.objects.filter(incident=older).count() == 2
