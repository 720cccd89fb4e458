"""Webhooks for API consumers: the API, the SSRF guard, and signed deliveries to a receiver on loopback,
retried by a real Celery worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.contrib.gis.geos import Point
from rest_framework.test import APIClient

from consumers import services as consumers
from incidents.models import IncidentEvent
from moderation import services as moderation
from tests.conftest import wait_until
from tests.factories import CARACAS, IncidentFactory, offset
from tests.watch.receiver import Receiver
from watch import services
from watch.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

MARACAIBO = (-71.6125, 10.6427)
CARACAS_BBOX = [-67.1, 10.3, -66.7, 10.6]
# Small backoff and limits, so that a worker retries in a fraction of a second.
FAST = {
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "WEBHOOK_RETRIES": "3",
    "WEBHOOK_RETRY_BACKOFF_S": "0.05",
    "WEBHOOK_RETRY_BACKOFF_MAX_S": "0.2",
    "WEBHOOK_MAX_FAILURES": "5",
}


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_BACKOFF_S = 0.05
    settings.WEBHOOK_RETRY_BACKOFF_MAX_S = 0.2
    return settings


def keyed(name: str = "Newsroom") -> tuple[APIClient, int]:
    api_key, key = consumers.api_key_create(name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, api_key.pk


def register(client: APIClient, url: str, **body) -> dict:
    response = client.post("/api/v1/webhooks", data=json.dumps({"url": url, **body}), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def verify_signature(secret: str, received) -> bool:
    """What the README tells a receiver to do."""
    timestamp = received.headers["X-Alcabala-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers["X-Alcabala-Signature"], f"sha256={expected}")


# --- the API -------------------------------------------------------------------------------------


def test_webhooks_need_an_api_key():
    anonymous = APIClient()
    for response in (
        anonymous.get("/api/v1/webhooks"),
        anonymous.post("/api/v1/webhooks", data={"url": "https://example.org/"}, format="json"),
        anonymous.delete("/api/v1/webhooks/1"),
    ):
        assert response.status_code == 401
        assert response.json()["error"] == "key_required"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token alc_not-a-key")
    assert bad.get("/api/v1/webhooks").json()["error"] == "invalid_key"


def test_a_consumer_registers_lists_switches_and_deletes_its_webhooks(loopback_allowed):
    client, _ = keyed()
    created = register(client, "http://127.0.0.1:9/hook", bbox=CARACAS_BBOX, kinds=["checkpoint"], events=["verified"])
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["bbox"] == CARACAS_BBOX and created["active"] is True
    listed = client.get("/api/v1/webhooks").json()
    assert [hook["id"] for hook in listed] == [created["id"]]
    assert "secret" not in listed[0]  # shown once only
    off = client.patch(f"/api/v1/webhooks/{created['id']}", data={"active": False}, format="json").json()
    assert off["active"] is False and off["disabled_reason"] == "switched off by the consumer"
    on = client.patch(f"/api/v1/webhooks/{created['id']}", data={"active": True}, format="json").json()
    assert on["active"] is True and on["disabled_reason"] == ""
    assert client.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert client.get("/api/v1/webhooks").json() == []


def test_another_consumers_webhook_is_not_found(loopback_allowed):
    owner, _ = keyed("Owner")
    other, _ = keyed("Other")
    hook = register(owner, "http://127.0.0.1:9/hook")
    for response in (
        other.get(f"/api/v1/webhooks/{hook['id']}"),
        other.patch(f"/api/v1/webhooks/{hook['id']}", data={"active": False}, format="json"),
        other.delete(f"/api/v1/webhooks/{hook['id']}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert other.get("/api/v1/webhooks").json() == []
    assert WebhookSubscription.objects.get().active


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "ftp://example.org/hook"}, "url_not_allowed", "url"),
        ({"url": "not a url"}, "invalid", "url"),
        ({"url": "https://example.org/", "bbox": [1, 2, 3]}, "invalid", "bbox"),
        ({"url": "https://example.org/", "bbox": [-67, 11, -66, 10]}, "invalid", "bbox"),
        ({"url": "https://example.org/", "kinds": ["tank"]}, "invalid", "kinds.0"),
        ({"url": "https://example.org/", "events": ["exploded"]}, "invalid", "events.0"),
        ({"bbox": [-67.1, 10.3, -66.7, 10.6]}, "invalid", "url"),
    ],
)
def test_a_bad_registration_is_a_clear_400(body, code, field):
    client, _ = keyed()
    response = client.post("/api/v1/webhooks", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == code and field in response.json()["fields"], response.json()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin/",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_urls_on_our_own_network_are_refused(url):
    client, _ = keyed()
    response = client.post("/api/v1/webhooks", data=json.dumps({"url": url}), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "url_not_allowed" and "url" in response.json()["fields"]
    assert not WebhookSubscription.objects.exists()


def test_a_url_refused_at_delivery_time_is_a_failed_try_not_a_request(settings):
    # Registered while allowed, then the setting is off again: the guard runs on every try.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    _, key_id = keyed()
    with Receiver() as receiver:
        services.webhook_create(api_key_id=key_id, url=receiver.url)
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        services.delivery_attempt(delivery_id=delivery_id)
        assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error.startswith("refused:")


def moderation_verify_near_caracas(point=CARACAS, kind: str = "checkpoint") -> int:
    from django.contrib.auth.models import Group, User

    user = User.objects.filter(username="mod").first()
    if user is None:
        user = User.objects.create_user("mod", password="a long passphrase 1")
        user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    incident = IncidentFactory(kind=kind, point=Point(*point, srid=4326), place="Catia")
    moderation.incident_verify(incident_id=incident.pk, moderator=user)
    return incident.pk


# --- deliveries, in process ----------------------------------------------------------------------


def test_a_delivery_is_signed_and_carries_the_public_feature_only(loopback_allowed):
    client, _ = keyed()
    with Receiver() as receiver:
        hook = register(client, receiver.url)
        incident_id = moderation_verify_near_caracas()
        _taken, ids = services.events_fan_out()
        assert services.delivery_attempt(delivery_id=ids[0]).state == "delivered"
        assert services.delivery_attempt(delivery_id=ids[0]).state == "skipped"  # run twice: sent once
    (received,) = receiver.requests
    assert received.path == "/hooks/alcabala?team=1"
    assert verify_signature(hook["secret"], received)
    assert not verify_signature("whsec_someone-else", received)
    assert abs(int(received.headers["X-Alcabala-Timestamp"]) - time.time()) < 60
    body = json.loads(received.body)
    event = IncidentEvent.objects.get()
    assert received.headers["X-Alcabala-Event-Id"] == str(event.pk) == str(body["id"])
    assert received.headers["X-Alcabala-Event"] == "verified" == body["type"]
    assert body["incident"] == incident_id and body["webhook"] == hook["id"]
    public = APIClient().get(f"/api/v1/incidents/{incident_id}").json()
    assert body["feature"] == public
    assert received.headers["Content-Type"] == "application/json"
    assert not any(name.lower() in ("cookie", "authorization", "x-forwarded-for") for name in received.headers)


def test_area_kind_and_event_filters(loopback_allowed):
    client, _ = keyed()
    with Receiver() as everything, Receiver() as caracas_checkpoints, Receiver() as endings:
        register(client, everything.url)
        register(client, caracas_checkpoints.url, bbox=CARACAS_BBOX, kinds=["checkpoint"])
        register(client, endings.url, events=["ended"])
        moderation_verify_near_caracas()
        moderation_verify_near_caracas(MARACAIBO)
        moderation_verify_near_caracas(offset(*CARACAS, east_m=800), kind="roadblock")
        for delivery_id in services.events_fan_out()[1]:
            services.delivery_attempt(delivery_id=delivery_id)
    assert len(everything.requests) == 3
    (only,) = caracas_checkpoints.requests
    assert json.loads(only.body)["feature"]["properties"]["kind"] == "checkpoint"
    assert json.loads(only.body)["feature"]["geometry"]["coordinates"][0] == pytest.approx(CARACAS[0], abs=0.001)
    assert endings.requests == []


def test_a_4xx_answer_fails_the_delivery_without_retrying(loopback_allowed):
    client, _ = keyed()
    with Receiver(default=410) as receiver:
        register(client, receiver.url)
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        outcome = services.delivery_attempt(delivery_id=delivery_id)
    assert outcome.state == "failed" and outcome.retry_in is None
    assert WebhookAttempt.objects.get().status_code == 410


def test_a_redirect_is_not_followed(loopback_allowed):
    client, _ = keyed()
    with Receiver() as elsewhere, Receiver(default=302, headers={"Location": "/"}) as receiver:
        receiver.extra_headers["Location"] = elsewhere.url
        register(client, receiver.url)
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        assert services.delivery_attempt(delivery_id=delivery_id).state == "failed"
        assert len(receiver.requests) == 1 and elsewhere.requests == []


def test_https_receivers_must_present_a_certificate_we_trust(loopback_allowed, tmp_path):
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    client, _ = keyed()
    with Receiver().serve_tls(str(cert), str(key)) as receiver:
        register(client, receiver.url)
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        assert services.delivery_attempt(delivery_id=delivery_id).state == "pending"
        assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "CERTIFICATE_VERIFY_FAILED" in attempt.error


def test_a_receiver_too_slow_to_answer_is_a_timeout_tried_again(loopback_allowed):
    loopback_allowed.WEBHOOK_TIMEOUT_S = 0.3
    loopback_allowed.WEBHOOK_RETRY_BACKOFF_S = 30
    loopback_allowed.WEBHOOK_RETRY_BACKOFF_MAX_S = 60
    client, _ = keyed()
    with Receiver(delay_s=1.0) as receiver:
        register(client, receiver.url)
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        started = time.monotonic()
        outcome = services.delivery_attempt(delivery_id=delivery_id)
        assert time.monotonic() - started < 1.0
    assert outcome.state == "pending" and 15 <= outcome.retry_in <= 30  # jittered within the first step
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error == "timed out"
    # Not due yet: a duplicate message of the same try sends nothing.
    assert services.delivery_attempt(delivery_id=delivery_id).state == "skipped"
    assert WebhookAttempt.objects.count() == 1


def test_the_sweeper_finds_deliveries_a_lost_task_left_behind(loopback_allowed):
    from datetime import timedelta

    from django.utils import timezone

    client, _ = keyed()
    register(client, "http://127.0.0.1:9/hook")
    moderation_verify_near_caracas(CARACAS)
    moderation_verify_near_caracas(offset(*CARACAS, east_m=900))
    moderation_verify_near_caracas(offset(*CARACAS, east_m=1800))
    lost, stuck, fresh = services.events_fan_out()[1]
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=lost).update(next_attempt_at=now - timedelta(minutes=5))
    WebhookDelivery.objects.filter(pk=stuck).update(state="sending", claimed_at=now - timedelta(minutes=30))
    assert sorted(services.deliveries_due(now=now)) == sorted([lost, stuck])
    assert WebhookDelivery.objects.get(pk=stuck).state == "pending"
    assert fresh not in services.deliveries_due(now=now)


def test_events_and_their_deliveries_are_pruned_after_a_month(loopback_allowed):
    from datetime import timedelta

    from django.utils import timezone

    client, _ = keyed()
    with Receiver() as receiver:
        register(client, receiver.url)
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        services.delivery_attempt(delivery_id=delivery_id)
    now = timezone.now()
    assert services.events_prune(now=now + timedelta(days=29)) == 0
    assert services.events_prune(now=now + timedelta(days=31)) == 1
    assert not IncidentEvent.objects.exists() and not WebhookDelivery.objects.exists()
    assert not WebhookAttempt.objects.exists()


def test_the_readme_recipe_verifies_a_real_delivery(loopback_allowed):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### Watching an area") :]
    recipe = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)
    namespace: dict = {}
    exec(recipe, namespace)  # our own README's code, run as a receiver would
    client, _ = keyed()
    with Receiver() as receiver:
        hook = register(client, receiver.url)
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        services.delivery_attempt(delivery_id=delivery_id)
    (received,) = receiver.requests
    assert namespace["verified"](hook["secret"], received.headers, received.body)
    assert not namespace["verified"](hook["secret"], received.headers, received.body + b" ")
    assert not namespace["verified"]("whsec_other", received.headers, received.body)


# --- deliveries through a real worker ------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_receiver_answering_500_twice_gets_the_delivery_on_the_third_try(start_worker, loopback_allowed):
    start_worker(**FAST)
    client, _ = keyed()
    with Receiver(statuses=[500, 500], default=200) as receiver:
        hook = register(client, receiver.url)
        moderation_verify_near_caracas()
        delivery = wait_until(lambda: WebhookDelivery.objects.filter(state="delivered").first(), timeout=30)
    assert len(receiver.requests) == 3
    assert delivery.attempts == 3
    assert [a.status_code for a in WebhookAttempt.objects.order_by("id")] == [500, 500, 200]
    # Every try is signed afresh, and all carry the same event.
    assert all(verify_signature(hook["secret"], received) for received in receiver.requests)
    assert len({received.headers["X-Alcabala-Event-Id"] for received in receiver.requests}) == 1
    assert WebhookSubscription.objects.get().consecutive_failures == 0


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_receiver_always_failing_gets_its_webhook_disabled_after_the_limit(start_worker, loopback_allowed):
    start_worker(**FAST)
    client, _ = keyed()
    with Receiver(default=503) as receiver:
        hook = register(client, receiver.url)
        moderation_verify_near_caracas()  # 1 try + 3 retries: 4 failures
        wait_until(lambda: WebhookDelivery.objects.filter(state="failed").exists(), timeout=30)
        moderation_verify_near_caracas(offset(*CARACAS, east_m=900))  # the 5th failure disables
        wait_until(lambda: not WebhookSubscription.objects.get().active, timeout=30)
        moderation_verify_near_caracas(offset(*CARACAS, north_m=900))  # not sent at all
        # Its event is taken by the fan-out and makes no delivery for a disabled webhook.
        wait_until(lambda: not IncidentEvent.objects.filter(dispatched=False).exists(), timeout=30)
        assert len(receiver.requests) == 5
    shown = client.get(f"/api/v1/webhooks/{hook['id']}").json()
    assert shown["active"] is False and shown["consecutive_failures"] == 5
    assert shown["disabled_reason"] == "5 failed tries in a row; the last: HTTP 503"
    assert WebhookDelivery.objects.filter(subscription_id=hook["id"]).count() == 2
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"failed"}
    # Switched on again by the consumer, it receives the next event.
    with Receiver() as receiver:
        WebhookSubscription.objects.filter(pk=hook["id"]).update(url=receiver.url)
        client.patch(f"/api/v1/webhooks/{hook['id']}", data={"active": True}, format="json")
        moderation_verify_near_caracas(offset(*CARACAS, north_m=-900))
        wait_until(lambda: len(receiver.requests) == 1, timeout=30)


def test_many_changes_queue_one_fan_out_until_it_starts():
    from config.redis import get_redis
    from watch import tasks

    broker = get_redis()  # the broker is the same Redis
    broker.delete("celery")
    for _ in range(5):
        assert tasks.enqueue_fan_out()
    assert broker.llen("celery") == 1
    tasks.fan_out()  # the queued run starts: changes after it queue another
    assert tasks.enqueue_fan_out()
    assert broker.llen("celery") == 2
