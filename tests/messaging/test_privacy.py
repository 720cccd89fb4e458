"""No phone number and no Telegram id survives a message: not in the database, not in Redis, not in the logs
(architecture §6.10). The test sends through every channel, with reports, votes, a refusal past the limit, a
location left waiting, a report completed by a second message and a withdrawal, and then searches both
stores (the queued tasks' arguments included) and every log line for each number in every form it could be
written in."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from config.redis import get_redis
from incidents import services
from incidents.keys import device_key, sender_token
from incidents.models import Report
from tests.factories import IncidentFactory
from tests.incidents.test_abuse import database_dump, redis_dump
from tests.messaging.test_channels import smssync, telegram, telegram_update, twilio

pytestmark = pytest.mark.django_db(transaction=True)

NUMBERS = ["+584125551234", "+584245557788", "+584169993311", "+584268880022"]
TELEGRAM_IDS = [987654321, 123456789]


def forms(number: str) -> list[str]:
    digits = number.lstrip("+")
    return [number, digits, digits[2:], "0" + digits[2:], digits[:-3]]


def test_no_number_or_telegram_id_reaches_the_database_redis_or_the_logs(settings, caplog):
    settings.SMSSYNC_SECRET = "smssync-secret"
    settings.TWILIO_AUTH_TOKEN = "twilio-token"
    settings.TELEGRAM_WEBHOOK_SECRET = "telegram-secret"
    settings.RATE_LIMIT_MESSAGES_PER_SENDER = [(3, 600)]
    caplog.set_level(logging.DEBUG)
    client = Client()
    incident = IncidentFactory()
    for n in range(4):  # the fourth is past the sender's limit
        smssync(client, f"alcabala en la entrada de Petare hace {n + 1} min", number=NUMBERS[0], message_id=str(n))
    twilio(client, "checkpoint near Chacao", number=NUMBERS[1], sid="SM9")
    twilio(client, "hola, quien es?", number=NUMBERS[2], sid="SM10")
    smssync(client, f"SIGUE {incident.pk}", number=NUMBERS[2], message_id="v")
    # A report completed by the next message, from one SIM written two ways; and one withdrawn.
    smssync(client, "alcabala hace 5 min", number="0426 888 0022", message_id="c1")
    smssync(client, "en la entrada de Petare", number="58426-888-0022", message_id="c2")
    twilio(client, "BORRAR", number=NUMBERS[1], sid="SM11")
    telegram(
        client, telegram_update(1, TELEGRAM_IDS[0], text="tranca https://www.openstreetmap.org/#map=17/10.47/-66.80")
    )
    telegram(client, telegram_update(2, TELEGRAM_IDS[1], location={"latitude": 10.49, "longitude": -66.85}))
    telegram(client, telegram_update(3, TELEGRAM_IDS[0], text=f"YA NO {incident.pk}"))
    telegram(client, telegram_update(4, TELEGRAM_IDS[0], text="SIGUE"))
    for report in Report.objects.all():
        services.report_process(report_id=report.pk)
    assert Report.objects.count() == 7
    assert Report.objects.filter(state="withdrawn").count() == 1
    assert get_redis().keys("alc:msg-pending:*")  # the location left waiting is in Redis, under a keyed hash

    secrets = [form for number in NUMBERS for form in forms(number)] + [str(i) for i in TELEGRAM_IDS]
    database = database_dump()
    stored = b"\n".join(redis_dump(get_redis()))
    logs = "\n".join(record.getMessage() + " " + str(record.args) for record in caplog.records)
    assert device_key(sender_token("sms", NUMBERS[0])) in database  # the dump holds what the messages left
    for secret in secrets:
        assert secret not in database, secret
        assert secret.encode() not in stored, secret
        assert secret not in logs, secret
