from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Max
from django.utils import timezone

from geo.area import deployment_area_contains
from incidents import conf, selectors
from incidents.management.commands.seed_demo import SCENES
from incidents.models import Incident, ModerationEvent, Report, Status, Vote

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_puts_live_public_incidents_of_every_kind_inside_the_area():
    seed()

    public = list(selectors.incidents_public())
    assert {incident.kind for incident in public} == set(conf.KINDS)
    assert all(deployment_area_contains(incident.point) for incident in public)
    assert len(public) >= 20


def test_demo_corroborates_some_incidents_with_several_phones():
    seed()

    reporters = sorted(selectors.incidents_public().values_list("reporters", flat=True))
    assert reporters[-1] >= 3
    assert reporters.count(1) < len(reporters)


def test_demo_keeps_unverified_single_reports_off_the_public_map():
    seed()

    public = set(selectors.incidents_public().values_list("pk", flat=True))
    lonely = Incident.objects.filter(reporters=1, status=Status.UNVERIFIED, expires_at__gt=timezone.now())
    assert lonely.exists()
    assert not public & set(lonely.values_list("pk", flat=True))
    verified = Incident.objects.filter(status=Status.VERIFIED)
    assert verified.count() == 2
    assert set(verified.values_list("pk", flat=True)) <= public
    assert verified.filter(reporters=1).exists()


def test_demo_has_gone_votes_and_one_incident_cleared_by_them():
    seed()

    cleared = Incident.objects.get(status=Status.CLEARED)
    assert cleared.gone >= conf.gone_sources_to_clear()
    assert cleared.pk not in set(selectors.incidents_public().values_list("pk", flat=True))
    assert selectors.incidents_public().filter(gone__gte=1).exists()
    assert ModerationEvent.objects.filter(incident=cleared, action="clear").exists()


def test_each_scene_of_the_demo_is_an_incident_of_its_own():
    seed()

    assert Incident.objects.count() == len(SCENES)
    assert Report.objects.count() == sum(len(scene.sightings) for scene in SCENES)
    assert not Report.objects.exclude(state="processed").exists()


def test_running_the_demo_twice_adds_and_changes_nothing():
    first = seed()
    counts = [model.objects.count() for model in (Report, Incident, Vote, ModerationEvent)]
    version = Incident.objects.aggregate(top=Max("version"))["top"]

    second = seed()

    assert [model.objects.count() for model in (Report, Incident, Vote, ModerationEvent)] == counts
    assert Incident.objects.aggregate(top=Max("version"))["top"] == version
    assert f"{counts[0]} reports ({counts[0]} new)" in first
    assert f"{counts[0]} reports (0 new)" in second


def test_summary_is_one_line_with_the_counts_of_the_map():
    output = seed()

    public = selectors.incidents_public().count()
    assert output.count("\n") == 1
    assert f"{Report.objects.count()} reports" in output
    assert f"{Incident.objects.count()} incidents" in output
    assert f"{public} on the public map" in output


def test_the_demo_is_live_again_when_run_the_next_day():
    seed()
    first_public = set(selectors.incidents_public().values_list("pk", flat=True))
    reports = Report.objects.count()

    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert not selectors.incidents_public().exists()
        output = seed()
        public = set(selectors.incidents_public().values_list("pk", flat=True))

    assert Report.objects.count() == 2 * reports
    assert f"({reports} new)" in output
    assert len(public) == len(first_public)
    assert not public & first_public
