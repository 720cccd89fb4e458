"""POST /api/v1/route-check and GET /api/v1/places, on PostGIS and on SpatiaLite alike (issue 9)."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from geo.spatial import snap_lon_lat
from incidents.models import Status
from tests.factories import IncidentFactory, offset

pytestmark = pytest.mark.django_db

URL = "/api/v1/route-check"
# A stretch of road east of Caracas, far enough from anything else in these tests.
START = (-66.80, 10.45)


def at(east_m: float, north_m: float) -> tuple[float, float]:
    return offset(*START, east_m=east_m, north_m=north_m)


def line(*points: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def incident(east_m: float, north_m: float, **fields):
    return IncidentFactory(point=Point(*at(east_m, north_m), srid=4326), **fields)


def check(api, route, corridor_m=None, **extra):
    body = {"route": route}
    if corridor_m is not None:
        body["corridor_m"] = corridor_m
    return api.post(URL, json.dumps(body), content_type="application/json", **extra)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [f["id"] for f in response.json()["features"]]


def error(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail", "fields"} and body["detail"]
    return body


# --- what is found ---------------------------------------------------------------------------------------


def test_a_route_passing_200_m_from_a_checkpoint_lists_it_and_one_2_km_away_does_not(api):
    checkpoint = incident(5_000, 200)
    near = check(api, line(at(0, 0), at(10_000, 0)))
    assert ids(near) == [checkpoint.pk]
    props = near.json()["features"][0]["properties"]
    assert 160 <= props["distance_from_route_m"] <= 240  # from the public, snapped point (50 m grid)
    assert abs(props["distance_along_m"] - 5_000) <= 60
    assert near["Content-Type"] == "application/geo+json"

    far = check(api, line(at(0, -2_000), at(10_000, -2_000)))
    assert ids(far) == []
    assert far.json()["numberMatched"] == 0


def test_the_corridor_decides_what_is_near(api):
    checkpoint = incident(5_000, 700)
    route = line(at(0, 0), at(10_000, 0))
    assert ids(check(api, route)) == []  # default 300 m
    assert ids(check(api, route, corridor_m=1_000)) == [checkpoint.pk]


def test_the_order_follows_the_route_not_the_distance_from_the_start(api):
    # East 10 km, north 5 km, then back west: the second leg back passes close to the start.
    route = line(at(0, 0), at(10_000, 0), at(10_000, 5_000), at(0, 5_000))
    late = incident(1_000, 5_100)  # on the way back: 5.1 km from the start as the crow flies, 24 km along
    early = incident(9_000, -100)  # on the first leg: 9 km from the start and 9 km along
    middle = incident(10_050, 2_500, kind="roadblock")
    response = check(api, route)
    assert ids(response) == [early.pk, middle.pk, late.pk]
    along = [f["properties"]["distance_along_m"] for f in response.json()["features"]]
    assert along == sorted(along)
    assert abs(along[0] - 9_000) < 100
    assert abs(along[1] - 12_500) < 100
    assert abs(along[2] - 24_000) < 250
    assert abs(response.json()["length_m"] - 25_000) < 250


def test_each_feature_is_the_public_feature_with_the_two_distances(api):
    checkpoint = incident(3_000, 100, place="Petare <b>", note="Revisan maletas")
    feature = check(api, line(at(0, 0), at(6_000, 0))).json()["features"][0]
    public = api.get(f"/api/v1/incidents/{checkpoint.pk}").json()
    assert feature["geometry"] == public["geometry"]
    lon, lat = snap_lon_lat(*at(3_000, 100), 50)
    assert feature["geometry"]["coordinates"] == [lon, lat]
    extra = {"distance_along_m", "distance_from_route_m"}
    assert {k: v for k, v in feature["properties"].items() if k not in extra} == public["properties"]
    assert feature["properties"]["place"] == "Petare <b>"


def test_unpublished_ended_and_expired_incidents_are_not_listed(api):
    route = line(at(0, 0), at(10_000, 0))
    listed = incident(1_000, 0)
    verified_alone = incident(2_000, 0, reporters=1, verified_at=timezone.now(), status=Status.VERIFIED)
    incident(3_000, 0, reporters=1)  # one reporter, not verified: not public under the default policy
    past = timezone.now() - timedelta(minutes=1)
    incident(4_000, 0, expires_at=past)  # expired, though the job has not recorded it yet
    incident(5_000, 0, status=Status.CLEARED)
    incident(6_000, 0, status=Status.REJECTED)
    response = check(api, route)
    assert ids(response) == [listed.pk, verified_alone.pk]
    assert response.json()["numberMatched"] == 2


def test_kind_keeps_only_those_kinds(api):
    incident(1_000, 0, kind="checkpoint")
    roadblock = incident(2_000, 0, kind="roadblock")
    militia = incident(3_000, 0, kind="militia")
    body = json.dumps({"route": line(at(0, 0), at(4_000, 0))})
    response = api.post(f"{URL}?kind=roadblock,militia", body, content_type="application/json")
    assert ids(response) == [roadblock.pk, militia.pk]
    refused = api.post(f"{URL}?kind=tanque", body, content_type="application/json")
    assert error(refused)["error"] == "invalid_kind"


def test_limit_keeps_the_first_ones_along_the_route(api):
    first = incident(1_000, 0)
    incident(2_000, 0)
    response = api.post(
        f"{URL}?limit=1", json.dumps({"route": line(at(0, 0), at(3_000, 0))}), content_type="application/json"
    )
    assert ids(response) == [first.pk]
    assert response.json()["numberMatched"] == 2 and response.json()["numberReturned"] == 1


def test_qgis_feature_collections_and_multilines_are_accepted(api):
    checkpoint = incident(5_000, 100)
    collection = {
        "type": "FeatureCollection",
        "name": "ruta",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "inicio"},
                "geometry": {"type": "Point", "coordinates": list(at(0, 0))},
            },
            {
                "type": "Feature",
                "properties": {"fid": 1},
                "geometry": {
                    "type": "MultiLineString",
                    "coordinates": [[list(at(0, 0)), list(at(4_000, 0))], [list(at(4_000, 0)), list(at(8_000, 0))]],
                },
            },
        ],
    }
    raw = api.post(f"{URL}?corridor_m=250", json.dumps(collection), content_type="application/geo+json")
    assert ids(raw) == [checkpoint.pk]
    assert raw.json()["corridor_m"] == 250
    wrapped = check(api, collection["features"][1], corridor_m=250)
    assert ids(wrapped) == [checkpoint.pk]


# --- GPX from phone apps ---------------------------------------------------------------------------------


def osmand_gpx(points: list[tuple[float, float]]) -> str:
    """A track as OsmAnd writes it: GPX 1.1 with its own namespace, metadata, two segments and extensions."""
    half = len(points) // 2
    segments = []
    for part in (points[: half + 1], points[half:]):
        trkpts = "".join(
            f'\n      <trkpt lat="{lat:.7f}" lon="{lon:.7f}">\n        <ele>912.4</ele>\n'
            f"        <time>2026-11-27T06:{n % 60:02d}:00Z</time>\n        <hdop>3.8</hdop>\n"
            "        <extensions>\n          <osmand:speed>12.5</osmand:speed>\n"
            "          <osmand:heading>87</osmand:heading>\n        </extensions>\n      </trkpt>"
            for n, (lon, lat) in enumerate(part)
        )
        segments.append(f"\n    <trkseg>{trkpts}\n    </trkseg>")
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
        '<gpx version="1.1" creator="OsmAnd~ 4.8.6" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:osmand="https://osmand.net" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">\n'
        "  <metadata>\n    <name>Caracas - Guarenas</name>\n    <time>2026-11-27T06:00:00Z</time>\n  </metadata>\n"
        '  <wpt lat="10.4500000" lon="-66.8000000">\n    <name>Salida</name>\n  </wpt>\n'
        f"  <trk>\n    <name>Pista 2026-11-27</name>{''.join(segments)}\n  </trk>\n"
        "  <extensions>\n    <osmand:points_groups/>\n  </extensions>\n</gpx>\n"
    )


def test_a_gpx_track_from_a_phone_app_is_accepted(api):
    checkpoint = incident(6_000, 150)
    incident(6_000, 3_000)  # off the track
    track = [at(step * 100, 0) for step in range(121)]  # 12 km, a point every 100 m
    response = api.post(URL, osmand_gpx(track).encode(), content_type="application/gpx+xml")
    assert ids(response) == [checkpoint.pk]
    body = response.json()
    assert body["source_points"] == 122  # the point shared by the two segments comes twice
    assert "simplified_m" not in body
    assert len(body["route"]["coordinates"]) == 121


def test_gpx_studio_route_points_and_a_long_recorded_track(api):
    checkpoint = incident(20_000, -120)
    gpx_studio = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" creator="https://gpx.studio" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" '
        'xmlns:gpxx="http://www.garmin.com/xmlschemas/GpxExtensions/v3">\n'
        "<metadata><name>ruta</name><author><name>gpx.studio</name></author></metadata>\n<rte><name>ruta</name>"
        + "".join(f'<rtept lat="{lat}" lon="{lon}"><ele>900</ele></rtept>' for lon, lat in (at(0, 0), at(40_000, 0)))
        + "</rte>\n</gpx>"
    )
    assert ids(api.post(URL, gpx_studio, content_type="application/xml")) == [checkpoint.pk]

    # A phone's recording: a point a second over 40 km, wobbling a few metres; simplified to fit.
    track = [at(n * 8, 5 * math.sin(n / 7)) for n in range(5_001)]
    response = api.post(URL, osmand_gpx(track), content_type="application/gpx+xml")
    assert ids(response) == [checkpoint.pk]
    body = response.json()
    assert body["source_points"] == 5_002
    assert len(body["route"]["coordinates"]) <= 500
    assert 0 < body["simplified_m"] < 20


def test_gpx_text_inside_the_json_envelope_is_read_too(api):
    checkpoint = incident(600, 0)
    gpx = osmand_gpx([at(0, 0), at(1_000, 0), at(2_000, 0)])
    assert ids(check(api, gpx, corridor_m=100)) == [checkpoint.pk]


# --- clear refusals --------------------------------------------------------------------------------------


def test_a_route_across_the_world_is_answered_quickly(api):
    coordinates = [[-179.0 + (n % 2) * 358.0, -80.0 + n * 0.32] for n in range(500)]  # 500 legs of 358°
    response = check(api, {"type": "LineString", "coordinates": coordinates}, corridor_m=5_000)
    assert response.status_code == 200, response.content
    assert response.json()["length_m"] > 500 * 10_000_000


def test_a_line_with_10000_vertices_is_refused(api):
    coordinates = [list(at(n * 10, 0)) for n in range(10_000)]
    body = error(check(api, {"type": "LineString", "coordinates": coordinates}))
    assert body["error"] == "too_many_vertices"
    assert "10,000" in body["detail"] and "500" in body["detail"]
    assert "route" in body["fields"]


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        ('{"route": {"type": "LineString", "coordinates": [[-66.8, 10.45], [NaN, 10.46]]}}', "invalid_route", "NaN"),
        (
            '{"route": {"type": "LineString", "coordinates": [[-66.8, 10.45], [1e999, 10.46]]}}',
            "invalid_route",
            "finite",
        ),
        (
            '{"route": {"type": "LineString", "coordinates": [[-66.8, 10.45], [1' + "0" * 400 + ", 10.46]]}}",
            "invalid_route",
            "finite",
        ),
        (
            '{"route": {"type": "LineString", "coordinates": [[-66.8, 10.45], [10.46, -266.8]]}}',
            "invalid_route",
            "range",
        ),
        ('{"route": {"type": "LineString", "coordinates": [[-66.8, 10.45], ["-66.7", 10.46]]}}', "invalid_route", "2"),
        ('{"route": {"type": "LineString", "coordinates": [[-66.8, 10.45], [-66.7]]}}', "invalid_route", "2"),
        ('{"route": {"type": "LineString", "coordinates": [[-66.8, 10.45]]}}', "route_too_short", "two"),
        (
            '{"route": {"type": "LineString", "coordinates": [[-66.8, 10.45], [-66.8, 10.45]]}}',
            "route_too_short",
            "two",
        ),
        ('{"route": {"type": "Point", "coordinates": [-66.8, 10.45]}}', "invalid_route", "Point"),
        (
            '{"route": {"type": "Polygon", "coordinates": [[[-66.8, 10.45], [-66.7, 10.45], [-66.8, 10.45]]]}}',
            "invalid_route",
            "Polygon",
        ),
        ('{"route": {"type": "LineString", "coordinates": "-66.8,10.45"}}', "invalid_route", "positions"),
        ('{"route": 42}', "invalid_route", "LineString"),
        ('{"route": {"type": "LineString"', "invalid_json", "JSON"),
        # The body's media type is right: text that is no route is a bad value, not a bad media type.
        ('{"route": "not gpx at all"}', "invalid_route", "gpx"),
    ],
)
def test_broken_lines_get_a_clear_400(api, raw, code, words):
    response = api.post(URL, raw, content_type="application/json")
    body = error(response, 400)
    assert body["error"] == code
    assert words.lower() in body["detail"].lower()


@pytest.mark.parametrize("corridor", [0, 9, 5_001, "ancho", True, 10**400, None])
def test_a_corridor_out_of_bounds_is_refused(api, corridor):
    body = {"route": line(at(0, 0), at(1_000, 0)), "corridor_m": corridor}
    response = api.post(URL, json.dumps(body), content_type="application/json")
    if corridor is None:
        assert response.status_code == 200  # null means the default
        assert response.json()["corridor_m"] == 300
        return
    assert error(response)["fields"] == {"corridor_m": "corridor_m must be a number of metres from 10 to 5,000."}


@pytest.mark.parametrize(
    ("gpx", "words"),
    [
        ("<gpx><trk><trkseg><trkpt lat='10.4' lon='-66.8'></trkseg></trk></gpx>", "well-formed"),
        ("<kml><Document/></kml>", "not a GPX"),
        ("<gpx version='1.1'><wpt lat='10.4' lon='-66.8'/></gpx>", "no track"),
        (
            "<gpx><trk><trkseg><trkpt lat='10.4' lon='oeste'/><trkpt lat='10.5' lon='-66.8'/></trkseg></trk></gpx>",
            "Point 1",
        ),
        (
            "<gpx><trk><trkseg><trkpt lat='100.4' lon='-66.8'/><trkpt lat='10.5' lon='-66.8'/></trkseg></trk></gpx>",
            "range",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            "<gpx><trk><name>&lol2;</name></trk></gpx>",
            "DTD",
        ),
    ],
)
def test_broken_gpx_gets_a_clear_400(api, gpx, words):
    body = error(api.post(URL, gpx, content_type="application/gpx+xml"))
    assert body["error"] == "invalid_gpx"
    assert words.lower() in body["detail"].lower()


def test_an_empty_body_or_another_format_is_refused(api):
    assert error(api.post(URL, "", content_type="application/json"))["error"] == "no_route"
    assert (
        error(api.post(URL, "lat,lon\n10.4,-66.8", content_type="text/csv"), 415)["error"] == "unsupported_media_type"
    )


# --- place search ----------------------------------------------------------------------------------------


def test_places_by_name_for_the_start_and_end(api):
    response = api.get("/api/v1/places", {"q": "Maiquetia"})
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    first = response.json()["features"][0]
    assert first["properties"]["label"] == "Maiquetía, La Guaira"
    lon, lat = first["geometry"]["coordinates"]
    assert abs(lon - -66.97) < 0.05 and abs(lat - 10.6) < 0.05

    several = api.get("/api/v1/places", {"q": "san juan", "limit": 5}).json()["features"]
    assert len(several) == 5
    assert all("san juan" in f["properties"]["name"].lower() for f in several)

    typed = api.get("/api/v1/places", {"q": "10.48, -66.90"}).json()["features"]
    assert typed[0]["geometry"]["coordinates"] == [-66.9, 10.48]

    assert api.get("/api/v1/places", {"q": "<img src=x onerror=alert(1)>"}).json()["features"] == []
    assert api.get("/api/v1/places", {"q": "Valencia"}).json()["features"][0]["properties"]["state"] == "Carabobo"


@pytest.mark.parametrize(
    "query", [{}, {"q": "a"}, {"q": "x" * 101}, {"q": "Caracas", "limit": "0"}, {"q": "Caracas", "limit": "x"}]
)
def test_a_bad_place_search_is_a_400(api, query):
    assert error(api.get("/api/v1/places", query))["error"] in ("invalid_q", "invalid_limit")


def test_the_schema_documents_the_route_check_and_the_place_search(api):
    document = api.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    post = document["paths"]["/api/v1/route-check"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/geo+json", "application/gpx+xml"}
    feature = post["responses"]["200"]["content"]["application/geo+json"]["schema"]["properties"]["features"]["items"]
    assert "distance_along_m" in feature["properties"]["properties"]["required"]
    assert {p["name"] for p in document["paths"]["/api/v1/places"]["get"]["parameters"]} >= {"q", "limit"}


# --- whatever is sent, the answer is a 200 or a clear 4xx ---------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(["type", "coordinates", "geometry", "features", "x"]), children, max_size=4)
    ),
    max_leaves=30,
)
geojson_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["LineString", "MultiLineString", "Feature", "FeatureCollection", "Point"])},
    optional={"coordinates": json_values, "geometry": json_values, "features": json_values},
)


@examples(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=json_values | geojson_like, corridor=json_values)
def test_any_json_gets_a_200_or_a_clear_4xx(api, route, corridor):
    response = api.post(URL, json.dumps({"route": route, "corridor_m": corridor}), content_type="application/json")
    if response.status_code != 200:
        error(response, response.status_code)
        assert 400 <= response.status_code < 500


@examples(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.text(max_size=300).map(str.encode)
    | st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=4).map(
        lambda pts: (
            "<gpx><trk><trkseg>" + "".join(f'<trkpt lat="{a}" lon="{b}"/>' for a, b in pts) + "</trkseg></trk></gpx>"
        ).encode()
    ),
    media=st.sampled_from(["application/gpx+xml", "application/geo+json", "text/plain", "application/json"]),
)
def test_any_body_gets_a_200_or_a_clear_4xx(api, body, media):
    response = api.post(URL, body, content_type=media)
    if response.status_code != 200:
        error(response, response.status_code)
        assert 400 <= response.status_code < 500


def test_route_checks_and_place_searches_count_as_reads_of_the_network(api, settings, redis_server):
    settings.API_READ_RATE_ANON = [(3, 60)]
    route = line(at(0, 0), at(1_000, 0))
    assert check(api, route).status_code == 200
    assert api.get("/api/v1/places", {"q": "Caracas"}).status_code == 200
    assert api.get("/api/v1/incidents").status_code == 200
    refused = check(api, route)
    assert error(refused, 429)["error"] == "throttled" and int(refused["Retry-After"]) >= 1
    assert check(api, route, REMOTE_ADDR="198.51.100.9").status_code == 200  # another network
    keys = b" ".join(redis_server.client().keys("*"))
    assert b"127.0.0.1" not in keys and b"198.51.100.9" not in keys


def test_the_corridor_is_measured_from_the_public_snapped_point_not_the_true_one(api):
    # A true point 20 m south of a grid line: its public point is on the line, 20 m further from a route to the south.
    lat_step = 50 / 111_320
    grid_lat = round(START[1] / lat_step) * lat_step
    true = (START[0] + 0.03, grid_lat - 20 / 111_320)
    public_lon, public_lat = snap_lon_lat(*true, 50)
    assert abs(public_lat - grid_lat) < 1e-6
    checkpoint = IncidentFactory(point=Point(*true, srid=4326))
    route_lat = grid_lat - 310 / 111_320  # 290 m from the true point, 310 m from the public one
    route = line((START[0], route_lat), (START[0] + 0.06, route_lat))
    assert ids(check(api, route, corridor_m=300)) == []
    near = check(api, route, corridor_m=320)
    assert ids(near) == [checkpoint.pk]
    assert abs(near.json()["features"][0]["properties"]["distance_from_route_m"] - 310) <= 3
