"""The Atom feed of an area, read as a feed reader reads it: feedparser, and the RFC 4287 grammar."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import feedparser
import lxml.html
import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.utils import timezone
from lxml import etree
from rest_framework.test import APIClient

from incidents.models import Incident, Report
from moderation import services as moderation
from tests.conftest import wait_until
from tests.factories import CARACAS, IncidentFactory, address, offset

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).with_name("atom.rng"))))
# A bbox around Caracas, and a town far from it.
CARACAS_BBOX = "-67.1,10.3,-66.7,10.6"
MARACAIBO = (-71.6125, 10.6427)


def fetch(client, query: str = "", **headers):
    response = client.get(f"/feeds/incidents.atom{query}", **headers)
    assert response.status_code == 200, response.content[:500]
    return response


def valid(body: bytes) -> etree._Element:
    document = etree.fromstring(body)
    assert SCHEMA.validate(document), SCHEMA.error_log
    # RFC 4287's Schematron rule: without an author on the feed, every entry needs one.
    assert document.find(f"{ATOM}author/{ATOM}name") is not None
    return document


def test_the_feed_validates_and_shows_verified_and_ended_incidents_in_the_area(client, moderator):
    near = IncidentFactory(place="Catia, Distrito Capital")
    far = IncidentFactory(point=Point(*MARACAIBO, srid=4326), place="Maracaibo, Zulia")
    moderation.incident_verify(incident_id=near.pk, moderator=moderator)
    moderation.incident_verify(incident_id=far.pk, moderator=moderator)
    moderation.incident_clear(incident_id=near.pk, moderator=moderator)

    response = fetch(client, f"?bbox={CARACAS_BBOX}", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Type"].startswith("application/atom+xml")
    valid(response.content)
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    titles = [entry.title for entry in feed.entries]
    assert titles == [
        "Checkpoint reported gone near Catia, Distrito Capital",
        "Checkpoint verified near Catia, Distrito Capital",
    ]
    assert all(entry.id.startswith("tag:testserver,") for entry in feed.entries)
    assert len({entry.id for entry in feed.entries}) == 2
    assert feed.entries[1].link.startswith("http://testserver/?kind=checkpoint&z=15&lat=10.48")
    assert feed.entries[0].where["coordinates"][1] == pytest.approx(CARACAS[1], abs=0.001)  # georss:point
    # The same entries keep their ids in the next read, whatever else changed.
    ids = [entry.id for entry in feed.entries]
    again = feedparser.parse(fetch(client, f"?bbox={CARACAS_BBOX}", HTTP_ACCEPT_LANGUAGE="en").content)
    assert [entry.id for entry in again.entries] == ids


def test_the_summary_shows_public_facts_only(client, moderator):
    incident = IncidentFactory(place="Petare, Miranda", reporters=3)
    Report.objects.create(
        client_id=uuid.uuid4(),
        kind="checkpoint",
        point=incident.point,
        observed_at=incident.first_reported_at,
        description="the officer with the red cap took my phone",
        reporter_key="f" * 64,
        incident=incident,
        state="processed",
    )
    moderation.incident_verify(incident_id=incident.pk, moderator=moderator)
    body = fetch(client, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "red cap" not in body and "f" * 64 not in body
    entry = feedparser.parse(body).entries[0]
    summary = lxml.html.fromstring(entry.summary).text_content()
    assert "Distinct reporters: 3" in summary and "Status: Verified" in summary
    public = client.get(f"/api/v1/incidents/{incident.pk}").json()
    lon, lat = public["geometry"]["coordinates"]
    assert f"Location: {lat}, {lon}" in summary  # the snapped point, as the API gives it
    assert public["properties"]["first_reported_at"][:16].replace("T", " ") in summary


def test_user_text_in_the_feed_is_text(client, moderator):
    incident = IncidentFactory(place="<script>alert('place')</script>")
    moderation.incident_note(incident_id=incident.pk, moderator=moderator, note="<img src=x onerror=alert(1)> & co")
    moderation.incident_verify(incident_id=incident.pk, moderator=moderator)
    response = fetch(client, HTTP_ACCEPT_LANGUAGE="en")
    document = valid(response.content)
    entry = document.findall(f"{ATOM}entry")[0]
    assert entry.findtext(f"{ATOM}title") == "Checkpoint verified near <script>alert('place')</script>"
    summary_html = entry.findtext(f"{ATOM}summary")  # type="html": the reader will render this
    fragment = lxml.html.fragment_fromstring(summary_html, create_parent="div")
    assert fragment.xpath("//script|//img") == []
    assert "<img src=x onerror=alert(1)> & co" in fragment.text_content()
    assert "<script>alert('place')</script>" in fragment.text_content()


def test_kind_filter_and_spanish(client, moderator):
    checkpoint = IncidentFactory(place="Catia")
    roadblock = IncidentFactory(kind="roadblock", point=Point(*offset(*CARACAS, east_m=900), srid=4326))
    moderation.incident_verify(incident_id=checkpoint.pk, moderator=moderator)
    moderation.incident_verify(incident_id=roadblock.pk, moderator=moderator)
    feed = feedparser.parse(fetch(client, "?kind=roadblock", HTTP_ACCEPT_LANGUAGE="es").content)
    assert len(feed.entries) == 1
    assert feed.feed.language == "es"
    lon, lat = client.get(f"/api/v1/incidents/{roadblock.pk}").json()["geometry"]["coordinates"]
    # No place name: the public point says where.
    assert feed.entries[0].title == f"Verificación: Barricada cerca de {lat:.4f}, {lon:.4f}"


def test_the_summary_names_independent_sources_and_flags_in_spanish(client, moderator):
    flagged = IncidentFactory(place="Catia", reporters=3, sources=2, contested=True, trusted=True)
    plain = IncidentFactory(place="Petare", point=Point(*offset(*CARACAS, east_m=900), srid=4326))
    moderation.incident_verify(incident_id=flagged.pk, moderator=moderator)
    moderation.incident_verify(incident_id=plain.pk, moderator=moderator)
    feed = feedparser.parse(fetch(client, HTTP_ACCEPT_LANGUAGE="es").content)
    summaries = {entry.title: lxml.html.fromstring(entry.summary).text_content() for entry in feed.entries}
    flagged_summary = summaries["Verificación: Alcabala cerca de Catia"]
    assert "Reportantes distintos: 3" in flagged_summary and "Fuentes independientes: 2" in flagged_summary
    assert (
        "Señales: En disputa (los reportes y los votos no coinciden), Reportado por un reportante de confianza"
        in flagged_summary
    )
    assert "Señales: ninguna" in summaries["Verificación: Alcabala cerca de Petare"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?bbox=1,2,3", "invalid_bbox"),
        ("?bbox=-67,11,-66,10", "invalid_bbox"),
        ("?bbox=a,b,c,d", "invalid_bbox"),
        ("?kind=tank", "invalid_kind"),
    ],
)
def test_a_bad_area_or_kind_is_a_clear_400(client, query, code):
    response = client.get(f"/feeds/incidents.atom{query}")
    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["error"] == code and body["detail"] and body["fields"]


def test_an_unchanged_feed_is_answered_304_and_a_change_makes_it_200(
    client, moderator, django_assert_num_queries, django_capture_on_commit_callbacks
):
    incident = IncidentFactory()
    first = fetch(client, f"?bbox={CARACAS_BBOX}")
    assert first["Last-Modified"]
    with django_assert_num_queries(0):
        again = client.get(f"/feeds/incidents.atom?bbox={CARACAS_BBOX}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    other_language = client.get(
        f"/feeds/incidents.atom?bbox={CARACAS_BBOX}", HTTP_IF_NONE_MATCH=first["ETag"], HTTP_ACCEPT_LANGUAGE="en"
    )
    assert other_language.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # publishes the new map version to Redis
        moderation.incident_verify(incident_id=incident.pk, moderator=moderator)
    changed = client.get(f"/feeds/incidents.atom?bbox={CARACAS_BBOX}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_events_older_than_a_week_leave_the_feed(client, moderator):
    with time_machine.travel(timezone.now() - timedelta(days=8), tick=False):
        incident = IncidentFactory()
        moderation.incident_verify(incident_id=incident.pk, moderator=moderator)
    assert feedparser.parse(fetch(client).content).entries == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_new_incident_appears_in_the_feed_once_the_worker_has_processed_its_reports(start_worker):
    start_worker()
    api = APIClient()
    url = f"/feeds/incidents.atom?bbox={CARACAS_BBOX}&kind=checkpoint"
    empty = feedparser.parse(fetch(api, url.removeprefix("/feeds/incidents.atom"), HTTP_ACCEPT_LANGUAGE="en").content)
    assert empty.entries == []
    for n, (device, east) in enumerate((("phone-1", 0), ("phone-2", 70)), start=1):
        body = {
            "client_id": str(uuid.uuid4()),
            "kind": "checkpoint",
            "location": {"type": "Point", "coordinates": list(offset(*CARACAS, east_m=east))},
            "device": device,
        }
        created = api.post(
            "/api/v1/reports", data=json.dumps(body), content_type="application/json", REMOTE_ADDR=address(n)
        ).json()
        wait_until(lambda created=created: Report.objects.get(pk=created["id"]).state == "processed")
    incident = Incident.objects.get()
    response = fetch(api, url.removeprefix("/feeds/incidents.atom"), HTTP_ACCEPT_LANGUAGE="en")
    valid(response.content)
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert len(feed.entries) == 1
    entry = feed.entries[0]
    assert entry.title.startswith("Checkpoint reported near")
    assert f"lat={incident.point.y:.2f}" in entry.link


def test_the_map_page_names_the_feed_for_readers(client):
    page = client.get("/").content.decode()
    assert '<link rel="alternate" type="application/atom+xml" href="/feeds/incidents.atom"' in page
