from __future__ import annotations

import io
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from moderation import conf, tasks
from tests.factories import IncidentFactory, ReportFactory

pytestmark = pytest.mark.django_db


def test_create_moderator_prints_an_enrolment_code_that_enrols_a_device_and_logs_in(client, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase 9\n"))
    out = io.StringIO()
    call_command("create_moderator", "luis", "--password-stdin", stdout=out)
    assert "otpauth://" not in out.getvalue()  # no device until the moderator enrols one
    code = out.getvalue().strip().splitlines()[-1]
    user = User.objects.get(username="luis")
    assert conf.is_moderator(user) and not user.is_staff
    assert not TOTPDevice.objects.filter(user=user).exists()
    form = {"username": "luis", "password": "a long passphrase 9", "code": code.lower()}
    started = client.post("/moderate/enrol", form)
    assert started.status_code == 303 and started["Location"] == "/moderate/setup"
    secret = client.get("/moderate/setup").content.decode().split('id="totp-secret">')[1].split("<")[0]
    done = client.post("/moderate/setup", {"otp_token": pyotp.TOTP(secret).now()})
    assert done.status_code == 302 and client.get("/moderate/").status_code == 200
    assert TOTPDevice.objects.get(user=user).confirmed


def test_create_moderator_again_keeps_the_password_and_kills_the_old_device(client, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase 9\n"))
    call_command("create_moderator", "luis", "--password-stdin", stdout=io.StringIO())
    user = User.objects.get(username="luis")
    TOTPDevice.objects.create(user=user, name="old phone", confirmed=True)
    out = io.StringIO()
    call_command("create_moderator", "luis", "--keep-password", stdout=out)
    assert User.objects.get(username="luis").check_password("a long passphrase 9")
    assert not TOTPDevice.objects.filter(user=user).exists()
    with pytest.raises(CommandError):
        call_command("create_moderator", "nobody", "--keep-password", stdout=io.StringIO())


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
