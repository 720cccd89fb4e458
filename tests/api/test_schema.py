"""The OpenAPI document, its docs page under our CSP, and a bounded schemathesis run against a live server."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from consumers.services import api_key_create
from incidents import conf
from incidents.api import params
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


HERE = Path(__file__).resolve().parent


def test_the_fuzzers_cursors_are_the_ones_the_server_makes():
    """The hooks make cursors without Django; the server must read them as its own."""
    spec = importlib.util.spec_from_file_location("st_hooks", HERE / "schemathesis_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    assert params.parse_cursor(hooks._token("id", 1234)) == 1234
    assert params.parse_version_cursor(hooks._token("v", 99)) == 99
    assert hooks._token("id", 1234) == params.encode_cursor(1234)


def test_token_authentication_is_declared_where_a_key_is_needed_or_welcome(api):
    document = api.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert document["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": document["components"]["securitySchemes"]["tokenAuth"]["description"],
    }
    operations = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    assert operations["webhooks_create"]["security"] == [{"tokenAuth": []}]
    assert operations["exports_create"]["security"] == [{"tokenAuth": []}]
    assert operations["incidents_list"]["security"] == [{"tokenAuth": []}, {}]
    headers = [p for op in operations.values() for p in op.get("parameters", []) if p["in"] == "header"]
    assert not [p for p in headers if p["name"].lower() == "authorization"]
    listing = {p["name"]: p for p in operations["incidents_list"]["parameters"]}
    assert listing["limit"]["schema"]["minimum"] == 1 and listing["limit"]["schema"]["maximum"] == params.MAX_LIMIT
    assert listing["kind"]["schema"]["items"]["enum"] == list(conf.KINDS)
    assert listing["kind"]["explode"] is False


@pytest.mark.backend_independent  # the schema and the server's answers to it do not depend on the database
@pytest.mark.django_db(transaction=True)
def test_schemathesis_with_every_check_finds_nothing_off_the_schema(live_server, settings, tmp_path):
    settings.API_READ_RATE_ANON = []
    settings.API_READ_RATE_KEY = []
    settings.RATE_LIMIT_REPORTS_PER_NETWORK = []
    settings.RATE_LIMIT_REPORTS_PER_DEVICE = []
    settings.RATE_LIMIT_VOTES_PER_NETWORK = []
    settings.RATE_LIMIT_VOTES_PER_DEVICE = []
    settings.EXPORT_DIR = tmp_path / "exports"
    IncidentFactory.create_batch(3)
    _, key = api_key_create(name="schemathesis")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{live_server.url}/api/v1/schema",
        "--checks",
        "all",
        "--max-examples",
        "10",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20261127",
        "--generation-deterministic",
        "--request-timeout",
        "10",
        "--workers",
        "1",
        "-H",
        f"Authorization: Token {key}",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"), "NO_COLOR": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "17 selected" in result.stdout or "Selected: " in result.stdout


@pytest.mark.parametrize(("device", "valid"), [("phone-1", True), (" \f", False), ("a\x00b", False)])
def test_the_schema_and_the_server_agree_on_a_text_field_that_may_not_be_blank(api, device, valid):
    document = api.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    pattern = document["components"]["schemas"]["VoteInputRequest"]["properties"]["device"]["pattern"]
    assert (re.search(pattern.replace("\\u0000", "\\x00"), device) is not None) is valid
    incident = IncidentFactory()
    answer = api.post(f"/api/v1/incidents/{incident.pk}/votes", {"still_there": True, "device": device}, format="json")
    assert (answer.status_code == 201) is valid, answer.content
