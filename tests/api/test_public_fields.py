"""Adding a public property is one entry in the field table: every representation then carries it.

The test adds a computed property (whether the incident arrived in a burst, read from the model's `burst`
column, so no migration is needed) to `incidents.public.fields.FIELDS` and reads it back from every public
answer: GeoJSON (built by PostGIS's generated SQL, or in Python on SpatiaLite), CSV, the map's columns,
the changes feed, OGC items, a webhook's payload, the Atom feed and the JSON Schema of a Feature.
"""

from __future__ import annotations

import csv
import io
import json

import feedparser
import lxml.html
import pytest
from django.contrib.auth.models import Group, User

from incidents.api import params
from incidents.models import IncidentEvent
from incidents.public import fields
from incidents.public.fields import Boolean, Field
from moderation import services as moderation
from tests.factories import IncidentFactory
from watch.services import payload

pytestmark = pytest.mark.django_db

BURST = Field(
    "arrived_in_burst",
    Boolean(),
    "Arrived in a burst",
    "Its reporters came in a burst from few networks.",
    reads=("burst",),
)


@pytest.fixture
def burst_field(monkeypatch):
    monkeypatch.setattr(fields, "FIELDS", (*fields.FIELDS, BURST))


@pytest.fixture
def moderator(db) -> User:
    user = User.objects.create_user("mod", password="a long passphrase 1")
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return user


def test_a_new_field_reaches_every_representation(client, burst_field, moderator):
    flagged = IncidentFactory(reporters=3, burst=True)
    calm = IncidentFactory(reporters=3, burst=False)

    listed = client.get("/api/v1/incidents").json()["features"]
    assert {f["id"]: f["properties"]["arrived_in_burst"] for f in listed} == {flagged.pk: True, calm.pk: False}

    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/incidents?format=csv").content.decode())))
    assert {int(r["id"]): r["arrived_in_burst"] for r in rows} == {flagged.pk: "true", calm.pk: "false"}

    body = client.get("/api/v1/incidents?format=columns").json()
    assert dict(zip(body["columns"]["id"], body["columns"]["arrived_in_burst"], strict=True)) == {
        flagged.pk: 1,
        calm.pk: 0,
    }

    first = client.get("/api/v1/incidents/changes").json()
    assert {f["id"]: f["properties"]["arrived_in_burst"] for f in first["features"]} == {
        flagged.pk: True,
        calm.pk: False,
    }

    items = client.get("/ogc/collections/incidents/items?f=json").json()["features"]
    assert {f["id"]: f["properties"]["arrived_in_burst"] for f in items} == {flagged.pk: True, calm.pk: False}
    one = client.get(f"/ogc/collections/incidents/items/{flagged.pk}?f=json").json()
    assert one["properties"]["arrived_in_burst"] is True

    # A change after the field was added: its outbox event, the changes feed after a cursor, a webhook, Atom.
    moderation.incident_verify(incident_id=flagged.pk, moderator=moderator)
    # (Factory rows carry versions of their own, far above the map's counter: read after the verification's.)
    flagged.refresh_from_db()
    since = params.encode_version_cursor(flagged.version - 1)
    later = client.get(f"/api/v1/incidents/changes?since={since}").json()
    assert {f["id"]: f["properties"]["arrived_in_burst"] for f in later["features"]}[flagged.pk] is True
    event = IncidentEvent.objects.get(incident=flagged, type="verified")
    assert json.loads(payload(event=event, subscription_id=1))["feature"]["properties"]["arrived_in_burst"] is True
    entry = feedparser.parse(client.get("/feeds/incidents.atom", HTTP_ACCEPT_LANGUAGE="en").content).entries[0]
    assert "Arrived in a burst: yes" in lxml.html.fromstring(entry.summary).text_content()

    schema = fields.properties_schema()
    assert schema["properties"]["arrived_in_burst"]["type"] == "boolean"
    assert "arrived_in_burst" in schema["required"]


def test_without_the_entry_no_representation_has_it(client):
    IncidentFactory(reporters=3, burst=True)
    feature = client.get("/api/v1/incidents").json()["features"][0]
    assert "arrived_in_burst" not in feature["properties"]
    assert "arrived_in_burst" not in client.get("/api/v1/incidents?format=csv").content.decode()
