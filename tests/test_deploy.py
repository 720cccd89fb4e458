"""The deploy/ files as an operator runs them: production settings pass Django's deployment check."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def production_env(**extra: str) -> dict[str, str]:
    # Without what the test process itself sets (the browser tests allow Django's ORM beside Playwright's loop).
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO_ALLOW_ASYNC_UNSAFE", "PW_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="map.example.org",
        DATABASE_URL="",
        **extra,
    )
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_gunicorn_config_loads_and_logs_no_client_address():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--check-config",
            "-c",
            "deploy/gunicorn.conf.py",
            "config.wsgi:application",
        ],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    import runpy

    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert "%(h)s" not in config["access_log_format"] and "{x-forwarded-for}" not in config["access_log_format"]
    assert config["workers"] >= 2


def test_the_nginx_site_logs_no_client_address_and_keeps_bodies_in_memory():
    site = (ROOT / "deploy" / "nginx" / "alcabala.conf").read_text()
    log_format = site.split("log_format alcabala", 1)[1].split(";", 1)[0]
    assert "$remote_addr" not in log_format and "forwarded" not in log_format.lower()
    assert "client_body_buffer_size 10m" in site and "client_max_body_size 10m" in site
    assert "internal;" in site.split("location /_private/", 1)[1].split("}", 1)[0]


def test_there_is_exactly_one_beat_unit():
    units = sorted(path.name for path in (ROOT / "deploy" / "systemd").glob("*.service"))
    assert units == ["alcabala-beat.service", "alcabala-web.service", "alcabala-worker.service"]
    beat = (ROOT / "deploy" / "systemd" / "alcabala-beat.service").read_text()
    assert "celery -A config beat" in beat
