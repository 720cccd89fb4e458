"""API keys for consumers and the read limits: keyed hashes of networks, counts in Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model

from consumers import services
from consumers.models import ApiKey, hash_key
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_its_hash():
    api_key, key = services.api_key_create(name="Efecto Cocuyo")
    row = ApiKey.objects.get(pk=api_key.pk)
    assert row.key_hash == hash_key(key) and key not in row.key_hash
    assert row.prefix == key[:12]
    stored = [str(v) for v in ApiKey.objects.values_list(*[f.attname for f in ApiKey._meta.fields]).get()]
    assert key not in stored


# The read limits count in windows of the clock: held still, no window can end halfway through a test.
@time_machine.travel(datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC), tick=False)
def test_anonymous_reads_are_limited_per_network_and_a_key_gets_its_own_limit(api, settings, redis_server):
    settings.API_READ_RATE_ANON = [(3, 60)]
    settings.API_READ_RATE_KEY = [(5, 60)]
    IncidentFactory()
    for _ in range(3):
        assert api.get("/api/v1/incidents").status_code == 200
    refused = api.get("/api/v1/incidents")
    assert refused.status_code == 429
    assert refused.json()["error"] == "throttled" and int(refused["Retry-After"]) >= 1
    assert api.get("/ogc/collections/incidents/items").status_code == 429  # one budget for both
    # Another network is not affected.
    assert api.get("/api/v1/incidents", REMOTE_ADDR="198.51.100.9").status_code == 200
    # No address in Redis: only keyed hashes.
    keys = b" ".join(redis_server.client().keys("*"))
    assert b"127.0.0.1" not in keys and b"198.51.100.9" not in keys

    _, key = services.api_key_create(name="Newsroom")
    for _ in range(5):
        assert api.get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert api.get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Token {key}").status_code == 429


@time_machine.travel(datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC), tick=False)
def test_a_key_with_its_own_rate(api, settings):
    settings.API_READ_RATE_KEY = [(1, 60)]
    _, key = services.api_key_create(name="NGO", reads_per_minute=4)
    answers = [api.get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Token {key}").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]


def test_an_unknown_or_revoked_key_is_a_401(api):
    response = api.get("/api/v1/incidents", HTTP_AUTHORIZATION="Token alc_nope")
    assert response.status_code == 401 and response.json()["error"] == "invalid_key"
    api_key, key = services.api_key_create(name="Old partner")
    assert api.get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    services.api_key_revoke(api_key=api_key)
    assert api.get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert api.get("/ogc/collections/incidents/items", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_polls_answered_304_are_not_counted(api, settings, django_capture_on_commit_callbacks):
    settings.API_READ_RATE_ANON = [(2, 60)]
    IncidentFactory()
    tag = api.get("/api/v1/incidents/changes")["ETag"]
    for _ in range(10):
        assert api.get("/api/v1/incidents/changes", HTTP_IF_NONE_MATCH=tag).status_code == 304
    assert api.get("/api/v1/incidents").status_code == 200


def test_without_redis_reads_are_not_limited(api, settings):
    settings.API_READ_RATE_ANON = [(1, 60)]
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    IncidentFactory()
    assert [api.get("/api/v1/incidents").status_code for _ in range(3)] == [200, 200, 200]


def test_staff_create_a_key_in_the_admin_and_see_it_once(client):
    from tests.moderation.conftest import verify  # the admin asks for a second factor

    user = get_user_model().objects.create_superuser("staff", "staff@example.org", "pw")
    verify(client, user)
    response = client.post("/admin/consumers/apikey/add/", {"name": "Runrunes"}, follow=True)
    assert response.status_code == 200
    row = ApiKey.objects.get(name="Runrunes")
    page = response.content.decode()
    shown = page.split("<code>", 1)[1].split("</code>", 1)[0]
    assert hash_key(shown) == row.key_hash
    assert row.created_by == user
