"""The webhook task retries as many times as WEBHOOK_RETRIES says, not Celery's default of 3."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from tests.watch.receiver import Receiver
from tests.watch.test_webhooks import keyed, moderation_verify_near_caracas, register
from watch import services
from watch.models import WebhookDelivery
from watch.tasks import deliver_webhook

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("retried", [3, 4])
def test_the_fourth_and_fifth_retries_happen_when_webhook_retries_is_five(settings, retried):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRIES = 5
    client, _ = keyed()
    with Receiver(default=503) as receiver:
        register(client, receiver.url)
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        # As after `retried` failed retries: the row counts the first try too.
        WebhookDelivery.objects.filter(pk=delivery_id).update(attempts=retried, next_attempt_at=timezone.now())
        with pytest.raises(Retry):  # scheduled again; Celery's default would raise MaxRetriesExceededError
            deliver_webhook.apply(args=[delivery_id], retries=retried)
        assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.state == "pending" and delivery.attempts == retried + 1


def test_after_the_last_retry_the_row_gives_up_and_the_task_ends_quietly(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRIES = 5
    client, _ = keyed()
    with Receiver(default=503) as receiver:
        register(client, receiver.url)
        moderation_verify_near_caracas()
        (delivery_id,) = services.events_fan_out()[1]
        WebhookDelivery.objects.filter(pk=delivery_id).update(attempts=5, next_attempt_at=timezone.now())
        result = deliver_webhook.apply(args=[delivery_id], retries=5)
        assert len(receiver.requests) == 1
    assert result.state == "SUCCESS" and result.result == "failed"
    assert WebhookDelivery.objects.get(pk=delivery_id).state == "failed"
