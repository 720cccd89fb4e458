"""Geocoding in the report flow: place-only reports, incident names, retries through a real worker."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.gis.geos import Point
from rest_framework.test import APIClient

from geo import geocoding
from incidents import services
from incidents.models import Incident, Report
from tests.conftest import wait_until


def submit(place: str = "", point: Point | None = None, device: str | None = None) -> Report:
    report, _ = services.report_submit(
        client_id=uuid.uuid4(), kind="checkpoint", place_text=place, point=point, device=device
    )
    return report


@pytest.mark.django_db
def test_a_place_only_report_is_placed_and_its_incident_named():
    report = services.report_process(report_id=submit("alcabala en la entrada de Maiquetía").pk)
    assert report.state == "processed"
    assert (round(report.point.x, 5), round(report.point.y, 5)) == (-66.95624, 10.5945)
    assert report.incident.place == "Maiquetía, La Guaira"


@pytest.mark.django_db
@pytest.mark.parametrize("place", ["Lagunillas", "Barrancas", "Madrid", "Av. Bolívar"])
def test_an_ambiguous_or_foreign_place_makes_the_report_unlocatable(place):
    report = services.report_process(report_id=submit(place).pk)
    assert report.state == "unlocatable"
    assert report.point is None and report.incident is None
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_a_joining_report_keeps_the_incidents_name():
    first = services.report_process(report_id=submit(point=Point(-66.8079, 10.4768, srid=4326)).pk)
    second = services.report_process(report_id=submit("cerca de Petare").pk)
    assert second.incident_id == first.incident_id
    assert Incident.objects.get().place == "Petare, Miranda"


@pytest.mark.django_db
def test_an_incident_opened_from_a_report_has_a_readable_place_in_the_public_geojson(settings):
    settings.PUBLISH_POLICY = "open"
    services.report_process(report_id=submit(point=Point(-72.4441, 7.8115, srid=4326)).pk)
    services.report_process(report_id=submit("Ureña").pk)
    response = APIClient().get("/api/v1/incidents")
    assert response.status_code == 200
    places = sorted(feature["properties"]["place"] for feature in response.json()["features"])
    assert places == ["San Antonio del Táchira, Táchira", "Ureña, Táchira"]


@pytest.mark.django_db(transaction=True)
def test_with_nominatim_the_report_is_placed_and_named_by_it(nominatim):
    report = services.report_process(report_id=submit("entrada de Maiquetía").pk)
    assert report.state == "processed"
    assert (round(report.point.x, 4), round(report.point.y, 4)) == (-66.9502, 10.6001)
    assert report.incident.place == "Avenida Soublette, Maiquetía, La Guaira"
    assert [r.path for r in nominatim.requests] == ["/search", "/reverse"]


@pytest.mark.django_db(transaction=True)
def test_a_network_error_leaves_the_report_received_for_the_retry(nominatim):
    nominatim.fail_next = 1
    report = submit("entrada de Maiquetía")
    with pytest.raises(geocoding.NETWORK_ERRORS):
        services.report_process(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == "received" and report.point is None


# --- through a real Celery worker ------------------------------------------------------------------

RETRY_FAST = {"GEOCODER": "nominatim", "GEOCODER_RETRIES": "2", "GEOCODER_RETRY_BACKOFF_S": "1"}


def post_place(place: str) -> str:
    body = {"client_id": str(uuid.uuid4()), "kind": "checkpoint", "place": place, "device": "phone-1"}
    response = APIClient().post("/api/v1/reports", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_worker_retries_network_errors_then_nominatim_answers(start_worker, fake_server):
    fake_server.fail_next = 2
    start_worker(**RETRY_FAST, NOMINATIM_URL=fake_server.url, GEOCODER_RETRY_BACKOFF_MAX_S="1")
    report_id = post_place("alcabala en Maiquetía")
    wait_until(lambda: Report.objects.get(pk=report_id).state != "received", timeout=60)
    report = Report.objects.get(pk=report_id)
    assert report.state == "processed"
    assert (round(report.point.x, 4), round(report.point.y, 4)) == (-66.9502, 10.6001)  # Nominatim's point
    assert report.incident.place == "Avenida Soublette, Maiquetía, La Guaira"
    assert [r.path for r in fake_server.requests] == ["/search", "/search", "/search", "/reverse"]
    assert geocoding.fallback_count() == 0


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_after_the_last_retry_the_gazetteer_answers_and_the_failure_is_counted(start_worker, fake_server):
    fake_server.fail_next = 1000
    worker = start_worker(**RETRY_FAST, NOMINATIM_URL=fake_server.url, GEOCODER_RETRY_BACKOFF_MAX_S="1")
    report_id = post_place("alcabala en Maiquetía")
    wait_until(lambda: Report.objects.get(pk=report_id).state != "received", timeout=60)
    report = Report.objects.get(pk=report_id)
    assert report.state == "processed"
    assert (round(report.point.x, 5), round(report.point.y, 5)) == (-66.95624, 10.5945)  # the gazetteer's
    assert report.incident.place == "Maiquetía, La Guaira"
    # Three tries at /search (the first and two retries), then the last try also asked /reverse once.
    assert [r.path for r in fake_server.requests] == ["/search"] * 3 + ["/reverse"]
    assert geocoding.fallback_count() == 2  # the forward and the reverse lookup of the last try
    assert "the gazetteer answers" in worker.log.read_text()
