"""Audit rows (the moderation log and the trusted reporters' log) cannot be changed or deleted: not through the
model, a queryset, nor raw SQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from incidents.models import AppendOnlyError, ModerationEvent
from moderation import services
from tests.factories import IncidentFactory
from trust import services as trust_services
from trust.models import TrustEvent


def truncate():
    connection.cursor().execute("TRUNCATE incidents_moderationevent, incidents_incident CASCADE")


@pytest.fixture
def event(moderator) -> ModerationEvent:
    incident = IncidentFactory()
    services.incident_reject(incident_id=incident.pk, moderator=moderator, reason="a fake")
    return ModerationEvent.objects.get(incident=incident)


@pytest.mark.django_db
def test_the_model_refuses_to_change_or_delete_an_event(event):
    event.reason = "nothing happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert ModerationEvent.objects.get(pk=event.pk).reason == "a fake"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        lambda: ModerationEvent.objects.update(reason="nothing happened"),
        lambda: ModerationEvent.objects.all().delete(),
        lambda: connection.cursor().execute("UPDATE incidents_moderationevent SET reason = 'x'"),
        lambda: connection.cursor().execute("DELETE FROM incidents_moderationevent"),
        "truncate",
    ],
    ids=["queryset-update", "queryset-delete", "sql-update", "sql-delete", "sql-truncate"],
)
def test_the_database_refuses_to_change_or_delete_an_event(event, change):
    if change == "truncate":
        if connection.vendor != "postgresql":
            pytest.skip("SQLite has no TRUNCATE")
        change = truncate
    with pytest.raises(DatabaseError), transaction.atomic():
        change()
    assert ModerationEvent.objects.filter(pk=event.pk, reason="a fake").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_test_flush_still_empties_the_database_between_tests(event):
    # This test commits its event; the next test below must start from an empty table.
    assert ModerationEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_after_a_committed_event_the_table_is_empty_again():
    assert ModerationEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE trust_trustevent SET label = 'someone else'",
        "DELETE FROM trust_trustevent",
        "TRUNCATE trust_trustevent CASCADE",
    ],
    ids=["sql-update", "sql-delete", "sql-truncate"],
)
def test_the_database_refuses_to_change_or_delete_a_trust_event(moderator, statement):
    if statement.startswith("TRUNCATE") and connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    trust_services.enrol(label="T-9", actor=moderator)
    with pytest.raises(DatabaseError), transaction.atomic():
        connection.cursor().execute(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        TrustEvent.objects.update(label="someone else")
    assert list(TrustEvent.objects.values_list("label", flat=True)) == ["T-9"]


@pytest.mark.django_db(transaction=True)
def test_the_test_flush_empties_the_trust_log_too(moderator):
    trust_services.enrol(label="T-10", actor=moderator)
    assert TrustEvent.objects.count() == 1
