from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from incidents import services
from incidents.models import Incident, Report
from tests.factories import network_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client() -> Client:
    return Client(enforce_csrf_checks=True)


def form_data(page_html: str, **fields) -> dict:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page_html).group(1)
    client_id = re.search(r'name="client_id" value="([^"]+)"', page_html).group(1)
    return {"csrfmiddlewaretoken": token, "client_id": client_id, "when": "0", **fields}


def test_the_report_page_sends_the_headers_that_protect_reporters(client):
    response = client.get("/report")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["Referrer-Policy"] == "no-referrer"
    assert "geolocation=(self)" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_the_page_loads_scripts_and_styles_only_from_files_of_ours(client):
    html = client.get("/report").content.decode()
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))", html)
    assert not re.search(r"\bon[a-z]+=", html)
    for url in re.findall(r'(?:src|href)="(https?://[^"]+)"', html):
        pytest.fail(f"the page links to another host: {url}")


def test_a_form_post_without_javascript_creates_a_report_and_redirects_to_its_status(browser_client):
    page = browser_client.get("/report").content.decode()
    data = form_data(page, kind="checkpoint", place="10.4806, -66.9036", description="Dos guardias")
    response = browser_client.post("/report", data, HTTP_ORIGIN="null")
    assert response.status_code == 303
    report = Report.objects.get()
    assert response["Location"] == f"/report/status/{report.pk}?sent=1"
    assert (report.channel, report.kind, report.description) == ("web", "checkpoint", "Dos guardias")
    assert report.reporter_key  # the device cookie, hashed


def test_posting_the_same_form_twice_makes_one_report(browser_client):
    page = browser_client.get("/report").content.decode()
    data = form_data(page, kind="checkpoint", place="Petare")
    first = browser_client.post("/report", data)
    second = browser_client.post("/report", data)
    assert first["Location"] == second["Location"]
    assert Report.objects.count() == 1


def test_a_form_post_from_another_site_is_refused(browser_client):
    page = browser_client.get("/report").content.decode()
    data = form_data(page, kind="checkpoint", place="Petare")
    assert browser_client.post("/report", data, HTTP_ORIGIN="https://evil.example").status_code == 403
    data["csrfmiddlewaretoken"] = "x" * 64
    assert browser_client.post("/report", data, HTTP_ORIGIN="null").status_code == 403
    assert Report.objects.count() == 0


def test_an_https_form_post_without_origin_or_referer_is_decided_by_its_token(browser_client):
    page = browser_client.get("/report", secure=True).content.decode()
    data = form_data(page, kind="checkpoint", place="Petare")
    forged = {**data, "csrfmiddlewaretoken": "x" * 64}
    assert browser_client.post("/report", forged, secure=True).status_code == 403
    assert Report.objects.count() == 0
    assert browser_client.post("/report", data, secure=True).status_code == 303
    assert Report.objects.count() == 1


def test_an_https_form_post_referred_by_another_site_is_refused(browser_client):
    page = browser_client.get("/report", secure=True).content.decode()
    data = form_data(page, kind="checkpoint", place="Petare")
    response = browser_client.post("/report", data, secure=True, HTTP_REFERER="https://evil.example/form")
    assert response.status_code == 403
    assert Report.objects.count() == 0


