from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private redis-server on loopback that a test may stop and start again on the same port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=open(self.workdir / "redis.log", "ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the test redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    previous = settings.REDIS_URL, settings.CELERY_BROKER_URL
    settings.REDIS_URL = settings.CELERY_BROKER_URL = server.url
    celery_app.conf.broker_url = server.url
    try:
        yield server
    finally:
        settings.REDIS_URL, settings.CELERY_BROKER_URL = previous
        server.stop()


@pytest.fixture(autouse=True)
def _private_redis(redis_server: RedisServer) -> RedisServer:
    """Every test talks to the suite's own Redis, never the machine's shared one, and finds it empty:
    one test's rate-limit counts must not throttle the next."""
    redis_server.client().flushdb()
    return redis_server


def database_url_for_children() -> str:
    """The URL of the database the tests use right now, for processes that a test starts."""
    data = connection.settings_dict
    if connection.vendor == "postgresql":
        user = data.get("USER") or "postgres"
        password = f":{data['PASSWORD']}" if data.get("PASSWORD") else ""
        host = data.get("HOST") or "127.0.0.1"
        port = data.get("PORT") or "5432"
        return f"postgis://{user}{password}@{host}:{port}/{data['NAME']}"
    return f"spatialite:///{data['NAME']}"


class CeleryProcess:
    """A real Celery worker or beat in its own process group, so that a test can SIGKILL it."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.args = args
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, ready_text: str | None = "ready.") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if ready_text:
            self.wait_for_log(ready_text, timeout=60)

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"celery exited early:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"celery never logged {text!r}:\n{self.log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_env(redis_server: RedisServer, transactional_db) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url_for_children(),
        REDIS_URL=redis_server.url,
        SECRET_KEY=settings.SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    redis_server.client().flushdb()
    return env


@pytest.fixture
def start_worker(celery_env, tmp_path) -> Iterator:
    started: list[CeleryProcess] = []

    def start(**extra_env: str) -> CeleryProcess:
        name = f"test-{uuid.uuid4().hex[:8]}@%h"
        worker = CeleryProcess(
            [
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=INFO",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env={**celery_env, **extra_env},
            log=tmp_path / f"worker-{len(started)}.log",
        )
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def start_beat(celery_env, tmp_path) -> Iterator:
    started: list[CeleryProcess] = []

    def start(**extra_env: str) -> CeleryProcess:
        beat = CeleryProcess(
            ["beat", "--loglevel=INFO", "--schedule", str(tmp_path / f"beat-{len(started)}")],
            env={**celery_env, **extra_env},
            log=tmp_path / f"beat-{len(started)}.log",
        )
        started.append(beat)
        beat.start(ready_text="beat: Starting")
        return beat

    yield start
    for beat in started:
        beat.stop()


def wait_until(predicate, timeout: float = 30, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def pytest_collection_modifyitems(config, items):
    """scripts/test runs pytest once per database backend; a test marked `backend_independent` (it never reaches
    the database under test, or runs the app with its embedded defaults whatever DATABASE_URL says) runs in the
    first of those runs only. ALC_BACKEND_INDEPENDENT_DONE names the run that already ran them."""
    done = os.environ.get("ALC_BACKEND_INDEPENDENT_DONE")
    if not done:
        return
    skip = pytest.mark.skip(reason=f"backend-independent: it ran in the {done} run")
    for item in items:
        if item.get_closest_marker("backend_independent"):
            item.add_marker(skip)


LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


@pytest.fixture(autouse=True, scope="session")
def no_name_lookups_beyond_loopback():
    """Tests talk to loopback only: in this process a host name other than localhost is answered "unknown"
    without asking the machine's resolver, so that a generated URL (schemathesis's webhooks) sends no DNS
    query anywhere. Numeric hosts are read by getaddrinfo itself, without a query, and pass through."""
    import ipaddress

    real = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name.lower().rstrip(".") in LOOPBACK_NAMES:
            return real(host, *args, **kwargs)
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (tests resolve no names)") from None
        return real(host, *args, **kwargs)

    patcher = pytest.MonkeyPatch()
    patcher.setattr(socket, "getaddrinfo", lookup)
    yield
    patcher.undo()
