"""Reports by SMS (SMSSync, Twilio) and Telegram, through the webhooks, with payloads shaped as the gateways send
them: the reply says what was understood, and the report and its incident carry the kind, place and time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from config.redis import get_redis
from incidents import services
from incidents.keys import device_key, sender_token
from incidents.models import Incident, Report, ReportState, Vote
from tests.factories import IncidentFactory, address

pytestmark = pytest.mark.django_db

SMSSYNC = "/intake/sms/smssync"
TWILIO = "/intake/sms/twilio"
TELEGRAM = "/intake/telegram"
PETARE = (-66.80786, 10.47679)
CHACAO = (-66.85367, 10.49581)


@pytest.fixture(autouse=True)
def channels_on(settings):
    settings.SMSSYNC_SECRET = "smssync-secret"
    settings.TWILIO_AUTH_TOKEN = "twilio-token"
    settings.TELEGRAM_WEBHOOK_SECRET = "telegram-secret"
    return settings


def smssync(client: Client, text: str, number: str = "+584125551234", message_id: str = "1", secret="smssync-secret"):
    data = {
        "from": number,
        "message": text,
        "message_id": message_id,
        "sent_to": "+584140000000",
        "secret": secret,
        "device_id": "1",
        "sent_timestamp": str(int(timezone.now().timestamp() * 1000)),
    }
    return client.post(SMSSYNC, data=urlencode(data), content_type="application/x-www-form-urlencoded")


def twilio_signature(token: str, url: str, data: dict[str, str]) -> str:
    # Written out as Twilio's documentation says, not with the code under test.
    payload = url + "".join(key + data[key] for key in sorted(data))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def twilio(client: Client, text: str, number: str = "+584245550001", sid: str = "SM1", token="twilio-token"):
    data = {
        "MessageSid": sid,
        "AccountSid": "AC0000",
        "From": number,
        "To": "+15005550006",
        "Body": text,
        "NumMedia": "0",
    }
    signature = twilio_signature(token, f"http://testserver{TWILIO}", data)
    form = "application/x-www-form-urlencoded"
    return client.post(TWILIO, data=urlencode(data), content_type=form, HTTP_X_TWILIO_SIGNATURE=signature)


def telegram_update(update_id: int, user_id: int, **message) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": "es"},
            "chat": {"id": user_id, "first_name": "Ana", "type": "private"},
            "date": int(timezone.now().timestamp()),
            **message,
        },
    }


def telegram(client: Client, update: dict, secret="telegram-secret"):
    return client.post(
        TELEGRAM, data=json.dumps(update), content_type="application/json", HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret
    )


def processed(report_id) -> Report:
    report = services.report_process(report_id=report_id)
    assert report is not None
    return report


def near(point, lon_lat, metres=2000) -> bool:
    return abs(point.x - lon_lat[0]) * 109_000 < metres and abs(point.y - lon_lat[1]) * 111_000 < metres


def test_an_smssync_message_becomes_a_report_and_the_reply_says_what_was_understood():
    response = smssync(Client(), "Alcabala de la GNB en la entrada de Petare hace 20 min")
    assert response.status_code == 200
    payload = response.json()["payload"]
    assert payload["success"] is True and payload["task"] == "send"
    [sent] = payload["messages"]
    assert sent["to"] == "+584125551234"
    assert "Alcabala" in sent["message"] and "Petare" in sent["message"] and "hace 20 min" in sent["message"]

    # The gazetteer answers in memory: the report is placed within the request, as the worker would.
    report = Report.objects.get()
    assert (report.channel, report.kind, report.state) == ("sms", "checkpoint", ReportState.PROCESSED)
    assert report.reporter_key == device_key(sender_token("sms", "+584125551234"))
    assert report.description == "Alcabala de la GNB en la entrada de Petare hace 20 min"
    assert abs((timezone.now() - timedelta(minutes=20) - report.observed_at).total_seconds()) < 60
    # Not public with one source: the reply gives no number, only the number-less commands.
    assert "SIGUE o YA NO" in sent["message"] and str(report.incident_id) not in sent["message"]
    report = processed(report.pk)
    incident = report.incident
    assert report.state == ReportState.PROCESSED and incident.kind == "checkpoint"
    assert near(incident.point, PETARE) and incident.place
    assert abs((incident.first_reported_at - report.observed_at).total_seconds()) < 1


def test_a_gateway_retry_of_one_message_is_one_report():
    smssync(Client(), "alcabala en Chacao", message_id="77")
    smssync(Client(), "alcabala en Chacao", message_id="77")
    assert Report.objects.count() == 1


@pytest.mark.parametrize("secret", ["wrong", ""])
def test_smssync_without_its_secret_is_refused_and_stores_nothing(secret):
    response = smssync(Client(), "alcabala en Chacao", secret=secret)
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_each_channel_is_off_while_its_secret_is_unset(settings):
    settings.SMSSYNC_SECRET = None
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TELEGRAM_WEBHOOK_SECRET = None
    client = Client()
    assert smssync(client, "alcabala en Chacao").status_code == 404
    assert twilio(client, "alcabala en Chacao").status_code == 404
    assert telegram(client, telegram_update(1, 5, text="alcabala en Chacao")).status_code == 404
    assert not Report.objects.exists()


def test_a_signed_twilio_message_is_answered_in_twiml_in_the_senders_language():
    response = twilio(Client(), "checkpoint near Chacao 20 minutes ago")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    body = response.content.decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "Checkpoint" in body and "Chacao" in body and "20 min ago" in body
    report = processed(Report.objects.get().pk)
    assert (report.channel, report.kind) == ("sms", "checkpoint")
    assert near(report.incident.point, (-66.85367, 10.49581))


def test_a_twilio_message_with_a_wrong_signature_is_refused_and_stores_nothing():
    client = Client()
    assert twilio(client, "alcabala en Chacao", token="not-the-token").status_code == 403
    data = {"MessageSid": "SM2", "From": "+584245550001", "Body": "alcabala en Chacao"}
    response = client.post(TWILIO, data=urlencode(data), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_a_telegram_text_with_a_map_link_is_placed_at_the_link():
    update = telegram_update(10, 987654321, text="retén de la PNB https://maps.google.com/?q=10.4806,-66.9036")
    response = telegram(Client(), update)
    assert response.status_code == 200
    body = response.json()
    assert body["method"] == "sendMessage" and body["chat_id"] == 987654321
    assert "Alcabala" in body["text"] and "10.48060, -66.90360" in body["text"]
    report = processed(Report.objects.get().pk)
    assert report.channel == "telegram" and report.kind == "checkpoint"
    assert report.incident.point.coords == pytest.approx((-66.9036, 10.4806))


def test_a_telegram_location_then_what_is_there_makes_one_report_at_the_location():
    client = Client()
    first = telegram(client, telegram_update(20, 55501, location={"latitude": 10.47679, "longitude": -66.80786}))
    assert first.status_code == 200 and "?" in first.json()["text"]
    assert not Report.objects.exists()
    second = telegram(client, telegram_update(21, 55501, text="tiroteo hace 5 min"))
    assert "Peligro" in second.json()["text"]
    report = processed(Report.objects.get().pk)
    assert report.kind == "hazard" and report.incident.point.coords == pytest.approx(PETARE)
    assert abs((timezone.now() - timedelta(minutes=5) - report.observed_at).total_seconds()) < 60


def test_a_location_outside_the_area_is_kept_for_moderators_and_the_sender_told(settings):
    client = Client()
    telegram(client, telegram_update(50, 777, location={"latitude": 4.711, "longitude": -74.072}))  # Bogotá
    response = telegram(client, telegram_update(51, 777, text="alcabala"))
    assert "fuera del área" in response.json()["text"]
    report = Report.objects.get()
    assert (report.kind, report.state, report.point) == ("checkpoint", ReportState.UNLOCATABLE, None)
    assert report.description == "alcabala"


def test_telegram_updates_that_are_not_new_messages_store_nothing():
    client = Client()
    edited = telegram_update(60, 5, text="alcabala en Chacao")
    edited["edited_message"] = edited.pop("message")
    assert telegram(client, edited).status_code == 200
    callback = {"update_id": 61, "callback_query": {"id": "1", "from": {"id": 5}, "data": "x"}}
    assert telegram(client, callback).status_code == 200
    assert telegram(client, telegram_update(62, 5, sticker={"file_id": "abc"})).status_code == 200
    secret = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": "telegram-secret"}
    response = client.post(TELEGRAM, data="{not json", content_type="application/json", **secret)
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_two_telegram_accounts_are_two_sources_and_publish_the_incident():
    client = Client()
    for n, user in enumerate([1001, 1002]):
        telegram(client, telegram_update(70 + n, user, text="barricada en Barquisimeto"))
    for report in Report.objects.all():
        processed(report.pk)
    incident = Incident.objects.get()
    assert (incident.kind, incident.reporters, incident.sources) == ("roadblock", 2, 2)
    assert client.get(f"/api/v1/incidents/{incident.pk}").status_code == 200


def test_telegram_without_its_secret_token_is_refused_and_stores_nothing():
    client = Client()
    assert telegram(client, telegram_update(30, 5, text="alcabala en Chacao"), secret="guess").status_code == 403
    response = client.post(TELEGRAM, data=json.dumps(telegram_update(31, 5, text="x")), content_type="application/json")
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_a_message_without_a_place_is_kept_and_the_reply_asks_where():
    response = smssync(Client(), "Hay una alcabala")
    text = response.json()["payload"]["messages"][0]["message"]
    assert "¿dónde?" in text.lower()
    report = processed(Report.objects.get().pk)
    assert report.kind == "checkpoint" and report.state == ReportState.UNLOCATABLE
    assert report.description == "Hay una alcabala"


def test_the_next_message_gives_the_place_and_completes_the_same_report():
    client = Client()
    first = smssync(client, "Hay una alcabala de la guardia hace 10 min", message_id="1")
    assert "¿dónde?" in first.json()["payload"]["messages"][0]["message"]
    waiting = Report.objects.get()
    assert (waiting.kind, waiting.state, waiting.point) == ("checkpoint", ReportState.UNLOCATABLE, None)
    second = smssync(client, "en la entrada de Petare", message_id="2")
    text = second.json()["payload"]["messages"][0]["message"]
    assert "Alcabala" in text and "Petare" in text and "hace 10 min" in text
    report = processed(Report.objects.get().pk)  # still one report: the same one, completed
    assert report.pk == waiting.pk and report.state == ReportState.PROCESSED
    assert report.kind == "checkpoint" and near(report.incident.point, PETARE)
    assert report.description == "Hay una alcabala de la guardia hace 10 min \u2014 en la entrada de Petare"
    assert abs((timezone.now() - timedelta(minutes=10) - report.observed_at).total_seconds()) < 60
    # The gateway's retry of the completing message is answered alike and makes nothing new.
    assert smssync(client, "en la entrada de Petare", message_id="2").json() == second.json()
    assert Report.objects.count() == 1
    # Completed once: the next message is a message of its own.
    smssync(client, "Maracay", message_id="3")
    assert Report.objects.count() == 2


def test_a_telegram_location_completes_the_report_that_asked_where():
    client = Client()
    asked = telegram(client, telegram_update(80, 3131, text="tiroteo"))
    assert "¿dónde?" in asked.json()["text"]
    located = telegram(client, telegram_update(81, 3131, location={"latitude": 10.47679, "longitude": -66.80786}))
    assert "Peligro" in located.json()["text"] and "10.47679, -66.80786" in located.json()["text"]
    report = processed(Report.objects.get().pk)
    assert report.kind == "hazard" and report.incident.point.coords == pytest.approx(PETARE)
    assert report.description == "tiroteo"


def test_a_place_not_found_is_kept_and_asked_again_and_another_sender_completes_nothing():
    client = Client()
    smssync(client, "alcabala", message_id="1")
    thanks = smssync(client, "ok gracias", message_id="1b")  # no place: the help, and the report waits on
    assert "SIGUE N" in thanks.json()["payload"]["messages"][0]["message"]
    again = smssync(client, "en la bomba vieja de Xyzzy", message_id="2")
    assert "No encontramos" in again.json()["payload"]["messages"][0]["message"]
    report = Report.objects.get()
    assert report.state == ReportState.UNLOCATABLE and "Xyzzy" in report.description
    smssync(client, "en Chacao", number="+584149870000", message_id="3")  # somebody else: a report of its own
    assert Report.objects.count() == 2
    smssync(client, "cerca de Chacao", message_id="4")
    report = processed(report.pk)
    assert report.state == ReportState.PROCESSED and near(report.incident.point, (-66.85367, 10.49581))


def test_a_report_never_completed_stays_for_moderators():
    smssync(Client(), "alcabala", message_id="1")
    get_redis().flushdb()  # what the pending TTL does after ten minutes
    smssync(Client(), "en Chacao", message_id="2")
    waiting, other = Report.objects.order_by("received_at")
    assert (waiting.kind, waiting.state, waiting.description) == ("checkpoint", ReportState.UNLOCATABLE, "alcabala")
    assert other.state == ReportState.UNLOCATABLE and other.description == "en Chacao"  # no kind: for a moderator


def test_the_reply_gives_the_number_of_a_public_incident_and_still_or_gone_alone_vote_on_it():
    client = Client()
    smssync(client, "alcabala en Chacao", number="+584125551234", message_id="1")
    second = smssync(client, "alcabala en Chacao", number="+584169990000", message_id="2")
    incident = Incident.objects.get()
    assert (incident.reporters, incident.sources) == (2, 2)  # two blocks: published under `corroborated`
    text = second.json()["payload"]["messages"][0]["message"]
    assert f"Incidente {incident.pk}: más tarde, responde SIGUE {incident.pk} o YA NO {incident.pk}" in text
    gone = smssync(client, "YA NO", number="+584125551234", message_id="3")
    assert gone.json()["payload"]["messages"][0]["message"] == f"Gracias: el incidente {incident.pk} ya no está."
    incident.refresh_from_db()
    assert incident.gone == 1
    lonely = smssync(client, "SIGUE", number="+584260001111", message_id="4")
    assert "aún no está en el mapa" in lonely.json()["payload"]["messages"][0]["message"]


def test_cancel_withdraws_the_senders_last_report_and_its_lone_incident():
    client = Client()
    smssync(client, "alcabala en Chacao", message_id="1")
    report = Report.objects.get()
    assert report.incident.status == "unverified"
    other = smssync(client, "BORRAR", number="+584149870000", message_id="2")  # another number: not theirs
    assert "No tienes ningún reporte" in other.json()["payload"]["messages"][0]["message"]
    done = twilio(client, "CANCEL", number="+58 412-555 1234")  # the same SIM, written another way
    assert "withdrawn" in done.content.decode()
    report.refresh_from_db()
    assert (report.state, report.incident) == (ReportState.WITHDRAWN, None)
    incident = Incident.objects.get()
    assert (incident.status, incident.reporters) == ("rejected", 0)
    assert incident.events.filter(action="withdraw").exists()
    assert services.report_process(report_id=report.pk).state == ReportState.WITHDRAWN  # the worker leaves it
    again = smssync(client, "cancelar", message_id="3")
    assert "No tienes ningún reporte" in again.json()["payload"]["messages"][0]["message"]


def test_cancel_leaves_an_incident_others_reported():
    client = Client()
    smssync(client, "alcabala en Chacao", number="+584125551234", message_id="1")
    smssync(client, "alcabala en Chacao", number="+584169990000", message_id="2")
    smssync(client, "BORRAR", number="+584169990000", message_id="3")
    incident = Incident.objects.get()
    assert (incident.status, incident.reporters, incident.sources) == ("unverified", 1, 1)
    assert incident.reports.get().reporter_key == device_key(sender_token("sms", "+584125551234"))


@pytest.mark.parametrize("text", ["hola", "Buenas noches!", "ok gracias", "\U0001f44d", "??", "Hello"])
def test_greetings_and_noise_get_the_help_and_are_no_report(text):
    response = smssync(Client(), text)
    assert (
        "SIGUE N" in response.json()["payload"]["messages"][0]["message"]
        or "STILL N" in response.json()["payload"]["messages"][0]["message"]
    )
    assert not Report.objects.exists()


def test_a_greeting_with_anything_more_is_kept():
    smssync(Client(), "hola, hay una alcabala", message_id="1")
    smssync(Client(), "hola 12", number="+584149870000", message_id="2")
    assert Report.objects.count() == 2


def test_one_sim_written_in_every_form_is_one_sender():
    for n, number in enumerate(["+58 414-555 1234", "04145551234", "584145551234", "0058 414 5551234"]):
        smssync(Client(), f"alcabala en Chacao {n}", number=number, message_id=str(n))
    assert len(set(Report.objects.values_list("reporter_key", flat=True))) == 1
    assert Incident.objects.get().reporters == 1


def test_a_web_report_and_a_message_corroborate_merge_and_votes_count_alike():
    api = Client()
    body = {"client_id": str(uuid.uuid4()), "kind": "checkpoint", "location": {"type": "Point", "coordinates": CHACAO}}
    body["device"] = "phone-web"
    response = api.post(
        "/api/v1/reports", data=json.dumps(body), content_type="application/json", REMOTE_ADDR=address(1)
    )
    assert response.status_code == 201
    processed(response.json()["id"])
    reply = smssync(Client(), "alcabala en Chacao", message_id="1")
    incident = Incident.objects.get()  # merged: one incident of both
    assert (incident.reporters, incident.sources, incident.reports.count()) == (2, 2, 2)
    assert api.get(f"/api/v1/incidents/{incident.pk}").status_code == 200  # corroborated: public
    assert f"Incidente {incident.pk}" in reply.json()["payload"]["messages"][0]["message"]
    smssync(Client(), f"YA NO {incident.pk}", message_id="2")
    vote = {"device": "phone-web", "still_there": False}
    api.post(
        f"/api/v1/incidents/{incident.pk}/votes",
        data=json.dumps(vote),
        content_type="application/json",
        REMOTE_ADDR=address(1),
    )
    incident.refresh_from_db()
    assert (incident.gone, incident.sources_gone) == (2, 2)
    assert incident.status == "cleared"  # two independent "gone", as for two web votes


def test_a_message_not_understood_is_kept_for_moderators_unlocatable():
    response = smssync(Client(), "hola, quien es?")
    assert "moderador" in response.json()["payload"]["messages"][0]["message"]
    report = Report.objects.get()
    assert report.state == ReportState.UNLOCATABLE and report.description == "hola, quien es?"
    assert processed(report.pk).incident is None  # the worker leaves it alone


def test_help_is_answered_in_the_senders_language_and_stores_nothing():
    client = Client()
    assert "SIGUE N" in smssync(client, "AYUDA").json()["payload"]["messages"][0]["message"]
    assert "STILL N" in twilio(client, "HELP").content.decode()
    assert not Report.objects.exists()


def test_numbers_of_one_block_are_one_source_and_of_two_blocks_two():
    for n, number in enumerate(["+584125551234", "+584125551299"]):
        smssync(Client(), "alcabala en Chacao", number=number, message_id=str(n))
    for report in Report.objects.all():
        processed(report.pk)
    incident = Incident.objects.get()
    assert (incident.reporters, incident.sources) == (2, 1)
    smssync(Client(), "alcabala en Chacao", number="+584149870000", message_id="9")
    processed(Report.objects.latest("received_at").pk)
    incident.refresh_from_db()
    assert (incident.reporters, incident.sources) == (3, 2)


def test_still_and_gone_commands_vote_with_the_senders_token():
    incident = IncidentFactory()
    still = smssync(Client(), f"SIGUE {incident.pk}", number="+584125551234")
    assert str(incident.pk) in still.json()["payload"]["messages"][0]["message"]
    gone = telegram(Client(), telegram_update(40, 4242, text=f"GONE {incident.pk}"))
    assert str(incident.pk) in gone.json()["text"]
    incident.refresh_from_db()
    assert (incident.still_there, incident.gone) == (1, 1)
    keys = set(Vote.objects.values_list("voter_key", flat=True))
    assert keys == {device_key(sender_token("sms", "+584125551234")), device_key(sender_token("telegram", "4242"))}
    missing = smssync(Client(), "YA NO 999999", message_id="2")
    assert missing.json()["payload"]["messages"][0]["message"] == "No existe ese incidente."


def test_a_vote_on_an_incident_the_public_cannot_see_is_answered_as_for_none():
    private = IncidentFactory(reporters=1)  # one source: not public under `corroborated`
    response = smssync(Client(), f"SIGUE {private.pk}")
    assert response.json()["payload"]["messages"][0]["message"] == "No existe ese incidente."
    assert not Vote.objects.exists()
    private.refresh_from_db()
    assert private.still_there == 0


def test_a_sender_past_its_limit_is_told_so_and_nothing_more_is_stored(settings):
    settings.RATE_LIMIT_MESSAGES_PER_SENDER = [(2, 600)]
    for n in range(3):
        response = smssync(Client(), f"alcabala en Chacao {n}", message_id=str(n))
    assert "Demasiados mensajes" in response.json()["payload"]["messages"][0]["message"]
    assert Report.objects.count() == 2
    other = smssync(Client(), "alcabala en Chacao", number="+584149870000", message_id="x")
    assert "Alcabala" in other.json()["payload"]["messages"][0]["message"]
    assert Report.objects.count() == 3
