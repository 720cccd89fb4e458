"""The admin: verified staff only, map widgets from django-leaflet under the CSP, the audit log read-only."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import Point

from incidents.models import Incident, ModerationEvent
from moderation import services
from tests.factories import CARACAS, IncidentFactory, offset
from tests.moderation.conftest import verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", password="x" * 20)
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    verify(client, user)
    client.user = user
    return client


def test_the_incident_form_has_a_leaflet_map_allowed_by_a_nonce(admin_client):
    incident = IncidentFactory()
    response = admin_client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<script nonce="{nonce}">' in response.content.decode()
    assert "unsafe-inline" not in csp and "leaflet/leaflet.js" in response.content.decode()


def test_moving_an_incident_in_the_admin_goes_through_the_service(admin_client):
    incident = IncidentFactory()
    moved = Point(*offset(*CARACAS, north_m=500), srid=4326)
    response = admin_client.post(
        f"/admin/incidents/incident/{incident.pk}/change/", {"point": moved.geojson, "note": "Moved by hand"}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert round(incident.point.y, 5) == round(moved.y, 5) and incident.note == "Moved by hand"
    assert [e.action for e in ModerationEvent.objects.filter(incident=incident)] == ["move", "note"]


def test_the_audit_log_cannot_be_changed_or_deleted_in_the_admin(admin_client):
    incident = IncidentFactory()
    services.incident_reject(incident_id=incident.pk, moderator=admin_client.user, reason="a fake")
    event = ModerationEvent.objects.get()
    base = "/admin/incidents/moderationevent/"
    assert admin_client.get(base).status_code == 200
    page = admin_client.get(f"{base}{event.pk}/change/")
    assert page.status_code == 200 and b'name="reason"' not in page.content  # shown, not editable
    assert admin_client.post(f"{base}{event.pk}/change/", {"reason": "nothing"}).status_code == 403
    assert admin_client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.post(base, {"action": "delete_selected", "_selected_action": [event.pk]}).status_code in (
        200,
        302,
    )
    assert admin_client.get(f"{base}add/").status_code == 403
    event.refresh_from_db()
    assert event.reason == "a fake" and ModerationEvent.objects.count() == 1
    assert Incident.objects.get().status == "rejected"
