"""A point a moderator sends that is no point (NaN, EMPTY, broken WKB, garbage, a line) is a form error, never a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from incidents.models import Incident, ModerationEvent, ReportState
from tests.factories import IncidentFactory, ReportFactory
from tests.moderation.conftest import verify

pytestmark = pytest.mark.django_db

NOT_A_POINT = [
    pytest.param("POINT(nan nan)", id="nan-wkt"),
    pytest.param("POINT EMPTY", id="empty-wkt"),
    pytest.param("0101000000", id="truncated-wkb"),
    pytest.param("0101000000000000000000F87F000000000000F87F", id="nan-wkb"),
    pytest.param('{"type": "Point", "coordinates": []}', id="empty-geojson"),
    pytest.param('{"type": "Point", "coordinates": [NaN, 10]}', id="nan-geojson"),
    pytest.param('{"type": "Point", "coordinates": [1e400, 10]}', id="infinite-geojson"),
    pytest.param("POINT(1000 1000)", id="off-the-globe"),
    pytest.param("LINESTRING(-66.9 10.4, -66.8 10.5)", id="a-line"),
    pytest.param("MULTIPOINT EMPTY", id="empty-multipoint"),
    pytest.param("[" * 5_000, id="garbage"),
]


@pytest.mark.parametrize("text", NOT_A_POINT)
def test_moving_to_something_that_is_not_a_point_is_a_message_and_moves_nothing(mod_client, text):
    incident = IncidentFactory()
    before = incident.point.coords
    response = mod_client.post(
        f"/moderate/incidents/{incident.pk}/act", {"action": "move", "move-point": text}, follow=True
    )
    assert response.status_code == 200 and b"msg-error" in response.content
    assert Incident.objects.get(pk=incident.pk).point.coords == before
    assert not ModerationEvent.objects.exists()


@pytest.mark.parametrize("text", NOT_A_POINT)
def test_placing_a_report_on_something_that_is_not_a_point_shows_the_form_again(mod_client, text):
    report = ReportFactory(point=None, place_text="el peaje", state=ReportState.UNLOCATABLE)
    response = mod_client.post(f"/moderate/reports/{report.pk}/place", {"point": text})
    assert response.status_code == 400 and b"errorlist" in response.content
    report.refresh_from_db()
    assert report.point is None and report.state == ReportState.UNLOCATABLE


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", password="x" * 20)
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    verify(client, user)
    return client


@pytest.mark.parametrize("text", NOT_A_POINT)
def test_the_admin_refuses_a_point_that_is_not_one_and_moves_nothing(admin_client, text):
    incident = IncidentFactory()
    before = incident.point.coords
    response = admin_client.post(f"/admin/incidents/incident/{incident.pk}/change/", {"point": text, "note": ""})
    assert response.status_code in (200, 400)  # the form again, with its error
    assert b"errorlist" in response.content or b"msg-error" in response.content or b"error" in response.content
    assert Incident.objects.get(pk=incident.pk).point.coords == before
    assert not ModerationEvent.objects.exists()
