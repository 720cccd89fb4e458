"""Staff see why a webhook was disabled and each try, switch it on again, and cannot point one at our network."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from consumers import services as consumers
from tests.moderation.conftest import verify
from watch import services
from watch.models import WebhookSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", password="x" * 20)
    verify(client, user)
    return client


def test_staff_see_the_reason_and_switch_a_disabled_webhook_on(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    api_key, _ = consumers.api_key_create(name="Radio Fe y Alegría")
    hook = services.webhook_create(api_key_id=api_key.pk, url="http://127.0.0.1:9/hook")
    services.webhook_disable(subscription=hook, reason="10 failed tries in a row; the last: HTTP 503")
    listing = admin_client.get("/admin/watch/webhooksubscription/").content.decode()
    assert "10 failed tries in a row; the last: HTTP 503" in listing
    page = admin_client.get(f"/admin/watch/webhooksubscription/{hook.pk}/change/").content.decode()
    assert hook.secret not in page  # shown once, when created
    response = admin_client.post(
        "/admin/watch/webhooksubscription/", {"action": "enable", "_selected_action": [hook.pk]}
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert hook.active and hook.consecutive_failures == 0 and hook.disabled_reason == ""


def test_staff_cannot_point_a_webhook_at_our_own_network(admin_client):
    api_key, _ = consumers.api_key_create(name="NGO")
    response = admin_client.post(
        "/admin/watch/webhooksubscription/add/",
        {"api_key": api_key.pk, "url": "http://169.254.169.254/latest/", "kinds": "[]", "events": "[]", "active": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "webhooks go to public addresses only" in response.content.decode()
    assert not WebhookSubscription.objects.exists()
