"""A route costs a bounded amount of work: GPX is refused while it is read once past its point or element
bound (413 `too_many_points`), long tracks are simplified in bounded pieces, and checks are counted as reads
before their body is read."""

from __future__ import annotations

import math

import pytest
from django.contrib.gis.geos import LineString, Point

from geo import route
from tests.factories import offset

pytestmark = pytest.mark.django_db

URL = "/api/v1/route-check"
START = (-66.80, 10.45)


def _gpx(points: list[tuple[float, float]], *, inside: str = "", after: str = "") -> bytes:
    trkpts = "".join(f'<trkpt lat="{lat:.6f}" lon="{lon:.6f}">{inside}</trkpt>\n' for lon, lat in points)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n{trkpts}{after}</trkseg></trk></gpx>\n'
    ).encode()


def _straightish(count: int) -> list[tuple[float, float]]:
    """A point every 8 m east, wobbling 5 m: where Douglas-Peucker costs time quadratic in its input."""
    return [offset(*START, east_m=8 * n, north_m=5 * math.sin(n / 7)) for n in range(count)]


def _refused(response) -> dict:
    assert response.status_code == 413, response.content[:300]
    body = response.json()
    assert body["error"] == "too_many_points" and set(body["fields"]) == {"route"}
    return body


def test_a_track_over_the_point_bound_is_refused_with_413(api):
    body = _refused(api.post(URL, _gpx(_straightish(route.MAX_GPX_POINTS + 1)), content_type="application/gpx+xml"))
    assert f"{route.MAX_GPX_POINTS:,}" in body["detail"]


def test_a_track_at_the_bound_is_simplified_and_stays_within_what_the_answer_says(api):
    track = _straightish(route.MAX_GPX_POINTS)
    response = api.post(URL, _gpx(track), content_type="application/gpx+xml")
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["source_points"] == route.MAX_GPX_POINTS
    checked = body["route"]["coordinates"]
    assert 2 <= len(checked) <= route.MAX_VERTICES and 0 < body["simplified_m"] < 20
    # Every recorded point is within simplified_m of the line checked (measured in local metres).
    scale = math.cos(math.radians(START[1])) * 111_320
    local = LineString([(lon * scale, lat * 111_320) for lon, lat in checked])
    worst = max(local.distance(Point(lon * scale, lat * 111_320)) for lon, lat in track[::7])
    assert worst <= body["simplified_m"] + 0.5


def test_the_big_track_of_the_report_is_refused_while_it_is_read(api):
    # 100,000 points (3.7 MB), then a broken tag: reading to the end would answer "not well-formed".
    trkpts = "".join(f'<trkpt lat="10.45" lon="{-66.8 + n * 3e-5:.5f}"/>' for n in range(100_000))
    data = f"<gpx version='1.1'><trk><trkseg>{trkpts}<trkpt lat='10.4' lon='-66.8'></trkseg></trk></gpx>".encode()
    assert 3_500_000 < len(data) < 4 * 1024 * 1024
    _refused(api.post(URL, data, content_type="application/gpx+xml"))


def test_a_file_of_many_elements_and_few_points_is_refused_with_413(api):
    junk = "<extensions/>" * (route.MAX_GPX_ELEMENTS // 2)
    _refused(api.post(URL, _gpx([START, offset(*START, east_m=900)], inside=junk), content_type="application/gpx+xml"))


def test_a_route_body_is_counted_as_a_read_before_it_is_read(api, settings, redis_server):
    settings.API_READ_RATE_ANON = [(1, 60)]
    broken = b"<gpx><trk><trkseg><trkpt lat='10.4' lon='-66.8'></trkseg></trk></gpx>"
    assert api.post(URL, broken, content_type="application/gpx+xml").status_code == 400
    refused = api.post(URL, broken, content_type="application/gpx+xml")
    assert refused.status_code == 429 and refused.json()["error"] == "throttled"
