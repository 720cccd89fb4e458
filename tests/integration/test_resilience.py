"""Faults that must lose nothing a reporter sent (architecture §4, §6): Redis stopped for a while under steady
submissions, PostgreSQL restarted under the production-like run, one task delivered twice."""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from incidents import services
from incidents.models import Counter, Incident, ModerationEvent, Report
from incidents.tasks import process_report
from tests.conftest import ROOT, free_port, wait_until
from tests.factories import CARACAS, offset
from tests.integration.test_worker import FAST_BEAT, MergeLock, post_report
from tests.prodlike import PrivatePostgres, ProdLike

pytestmark = pytest.mark.integration


# --- a database error is a 503, not a 500 -----------------------------------------------------------


@pytest.fixture
def database_down(monkeypatch):
    def refuse(**kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(services, "report_submit", refuse)


@pytest.mark.django_db
def test_a_submission_while_the_database_is_unreachable_gets_a_503_json_error_to_retry(database_down):
    response = post_report(APIClient(), *CARACAS, device="phone-1")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["error"] == "unavailable" and body["fields"] == {}
    assert "Try again" in body["detail"]


@pytest.mark.django_db
def test_the_report_form_while_the_database_is_unreachable_shows_a_page_in_spanish(client, database_down):
    data = {"client_id": str(uuid.uuid4()), "kind": "checkpoint", "lon": CARACAS[0], "lat": CARACAS[1], "when": "0"}
    response = client.post("/report", data, HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Inténtalo de nuevo en unos segundos" in response.content.decode()


# --- a real web server for the fault tests -----------------------------------------------------------


class Gunicorn:
    """gunicorn with 2 workers on loopback, with the test settings and the test database, as nginx would
    see it: `TRUSTED_PROXIES=127.0.0.1`, so each request names its client in X-Forwarded-For."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.env = {**env, "TRUSTED_PROXIES": "127.0.0.1"}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--no-control-socket",
                "--access-logfile",
                "-",
                "--access-logformat",
                '%(t)s "%(r)s" %(s)s %(L)ss',
            ],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: self.request("GET", "/healthz")[0] == 200 if self.alive() else self._died(), timeout=60)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _died(self):
        raise AssertionError(f"gunicorn exited:\n{self.log.read_text(errors='replace')[-3000:]}")

    def request(self, method: str, path: str, body: dict | None = None, client: str = "192.0.2.1", timeout=10):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "X-Forwarded-For": client},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw or b"{}")
            except ValueError:
                return error.code, {"raw": raw[:300].decode(errors="replace")}
        except OSError:
            return 0, {}

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def gunicorn(celery_env, tmp_path) -> Iterator[Callable[..., Gunicorn]]:
    started: list[Gunicorn] = []

    def start(**extra_env: str) -> Gunicorn:
        server = Gunicorn({**celery_env, **extra_env}, tmp_path / f"gunicorn-{len(started)}.log")
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@dataclass
class Sent:
    at: float  # seconds since the run began
    status: int
    body: dict
    elapsed: float


def report_body(n: int, rng: random.Random) -> dict:
    """One report at the same checkpoint (within 60 m of it) from its own phone."""
    lon, lat = offset(*CARACAS, east_m=rng.uniform(-60, 60), north_m=rng.uniform(-60, 60))
    return {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "device": f"phone-{n}-{uuid.uuid4().hex[:8]}",
    }


class SteadySender:
    """Sends `send(n)` every `interval` seconds from a thread pool, so that a slow answer never delays the
    next report; keeps every outcome."""

    def __init__(self, send: Callable[[int], tuple[int, dict]], interval: float):
        self.send = send
        self.interval = interval
        self.pool = ThreadPoolExecutor(max_workers=16)
        self.futures: list[Future] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.began = 0.0

    def _one(self, n: int) -> Sent:
        started = time.monotonic()
        status, body = self.send(n)
        return Sent(started - self.began, status, body, time.monotonic() - started)

    def _run(self) -> None:
        n = 0
        while not self.stop_event.is_set():
            self.futures.append(self.pool.submit(self._one, n))
            n += 1
            self.stop_event.wait(self.interval)

    def start(self) -> None:
        self.began = time.monotonic()
        self.thread.start()

    def finish(self) -> list[Sent]:
        self.stop_event.set()
        self.thread.join(10)
        self.pool.shutdown(wait=True)
        return [future.result() for future in self.futures]


# --- Redis stopped under load --------------------------------------------------------------------------

REDIS_DOWN_S = 12  # long enough for every retry and reconnection path to run; longer adds nothing but time


@pytest.mark.django_db(transaction=True)
def test_every_report_acknowledged_while_redis_is_stopped_is_processed_once_it_is_back(
    gunicorn, start_worker, start_beat, redis_server
):
    web = gunicorn()
    start_worker(**FAST_BEAT)
    start_beat(**FAST_BEAT)
    rng = random.Random(8)
    # Each report from its own network (an IPv6 /48), as through nginx: the rate limits see distinct clients.
    sender = SteadySender(
        lambda n: web.request("POST", "/api/v1/reports", report_body(n, rng), client=f"2001:db8:{n:x}::1"),
        interval=0.5,
    )
    reads: dict[str, set[int]] = {"/api/v1/incidents": set(), "/api/v1/incidents/changes": set(), "/readyz": set()}
    sender.start()
    try:
        time.sleep(4)
        redis_server.stop()
        down_at = time.monotonic() - sender.began
        try:
            deadline = time.monotonic() + REDIS_DOWN_S
            while time.monotonic() < deadline:
                for path, seen in reads.items():
                    seen.add(web.request("GET", path, client="192.0.2.9")[0])
                time.sleep(2)
        finally:
            redis_server.start()
        up_at = time.monotonic() - sender.began
        time.sleep(4)
    finally:
        sent = sender.finish()

    during = [s for s in sent if down_at <= s.at < up_at]
    assert len(during) >= REDIS_DOWN_S * 2 - 2, f"only {len(during)} reports were sent while Redis was down"
    refused = [(round(s.at, 1), s.status, s.body) for s in sent if s.status != 201]
    assert refused == [], f"every submission is acknowledged, Redis or not: {refused[:5]}"
    slowest = max(s.elapsed for s in during)
    assert slowest < 5, f"a submission took {slowest:.1f} s while Redis was down"
    # Reads that need Redis may degrade, but never into a server error; readiness says Redis is missing.
    assert reads["/readyz"] == {503}
    assert all(status < 500 for path in ("/api/v1/incidents", "/api/v1/incidents/changes") for status in reads[path]), (
        reads
    )

    ids = [s.body["id"] for s in sent]
    waiting = Report.objects.filter(pk__in=ids).exclude(state="processed")
    wait_until(lambda: not waiting.exists(), timeout=90, interval=0.5)
    time.sleep(2)  # a report swept and also delivered late must still count once
    incident = Incident.objects.get()
    assert incident.reporters == len(ids)
    assert set(map(str, incident.reports.values_list("pk", flat=True))) == set(ids)


# --- a task delivered twice --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_report_task_delivered_twice_to_two_workers_at_once_is_applied_once(start_worker):
    """Both deliveries are taken by two workers and block on the merge lock together; released at once,
    they race. One incident, one reporter, one map version, no second audit entry. (Under the open policy,
    so that the incident is public from its first report and its creation takes a version.)"""
    counter_before = Counter.objects.get_or_create(name=services.MAP_COUNTER)[0].value
    events_before = ModerationEvent.objects.count()
    # The API's own delivery, then the same message again (a redelivery after a lost acknowledgement).
    report_id = post_report(APIClient(), *CARACAS, device="phone-1").json()["id"]
    process_report.apply_async(args=[report_id])
    lock = MergeLock("checkpoint")
    lock.acquire()
    try:
        workers = [start_worker(PUBLISH_POLICY="open"), start_worker(PUBLISH_POLICY="open")]
        for worker in workers:
            worker.wait_for_log("incidents.process_report")
        if connection.vendor == "postgresql":
            wait_until(
                lambda: (
                    lock.handle.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    ).fetchone()[0]
                    == 2
                ),
                timeout=30,
            )
        else:
            time.sleep(2)  # both wait on BEGIN IMMEDIATE by now; SQLite has no lock table to look at
    finally:
        lock.release()
    for worker in workers:
        worker.wait_for_log("succeeded")
    report = Report.objects.get(pk=report_id)
    assert report.state == "processed"
    incident = Incident.objects.get()
    assert report.incident_id == incident.pk
    assert incident.reporters == 1
    counter_after = Counter.objects.get(name=services.MAP_COUNTER).value
    assert counter_after == counter_before + 1, "the map version moved once"
    assert incident.version == counter_after
    # Processing a report writes no audit entry today; a duplicate must not write one either.
    assert ModerationEvent.objects.count() == events_before


# --- PostgreSQL restarted under the production-like run ----------------------------------------------


def test_the_production_like_run_recovers_by_itself_when_postgresql_restarts_and_loses_no_report(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the production-like run uses PostGIS; this run of the suite is on SpatiaLite")
    server = PrivatePostgres()
    prod = ProdLike(
        tmp_path,
        env={
            "DATABASE_URL": server.url("alcabala_prod"),
            # The sweeper runs every second and takes reports older than 2 s, so the test waits seconds.
            "SWEEP_INTERVAL_S": "1",
            "SWEEP_MIN_AGE_S": "2",
            "GUNICORN_WORKERS": "2",
        },
    )
    rng = random.Random(15)
    try:
        server.init()
        server.start()
        prod.start()

        def send(n: int) -> tuple[int, dict]:
            try:
                source = f"127.1.{n % 250}.{n // 250 + 1}"  # a client in a network of its own, for the rate limits
                return prod.request("POST", "/api/v1/reports", report_body(n, rng), source=source, timeout=20)
            except OSError as exc:  # a hang or a dropped connection is a failure of its own
                return 0, {"error": exc.__class__.__name__}

        sender = SteadySender(send, interval=0.25)
        sender.start()
        try:
            time.sleep(3)
            down_at = time.monotonic() - sender.began
            server.stop("fast")
            time.sleep(4)
            server.start()
            up_at = time.monotonic() - sender.began
            time.sleep(6)
        finally:
            sent = sender.finish()

        statuses = sorted({s.status for s in sent})
        assert set(statuses) <= {201, 503}, [(round(s.at, 1), s.status, s.body) for s in sent if s.status != 201]
        unavailable = [s for s in sent if s.status == 503]
        assert unavailable, "no submission met the database down; the test proves nothing"
        assert all(s.body.get("error") == "unavailable" for s in unavailable)
        assert all(down_at - 1 <= s.at <= up_at + 2 for s in unavailable), "503s only around the restart"
        late = [s.status for s in sent if s.at > up_at + 2]
        assert late and set(late) == {201}, f"the web recovers without a restart: {late}"

        acknowledged = [s.body for s in sent if s.status == 201]
        # Asked through the web, each from the address that sent it (reads are rate-limited per network too).
        pending = {
            body["id"]: (body["status_url"].removeprefix(prod.url), f"127.1.{n % 250}.{n // 250 + 1}")
            for n, body in ((n, s.body) for n, s in enumerate(sent) if s.status == 201)
        }

        def all_processed() -> bool:
            for report_id, (path, source) in list(pending.items()):
                if prod.request("GET", path, source=source)[1].get("state") == "processed":
                    del pending[report_id]
            return not pending

        wait_until(all_processed, timeout=90, interval=1)
        features = prod.request("GET", "/api/v1/incidents")[1]["features"]
        assert len(features) == 1 and features[0]["properties"]["reporters"] == len(acknowledged)
    except BaseException:
        print(prod.logs(), file=sys.stderr)
        print(server.server_log(), file=sys.stderr)
        with contextlib.suppress(RuntimeError):  # the first failure is the one to see
            prod.stop()
        raise
    else:
        assert prod.stop() == 0, f"scripts/prodlike did not stop cleanly on SIGTERM:\n{prod.logs()}"
        # The clients wrote from 127.1.x.y; no log of nginx, gunicorn or Celery holds one of them (architecture §6.1).
        logs = {path.name: path.read_text(errors="replace") for path in (tmp_path / "files" / "log").glob("*.log")}
        assert "nginx-alcabala.access.log" in logs and '"POST /api/v1/reports' in logs["nginx-alcabala.access.log"]
        assert [name for name, text in logs.items() if "127.1." in text] == []
    finally:
        server.destroy()
