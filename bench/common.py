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


def loopback_address(block: int, n: int) -> str:
    """The n-th client address of loopback block `block`: 127.block.0.1, 127.block.1.1, ... then on into the
    next blocks, each in a /24 of its own. The service keys rate limits and sources on network groups (an
    IPv4 /24), so clients meant to be independent must not share one; Linux answers on all of 127.0.0.0/8."""
    if not 0 <= n < (256 - block) * 256:
        raise ValueError(f"no room for client {n} from block {block}")
    return f"127.{block + n // 256}.{n % 256}.1"


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


# For `manage.py shell -c`: `count` published incidents spread over the default area (Venezuela), as one
# bulk insert with their versions taken at once; `clear` first empties the table.
SEED_INCIDENTS = """
import random
from datetime import timedelta
from django.contrib.gis.geos import Point
from django.utils import timezone
from geo.spatial import snap_lon_lat
from incidents import services
from incidents.models import Incident, Status
if {clear}:
    Incident.objects.all().delete()
rng = random.Random({seed})
now = timezone.now()
total = {count}
top = services.next_versions(total)
kinds = ("checkpoint", "roadblock", "militia", "hazard")
rows = []
for n in range(total):
    lon, lat = snap_lon_lat(rng.uniform(-72.5, -61.0), rng.uniform(1.5, 11.8), 50)
    verified = n % 3 == 0
    rows.append(Incident(kind=kinds[n % 4], point=Point(lon, lat, srid=4326), place=f"Lugar {{n}}",
        status=Status.VERIFIED if verified else Status.UNVERIFIED, first_reported_at=now - timedelta(minutes=90),
        last_confirmed_at=now - timedelta(minutes=rng.randint(0, 60)), expires_at=now + timedelta(hours=6),
        reporters=2 + n % 5, sources=2 + n % 5, sources_confirming=2 + n % 5, confidence=rng.random(),
        verified_at=now if verified else None,
        version=top - total + 1 + n))
Incident.objects.bulk_create(rows, batch_size=2000)
"""


def seed_incidents(count: int, *, seed: int, clear: bool = False) -> str:
    """The shell script that loads `count` incidents (SEED_INCIDENTS)."""
    return SEED_INCIDENTS.format(count=count, seed=seed, clear=clear)


def postgis_versions() -> tuple[str, str]:
    """(PostgreSQL, PostGIS) versions of Django's database, for a bench's record."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT split_part(version(), ' ', 2), postgis_lib_version()")
        return cursor.fetchone()


def wait_for_redis(port: int, timeout_s: float = 10) -> None:
    import redis

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if redis.Redis(port=port, socket_connect_timeout=0.2).ping():
                return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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
        wait_for_redis(port)
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