def test_a_form_without_a_location_is_shown_again_with_the_reason(client):
    page = client.get("/report").content.decode()
    response = client.post("/report", form_data(page, kind="militia", description="<b>moto</b>"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "field-error" in html
    assert "&lt;b&gt;moto&lt;/b&gt;" in html and "<b>moto</b>" not in html
    assert Report.objects.count() == 0


def test_the_honeypot_answers_like_success_and_keeps_the_report_as_spam(client):
    page = client.get("/report").content.decode()
    response = client.post("/report", form_data(page, kind="checkpoint", place="Petare", website="http://spam"))
    assert response.status_code == 303
    report = Report.objects.get()
    assert report.state == "spam"
    assert response["Location"] == f"/report/status/{report.pk}?sent=1"


def test_the_status_page_shows_the_state_and_lets_a_phone_vote(client):
    reports = [
        services.report_submit(
            client_id=uuid.uuid4(), kind="roadblock", place_text="10.48, -66.90", device=d, source=network_of(d)
        )[0]
        for d in ("a", "b")
    ]
    for report in reports:
        services.report_process(report_id=report.pk)
    page = client.get(f"/report/status/{reports[0].pk}")
    assert "Está en el mapa público" in page.content.decode()
    response = client.post(f"/report/status/{reports[0].pk}/vote", {"still_there": "no"})
    assert response.status_code == 303 and response["Location"].endswith("?voted=ok")
    assert Incident.objects.get().gone == 1


def test_the_status_of_an_unknown_report_reveals_nothing(client):
    response = client.get(f"/report/status/{uuid.uuid4()}")
    assert response.status_code == 200
    assert client.post(f"/report/status/{uuid.uuid4()}/vote", {"still_there": "no"}).status_code == 404


def test_language_follows_the_browser_and_the_switcher(client):
    assert "What did you see?" in client.get("/report", HTTP_ACCEPT_LANGUAGE="en-GB,en").content.decode()
    assert "¿Qué viste?" in client.get("/report", HTTP_ACCEPT_LANGUAGE="es-VE,es").content.decode()
    response = client.get("/lang/en?next=/report")
    assert response.status_code == 303 and response["Location"] == "/report"
    assert "What did you see?" in client.get("/report", HTTP_ACCEPT_LANGUAGE="es").content.decode()


def test_the_language_switcher_never_redirects_off_site(client):
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/report"
    assert client.get("/lang/xx").status_code == 404


def test_the_service_worker_is_served_for_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "importScripts" in response.content.decode()


def test_the_quick_exit_page_carries_nothing_of_this_service(client):
    response = client.get("/exit")
    html = response.content.decode()
    assert "Alcabala" not in html and "report" not in html.lower()
    # Fetched from the network, it has the browser drop this site's HTTP cache and cookies too.
    assert response["Clear-Site-Data"] == '"cache", "cookies"'


def test_a_photo_sent_with_the_form_is_stored_clean(browser_client, settings, tmp_path):
    from io import BytesIO

    from PIL import Image

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    exif = Image.Exif()
    exif[0x010F] = "SecretCamMaker"
    buffer = BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "JPEG", exif=exif)
    buffer.seek(0)
    buffer.name = "IMG_0001.jpg"
    page = browser_client.get("/report").content.decode()
    response = browser_client.post("/report", form_data(page, kind="hazard", place="10.48, -66.90", photo=buffer))
    assert response.status_code == 303
    stored = Report.objects.get().photo
    data = stored.read()
    assert b"SecretCamMaker" not in data and b"Exif" not in data
    assert "IMG_0001" not in stored.name


def test_a_photo_too_large_for_the_form_gets_a_page_that_says_so(client, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10_000
    page = client.get("/report").content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("big.jpg", b"\xff" * 50_000, content_type="image/jpeg")
    response = client.post(
        "/report", form_data(page, kind="hazard", place="Petare", photo=big), HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 413
    assert "8 MB" in response.content.decode()
    assert Report.objects.count() == 0


def test_the_service_worker_cache_is_named_after_the_files_it_keeps(client):
    from incidents import views

    body = client.get("/sw.js").content.decode()
    digest = views._shell_digest()
    assert f'"alc-shell-{digest}"' in body
    assert '"alc-shell-v1"' not in body


def test_the_no_script_device_token_lasts_until_the_end_of_its_day(client):
    with time_machine.travel(datetime(2026, 12, 1, 23, 30, tzinfo=UTC), tick=False):
        cookie = client.get("/report").cookies["alc_device"]
    assert int(cookie["max-age"]) == 30 * 60  # a new token tomorrow: a seized phone's cookie matches one day
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
