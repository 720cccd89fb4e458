"""The README's first command, run from a fresh clone as a newcomer would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.backend_independent]  # runs with the embedded defaults


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_scripts_run_from_a_clean_clone_serves_the_api_with_a_worker_and_stops_on_ctrl_c(tmp_path: Path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "VAR_DIR", "SECRET_KEY"}
        and not key.startswith("PYTEST")
    }
    # Reuse this run's virtualenv: the point here is the script's own set-up, not pip's download speed.
    # Two people on two networks make an incident public: they speak through a trusted proxy, as behind nginx.
    env.update(PORT=str(port), HOST="127.0.0.1", VENV=sys.prefix, TRUSTED_PROXIES="127.0.0.1")
    log = open(tmp_path / "run.log", "wb")
    process = subprocess.Popen(
        ["bash", "scripts/run"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # As from a terminal: a runner started in the background may have SIGINT ignored, and bash cannot
        # trap a signal that was ignored when it started.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy():
            if process.poll() is not None:
                raise AssertionError((tmp_path / "run.log").read_text(errors="replace")[-4000:])
            try:
                return http("GET", f"{base}/healthz")[0] == 200
            except OSError:
                return False

        wait_until(healthy, timeout=240, interval=0.5)
        assert http("GET", f"{base}/readyz") == (200, {"status": "ok", "checks": {"database": "ok", "redis": "ok"}})
        assert (clone / "var" / "alcabala.sqlite3").exists()

        for n, (east, client) in enumerate(((0.0, "198.51.100.7"), (0.0005, "203.0.113.7"))):
            status, body = http(
                "POST",
                f"{base}/api/v1/reports",
                {
                    "client_id": str(uuid.uuid4()),
                    "kind": "roadblock",
                    "location": {"type": "Point", "coordinates": [-66.9036 + east, 10.4806]},
                    "device": f"phone-{n}",
                },
                {"X-Forwarded-For": client},
            )
            assert status == 201, body

        def one_public_incident():
            features = http("GET", f"{base}/api/v1/incidents")[1]["features"]
            return len(features) == 1 and features[0]["properties"]["reporters"] == 2

        wait_until(one_public_incident, timeout=60, interval=0.5)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                exit_code = process.wait(60)
            except subprocess.TimeoutExpired:
                tree = subprocess.run(["ps", "-eo", "pid,ppid,stat,etime,args"], capture_output=True, text=True).stdout
                os.killpg(process.pid, signal.SIGKILL)
                log.close()
                output = (tmp_path / "run.log").read_text(errors="replace")[-4000:]
                raise AssertionError(f"scripts/run did not stop within 60 s of Ctrl-C:\n{output}\n{tree}") from None
        else:
            exit_code = process.returncode
        log.close()
    output = (tmp_path / "run.log").read_text(errors="replace")
    assert exit_code == 0, output[-4000:]
    time.sleep(0.5)
    assert not port_open(port), "the web server outlived Ctrl-C"
    leftovers = subprocess.run(["pgrep", "-af", str(clone)], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", leftovers
    access_lines = [line for line in output.splitlines() if '"POST /api/v1/reports' in line]
    assert len(access_lines) == 2, output[-4000:]
    assert not any("127.0.0.1" in line for line in access_lines), access_lines  # no client address logged
