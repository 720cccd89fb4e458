from __future__ import annotations

import io
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from moderation import conf, tasks
from tests.factories import IncidentFactory, ReportFactory

pytestmark = pytest.mark.django_db


def test_create_moderator_prints_a_totp_uri_that_logs_in(client, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase 9\n"))
    out = io.StringIO()
    call_command("create_moderator", "luis", "--password-stdin", stdout=out)
    uri = next(line for line in out.getvalue().splitlines() if line.startswith("otpauth://"))
    user = User.objects.get(username="luis")
    assert conf.is_moderator(user) and not user.is_staff
    code = pyotp.parse_uri(uri).now()
    response = client.post(
        "/moderate/login", {"username": "luis", "password": "a long passphrase 9", "otp_token": code}
    )
    assert response.status_code == 302 and client.get("/moderate/").status_code == 200


def test_the_beat_schedule_runs_the_retention_job():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-retained"]
    assert entry["task"] == tasks.purge_retained.name == "moderation.purge_retained"


def test_the_retention_task_purges_after_retention_days(settings):
    settings.RETENTION_DAYS = 7
    incident = IncidentFactory(status="expired")
    report = ReportFactory(incident=incident, state="processed", description="plate ABC123", reporter_key="k")
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert tasks.purge_retained() == 0
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert tasks.purge_retained() == 1
        assert tasks.purge_retained() == 0  # safe to run twice
    report.refresh_from_db()
    assert report.description == "" and report.reporter_key is None
