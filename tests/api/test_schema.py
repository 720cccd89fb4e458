"""The OpenAPI document, its docs page under our CSP, and a bounded schemathesis run against a live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_and_describes_the_public_api(api):
    response = api.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = set(document["paths"])
    assert {
        "/api/v1/incidents",
        "/api/v1/incidents/changes",
        "/api/v1/reports",
        "/api/v1/incidents/{incident_id}",
    } <= paths
    assert all(path.startswith("/api/v1/") for path in paths)
    changes = document["paths"]["/api/v1/incidents/changes"]["get"]
    assert {p["name"] for p in changes["parameters"]} >= {"since", "limit", "If-None-Match"}


def test_the_docs_page_runs_no_inline_script_and_loads_its_assets_from_us(api):
    page = api.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    csp = page["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "script-src 'self'" in csp
    assert re.search(r"<script>(?!</script>)", html) is None  # every script has a src
    assert "<style" not in html and " style=" not in html
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith("/") for src in sources), sources
    for src in sources:
        asset = api.get(src)
        assert asset.status_code == 200, src
    init = [src for src in sources if "script" in src and "static" not in src]
    assert init, "the start-up script is a separate request"
    script = api.get(init[0])
    assert script["Content-Type"].startswith("application/javascript")
    assert b"/api/v1/schema" in script.content


@pytest.mark.backend_independent  # the schema and the server's answers to it do not depend on the database
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(live_server, settings, tmp_path):
    settings.API_READ_RATE_ANON = []
    settings.RATE_LIMIT_REPORTS_PER_NETWORK = []
    settings.RATE_LIMIT_REPORTS_PER_DEVICE = []
    settings.RATE_LIMIT_VOTES_PER_NETWORK = []
    settings.RATE_LIMIT_VOTES_PER_DEVICE = []
    IncidentFactory.create_batch(3)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{live_server.url}/api/v1/schema",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--max-examples",
        "25",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20261127",
        "--generation-deterministic",
        "--request-timeout",
        "10",
        "--workers",
        "1",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
