"""What the in-process benches share: a PostGIS database of their own, a private redis-server, Django set up."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    host, port, user = parsed.hostname or "127.0.0.1", parsed.port or 5432, parsed.username or "postgres"
    admin = f"host={host} port={port} user={user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def median_ms(function: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def in_process_django(database_url: str, name: str) -> Iterator[None]:
    """The app's settings for in-process requests, on `database_url` (created if missing) and a private Redis."""
    ensure_database(database_url)
    workdir = Path(tempfile.mkdtemp(prefix=f"alcabala-bench-{name}-"))
    port = free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=database_url,
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
            API_READ_RATE_ANON="off",
            ALLOWED_HOSTS="testserver",
        )
        sys.path.insert(0, str(ROOT))
        yield
    finally:
        redis.terminate()
        redis.wait(10)
