"""Reports linked to trusted reporters, and moderators' rejections counted once per incident and reporter."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from moderation import services as moderation_services
from tests.factories import IncidentFactory, ReportFactory
from trust import services
from trust.models import TrustedReport, TrustedReporter, TrustEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter(enrolled) -> TrustedReporter:
    _enrolment, code = enrolled
    found = services.trusted_reporter(services.redeem(code=code))
    assert found is not None
    return found


def test_a_report_is_linked_once_and_counted_on_its_reporter(reporter):
    report = ReportFactory()
    first = services.report_mark(report_id=report.pk, reporter=reporter)
    again = services.report_mark(report_id=str(report.pk), reporter=reporter)  # a task run twice
    assert first.pk == again.pk and first.report_id == report.pk
    assert TrustedReporter.objects.get().reports == 1
    services.report_mark(report_id=ReportFactory().pk, reporter=reporter)
    assert TrustedReporter.objects.get().reports == 2


def test_a_rejection_counts_once_per_incident_however_many_reports_and_calls(reporter, moderator):
    rejected, other = IncidentFactory(), IncidentFactory()
    mine = [ReportFactory(incident=rejected), ReportFactory(incident=rejected)]
    someone_elses = ReportFactory(incident=rejected)
    for report in mine:
        services.report_mark(report_id=report.pk, reporter=reporter)
    ids = [report.pk for report in [*mine, someone_elses]]

    assert services.rejections_record(report_ids=ids, actor=moderator) == 1
    assert services.rejections_record(report_ids=ids, actor=moderator) == 0  # the same rejection again
    assert TrustedReporter.objects.get().rejections == 1

    later = ReportFactory(incident=other)
    services.report_mark(report_id=later.pk, reporter=reporter)
    assert services.rejections_record(report_ids=[later.pk], actor=moderator) == 1
    assert TrustedReporter.objects.get().rejections == 2
    counted = TrustEvent.objects.filter(action="rejection_counted").order_by("id")
    assert [(event.incident_id, event.actor) for event in counted] == [(rejected.pk, moderator), (other.pk, moderator)]


def test_rejecting_reports_of_nobody_trusted_counts_nothing(reporter, moderator):
    incident = IncidentFactory()
    ids = [ReportFactory(incident=incident).pk, ReportFactory().pk]
    assert services.rejections_record(report_ids=ids, actor=moderator) == 0
    assert services.rejections_record(report_ids=[], actor=moderator) == 0
    assert TrustedReporter.objects.get().rejections == 0
    assert not TrustEvent.objects.filter(action="rejection_counted").exists()


def test_a_report_without_an_incident_is_not_a_rejection(reporter, moderator):
    unplaced = ReportFactory()
    services.report_mark(report_id=unplaced.pk, reporter=reporter)
    assert services.rejections_record(report_ids=[unplaced.pk], actor=moderator) == 0


def test_a_reports_deletion_takes_its_link_but_not_the_reporter(reporter):
    report = ReportFactory()
    services.report_mark(report_id=report.pk, reporter=reporter)
    report.delete()
    assert not TrustedReport.objects.exists()
    assert TrustedReporter.objects.get().reports == 1


def test_retention_takes_the_link_to_the_trusted_reporter_with_the_reports_raw_data(reporter, moderator):
    ended, live = IncidentFactory(), IncidentFactory(expires_at=timezone.now() + timedelta(days=90))
    old, recent = ReportFactory(incident=ended, state="processed"), ReportFactory(incident=live, state="processed")
    for report in (old, recent):
        services.report_mark(report_id=report.pk, reporter=reporter)
    moderation_services.incident_clear(incident_id=ended.pk, moderator=moderator)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert moderation_services.reports_purge_retained() == 1
    assert list(TrustedReport.objects.values_list("report_id", flat=True)) == [recent.pk]
    assert TrustedReporter.objects.get().reports == 2  # the count stays; which reports it sent does not
