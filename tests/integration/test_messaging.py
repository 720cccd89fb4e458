"""Reports by SMS and Telegram through the running app and a real Celery worker.

Payloads shaped as each gateway sends them go over HTTP to the live server; the deployment uses a remote
geocoder (a Nominatim-shaped server on loopback), so the worker, not the request, places every report, as
in production with Nominatim. One worker for the whole module, and a handful of requests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from config.redis import get_redis
from incidents.models import Incident, Report, ReportState
from tests.conftest import wait_until
from tests.geo import fake_nominatim
from tests.incidents.test_abuse import database_dump, redis_dump
from tests.messaging.test_channels import telegram_update

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRETS = {"SMSSYNC_SECRET": "smssync-secret", "TWILIO_AUTH_TOKEN": "twilio-token", "TELEGRAM_WEBHOOK_SECRET": "tg"}
SMS_NUMBER, TWILIO_NUMBER, TELEGRAM_USERS = "+584125551234", "+584245557788", (987654321, 123456789)
NOMINATIM_PETARE = (-66.8101, 10.4801)  # where the fake Nominatim puts Petare (the gazetteer's differs)


def post(url: str, body: bytes, content_type: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type, **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def smssync(base: str, text: str, message_id: str) -> dict:
    form = {"from": SMS_NUMBER, "message": text, "message_id": message_id, "secret": "smssync-secret"}
    form.update(sent_to="+584140000000", device_id="1", sent_timestamp=str(int(timezone.now().timestamp() * 1000)))
    status, body = post(f"{base}/intake/sms/smssync", urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert status == 200
    return json.loads(body)["payload"]


def twilio(base: str, text: str, sid: str, token: str = "twilio-token") -> tuple[int, str]:
    form = {"MessageSid": sid, "AccountSid": "AC0", "From": TWILIO_NUMBER, "To": "+15005550006", "Body": text}
    url = f"{base}/intake/sms/twilio"
    signed = url + "".join(key + form[key] for key in sorted(form))
    signature = base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    form_type = "application/x-www-form-urlencoded"
    return post(url, urlencode(form).encode(), form_type, **{"X-Twilio-Signature": signature})


def telegram(base: str, update: dict) -> dict:
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg"}
    status, body = post(f"{base}/intake/telegram", json.dumps(update).encode(), "application/json", **headers)
    assert status == 200
    return json.loads(body)


def processed(report: Report) -> Report:
    wait_until(lambda: Report.objects.get(pk=report.pk).state == ReportState.PROCESSED, timeout=60)
    return Report.objects.get(pk=report.pk)


def near(point, lon_lat, metres=300) -> bool:
    return abs(point.x - lon_lat[0]) * 109_000 < metres and abs(point.y - lon_lat[1]) * 111_000 < metres


@pytest.fixture
def nominatim(settings):
    server = fake_nominatim.start()
    settings.GEOCODER, settings.NOMINATIM_URL = "nominatim", server.url
    settings.NOMINATIM_RATE_PER_S, settings.NOMINATIM_TIMEOUT_S = 50, 2
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_messages_of_every_channel_become_incidents_through_the_worker_and_leave_no_number(
    live_server, start_worker, nominatim, settings, caplog
):
    for name, value in SECRETS.items():
        setattr(settings, name, value)
    caplog.set_level(logging.DEBUG)
    worker = start_worker(GEOCODER="nominatim", NOMINATIM_URL=nominatim.url, NOMINATIM_RATE_PER_S="50")
    base = live_server.url

    # Telegram text, with a place for the geocoder and a time.
    answer = telegram(base, telegram_update(1, TELEGRAM_USERS[0], text="retén de la PNB en Petare hace 15 min"))
    assert answer["method"] == "sendMessage" and answer["chat_id"] == TELEGRAM_USERS[0]
    assert "Alcabala" in answer["text"] and "Petare" in answer["text"] and "hace 15 min" in answer["text"]
    first = processed(Report.objects.get(channel="telegram"))
    incident = first.incident
    assert incident.kind == "checkpoint" and near(incident.point, NOMINATIM_PETARE)
    assert abs((timezone.now() - timedelta(minutes=15) - incident.first_reported_at).total_seconds()) < 60

    # Telegram: a text without a place, then a native location completes the same report.
    asked = telegram(base, telegram_update(2, TELEGRAM_USERS[1], text="tiroteo"))
    assert "¿dónde?" in asked["text"]
    located = telegram(
        base, telegram_update(3, TELEGRAM_USERS[1], location={"latitude": 10.4961, "longitude": -66.8535})
    )
    assert "Peligro" in located["text"]
    shooting = processed(Report.objects.get(kind="hazard"))
    assert shooting.incident.kind == "hazard" and shooting.incident.point.coords == pytest.approx((-66.8535, 10.4961))

    # SMSSync and Twilio (signed) corroborate the checkpoint: three senders, three sources, public.
    payload = smssync(base, "alcabala en Petare", "m1")
    assert payload["success"] is True and payload["messages"][0]["to"] == SMS_NUMBER
    assert "Petare" in payload["messages"][0]["message"]
    status, twiml = twilio(base, "checkpoint at Petare", "SM1")
    assert status == 200 and "<Response><Message>Received: Checkpoint at Petare" in twiml
    for report in Report.objects.filter(channel="sms"):
        assert processed(report).incident_id == incident.pk
    incident.refresh_from_db()
    assert (incident.reporters, incident.sources) == (3, 3)
    with urllib.request.urlopen(f"{base}/api/v1/incidents/{incident.pk}", timeout=10) as response:  # public
        assert json.loads(response.read())["properties"]["kind"] == "checkpoint"

    # A wrong signature stores nothing; GONE alone votes on the sender's last report's incident.
    assert twilio(base, "GONE", "SM2", token="guessed")[0] == 403
    status, twiml = twilio(base, "GONE", "SM3")
    assert status == 200 and f"incident {incident.pk} is gone" in twiml
    incident.refresh_from_db()
    assert (incident.gone, Report.objects.count()) == (1, 4)

    # No number or Telegram id anywhere: database, Redis (queued tasks included), the app's and the worker's logs.
    digits = [SMS_NUMBER.lstrip("+"), TWILIO_NUMBER.lstrip("+")]
    secrets = digits + [d[2:] for d in digits] + [str(user) for user in TELEGRAM_USERS]
    database = database_dump()
    stored = b"\n".join(redis_dump(get_redis()))
    logs = "\n".join(record.getMessage() + " " + str(record.args) for record in caplog.records)
    logs += worker.log.read_text(errors="replace")
    assert "incidents.process_report" in logs  # the worker did the placing
    for secret in secrets:
        assert secret not in database, secret
        assert secret.encode() not in stored, secret
        assert secret not in logs, secret
    assert Incident.objects.count() == 2
