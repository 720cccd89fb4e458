"""On PostgreSQL the list pastes each incident's Feature text stored at write time, and only when it is current."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from incidents.models import Incident
from incidents.public import stored
from incidents.public.features import feature
from tests.factories import IncidentFactory, vote

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents"


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the Feature text is stored by a PostgreSQL trigger; SQLite builds it on every read")


def stored_row(pk: int) -> tuple[str | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT public_feature, public_feature_key FROM incidents_incident WHERE id = %s", [pk])
        return cursor.fetchone()


def overwrite_behind_the_trigger(pk: int, text: str, key: str) -> None:
    with connection.cursor() as cursor:
        # As a replica applies rows: ordinary triggers do not fire.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE incidents_incident SET public_feature = %s, public_feature_key = %s WHERE id = %s", [text, key, pk]
        )
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_each_write_stores_the_feature_the_api_would_build():
    incident = IncidentFactory(
        status="verified", verified_at=timezone.now(), place='Peaje "La Cabrera" <b>', note="línea\tdos ✓"
    )
    text, key = stored_row(incident.pk)
    assert key == stored.current_key()
    assert json.loads(text) == feature(incident, now=timezone.now())
    # A later write through a service stores the new state.
    vote(incident_id=incident.pk, device="d" * 32, still_there=True)
    incident.refresh_from_db()
    text, _ = stored_row(incident.pk)
    assert json.loads(text)["properties"]["still_there"] == incident.still_there == 1
    assert json.loads(text) == feature(incident, now=timezone.now())


def test_the_list_pastes_the_stored_text_when_its_key_is_current(api):
    incident = IncidentFactory(status="verified", verified_at=timezone.now(), place="Tazón")
    marked = feature(incident, now=timezone.now())
    marked["properties"]["place"] = "written by the trigger"
    overwrite_behind_the_trigger(incident.pk, json.dumps(marked), stored.current_key())
    # (Each request its own query: whole-map answers are kept in Redis for the map version.)
    assert api.get(URL, {"limit": 11}).json()["features"][0]["properties"]["place"] == "written by the trigger"
    # Under another key (other code or settings wrote it) the list builds the Feature itself.
    overwrite_behind_the_trigger(incident.pk, json.dumps(marked), "0" * 32)
    assert api.get(URL, {"limit": 12}).json()["features"][0]["properties"]["place"] == "Tazón"


def test_changed_settings_or_read_time_expiry_never_show_stale_text(api, settings):
    incident = IncidentFactory(
        status="verified", verified_at=timezone.now(), point=Point(-66.912345, 10.498765, srid=4326)
    )
    before = api.get(URL).json()["features"][0]
    settings.PUBLIC_GRID_M = 1000
    after = api.get(URL, {"limit": 13}).json()["features"][0]
    assert after["geometry"] != before["geometry"]
    assert after == feature(Incident.objects.get(pk=incident.pk), now=timezone.now())
    settings.PUBLIC_GRID_M = 50
    # Past its expiry (no write since), the stored text still says verified; the list says expired.
    Incident.objects.filter(pk=incident.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    overwrite_behind_the_trigger(incident.pk, json.dumps(before), stored.current_key())
    expired = api.get(URL, {"status": "expired"}).json()["features"]
    assert [f["properties"]["status"] for f in expired] == ["expired"]


def test_migrate_rewrites_live_rows_stored_under_another_key():
    live = IncidentFactory(status="unverified", reporters=2)
    ended = IncidentFactory(status="cleared")
    for pk in (live.pk, ended.pk):
        overwrite_behind_the_trigger(pk, "{}", "0" * 32)
    stored.install(connection)
    text, key = stored_row(live.pk)
    assert key == stored.current_key() and json.loads(text)["id"] == live.pk
    assert stored_row(ended.pk) == ("{}", "0" * 32)  # ended rows are built when asked for
