"""The Nominatim provider through geopy's real HTTP client, against a Nominatim-shaped server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.gis.geos import Point
from django.db import transaction
from geopy.exc import GeocoderServiceError, GeocoderTimedOut

from geo import geocoding
from geo.nominatim import NetworkInTransaction

ROOT = Path(__file__).resolve().parents[2]


def test_forward_geocoding_asks_search_in_nominatims_format(nominatim):
    point = geocoding.locate("alcabala en Maiquetía")
    assert point is not None and (round(point.x, 4), round(point.y, 4)) == (-66.9502, 10.6001)
    [request] = nominatim.requests
    assert request.path == "/search"
    assert request.query["q"] == "alcabala en Maiquetía"
    assert request.query["format"] == "json"
    assert request.query["bounded"] == "1"
    assert request.query["viewbox"] == "-73.4,0.6,-59.7,12.3"  # the deployment area
    assert request.user_agent == "alcabala-tests/1.0"


def test_reverse_geocoding_gives_road_place_and_state(nominatim):
    assert geocoding.describe(Point(-66.9502, 10.6001, srid=4326)) == "Avenida Soublette, Maiquetía, La Guaira"
    [request] = nominatim.requests
    assert request.path == "/reverse" and request.query["lat"] == "10.6001" and request.query["lon"] == "-66.9502"


def test_a_repeated_query_is_answered_from_the_cache(nominatim):
    first = geocoding.locate("Maiquetía")
    again = geocoding.locate("  MAIQUETIA ")  # the same text once folded
    assert first == again is not None
    assert geocoding.describe(Point(-66.95021, 10.60012, srid=4326)) == geocoding.describe(
        Point(-66.95019, 10.60009, srid=4326)  # the same point at 4 decimals
    )
    assert [r.path for r in nominatim.requests] == ["/search", "/reverse"]


def test_nothing_found_is_cached_too_and_places_nothing(nominatim):
    assert geocoding.locate("Ningunlugar") is None
    assert geocoding.locate("Ningunlugar") is None
    assert len(nominatim.requests) == 1


def test_a_result_outside_the_area_is_refused(nominatim):
    assert geocoding.locate("Madrid") is None  # bounded to the area's viewbox, and checked again here


def test_chain_falls_back_to_the_gazetteer_when_nominatim_finds_nothing(nominatim, settings):
    settings.GEOCODER = "chain"
    point = geocoding.locate("Ureña")  # the fake service knows no Ureña; the gazetteer does
    assert point is not None and round(point.x, 3) == -72.444
    assert [r.path for r in nominatim.requests] == ["/search"]


def test_network_errors_reach_the_caller_until_the_last_try(nominatim):
    nominatim.fail_next = 2
    with pytest.raises(GeocoderTimedOut):  # geopy reads 503 as "try later"
        geocoding.locate("Maiquetía")
    assert geocoding.fallback_count() == 0
    # The last try: the gazetteer answers, and the failure is counted.
    point = geocoding.locate("Maiquetía", fallback=True)
    assert point is not None and (round(point.x, 5), round(point.y, 5)) == (-66.95624, 10.5945)
    assert geocoding.fallback_count() == 1


def test_a_refused_connection_is_a_network_error(settings):
    settings.GEOCODER = "nominatim"
    settings.NOMINATIM_URL = "http://127.0.0.1:9/"  # discard port: nothing listens
    with pytest.raises(GeocoderServiceError):
        geocoding.describe(Point(-66.9, 10.5, srid=4326))
    assert geocoding.describe(Point(-66.956, 10.594, srid=4326), fallback=True) == "Maiquetía, La Guaira"


@pytest.mark.django_db
def test_no_network_call_inside_a_transaction(nominatim):
    with transaction.atomic(), pytest.raises(NetworkInTransaction):
        geocoding.locate("Petare")
    assert nominatim.requests == []


WORKER = """
import os, sys, time
import django
django.setup()
from geo.geocoding import locate
start_at, worker, count = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
time.sleep(max(0.0, start_at - time.time()))
for i in range(count):
    assert locate(f"lugar {worker} {i}") is not None
"""


def test_three_workers_at_once_never_exceed_the_configured_rate(fake_server, redis_server):
    rate, per_worker = 4, 5
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": django_settings.SECRET_KEY,
        "GEOCODER": "nominatim",
        "NOMINATIM_URL": fake_server.url,
        "NOMINATIM_RATE_PER_S": str(rate),
        "NOMINATIM_MAX_WAIT_S": "30",
    }
    start_at = time.time() + 3  # every process imported and ready, then all at once
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(start_at), name, str(per_worker)], cwd=ROOT, env=env)
        for name in ("a", "b", "c")
    ]
    try:
        assert [worker.wait(timeout=60) for worker in workers] == [0, 0, 0]
    finally:
        for worker in workers:
            worker.kill()
    arrivals = fake_server.arrivals("/search")
    assert len(arrivals) == 3 * per_worker
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    # Never two requests closer than 1/rate s, as the server saw them (to its clock's resolution).
    assert min(gaps) >= 1 / rate - 0.002, gaps
    for first in arrivals:
        assert sum(first <= t < first + 1 for t in arrivals) <= rate


def test_without_redis_no_request_is_sent(nominatim, settings):
    # The shared rate cannot be kept without Redis, so nothing is sent: a network error, retried later.
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    with pytest.raises(GeocoderServiceError):
        geocoding.locate("Petare")
    assert nominatim.requests == []


def test_chain_names_a_point_nominatim_cannot(nominatim, settings):
    settings.GEOCODER = "chain"
    assert geocoding.describe(Point(-72.4440, 7.9216, srid=4326)) == "Ureña, Táchira"
    assert [r.path for r in nominatim.requests] == ["/reverse"]  # "Unable to geocode" there


def test_nominatim_without_its_url_is_refused_at_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "GEOCODER": "nominatim"}
    env.pop("NOMINATIM_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "GEOCODER=nominatim needs NOMINATIM_URL" in result.stderr
