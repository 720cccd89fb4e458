"""/ogc/: queryables, filters (query parameters and CQL2 text), sortby, properties, datetime, extents and the
OpenAPI document, through the HTTP interface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
import yaml
from django.urls import get_resolver
from django.utils import timezone

from geo.spatial import floor_time, snap_lon_lat
from incidents import conf
from tests.factories import CARACAS, IncidentFactory, offset

pytestmark = pytest.mark.django_db
ITEMS = "/ogc/collections/incidents/items"


def ids(api, **query) -> list[int]:
    response = api.get(ITEMS, query)
    assert response.status_code == 200, response.content
    return [f["id"] for f in response.json()["features"]]


def refused(api, path: str = ITEMS, **query) -> dict:
    response = api.get(path, query)
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}
    return body


def step_start(minutes_ago: int) -> datetime:
    """A public time step's first instant, some minutes back."""
    return floor_time(timezone.now() - timedelta(minutes=minutes_ago), conf.public_time_step_s())


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def mixed():
    """Four live incidents of different kinds, counts and states."""
    return {
        "checkpoint": IncidentFactory(kind="checkpoint", reporters=2, place="La Guaira"),
        "roadblock": IncidentFactory(kind="roadblock", reporters=5, place="Petare", verified_at=timezone.now()),
        "hazard": IncidentFactory(kind="hazard", reporters=3, place="O'Leary", confidence=0.75),
        "militia": IncidentFactory(kind="militia", reporters=4, place="Petare", note="visto"),
    }


def test_queryables_are_a_json_schema_of_the_public_properties(api):
    response = api.get("/ogc/collections/incidents/queryables")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    body = response.json()
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert body["$id"] == "http://testserver/ogc/collections/incidents/queryables"
    assert body["type"] == "object"
    assert body["properties"]["kind"]["enum"] == list(conf.KINDS)
    assert body["properties"]["first_reported_at"]["format"] == "date-time"
    assert body["properties"]["reporters"]["type"] == "integer"
    assert "flags" not in body["properties"]  # an array: not a queryable
    collection = api.get("/ogc/collections/incidents").json()
    rels = {link["rel"]: link for link in collection["links"]}
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/queryables"]["href"].endswith("/queryables")


def test_queryables_as_parameters_are_equality_filters(api, mixed):
    assert ids(api, kind="checkpoint") == [mixed["checkpoint"].pk]
    assert ids(api, place="Petare") == [mixed["roadblock"].pk, mixed["militia"].pk]
    assert ids(api, place="Petare", kind="militia") == [mixed["militia"].pk]
    assert ids(api, reporters="3") == [mixed["hazard"].pk]
    assert ids(api, verified="true") == [mixed["roadblock"].pk]
    assert ids(api, status="unverified", verified="false") == [mixed[k].pk for k in ("checkpoint", "hazard", "militia")]
    assert "kind" in refused(api, kind="tank")["fields"]
    assert "reporters" in refused(api, reporters="many")["fields"]
    assert "verified" in refused(api, verified="yes")["fields"]


def test_cql2_text_filters_combine_comparisons(api, mixed):
    def filtered(text: str) -> list[int]:
        return ids(api, filter=text, **{"filter-lang": "cql2-text"})

    pk = {k: v.pk for k, v in mixed.items()}
    assert filtered("kind = 'checkpoint'") == [pk["checkpoint"]]
    assert filtered("reporters >= 4") == [pk["roadblock"], pk["militia"]]
    assert filtered("reporters > 2 AND reporters < 5") == [pk["hazard"], pk["militia"]]
    assert filtered("kind = 'hazard' or (place = 'Petare' and not verified = true)") == [pk["hazard"], pk["militia"]]
    assert filtered("NOT (kind <> 'roadblock')") == [pk["roadblock"]]
    assert filtered("place = 'O''Leary'") == [pk["hazard"]]
    assert filtered("\"note\" = 'visto'") == [pk["militia"]]
    assert filtered("3 < reporters") == [pk["roadblock"], pk["militia"]]  # the literal first: turned round
    assert filtered("confidence >= 0.75") == [pk["hazard"]]
    assert filtered("verified = FALSE AND status = 'unverified' AND kind = 'checkpoint'") == [pk["checkpoint"]]
    # Strings compare too: closed sets by code point, text in the database's collation.
    assert filtered("kind < 'hazard'") == [pk["checkpoint"]]
    assert filtered("kind >= 'militia'") == [pk["roadblock"], pk["militia"]]
    assert filtered("status <= 'unverified' AND status > 'rejected'") == list(pk.values())
    assert filtered("place >= 'P'") == [pk["roadblock"], pk["militia"]]
    assert filtered("note IS NULL") == []
    assert len(filtered("note IS NOT NULL")) == 4
    assert filtered("NOT note IS NOT NULL") == []
    # A query parameter and the filter hold together.
    assert ids(api, filter="reporters >= 3", place="Petare") == [pk["roadblock"], pk["militia"]]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("place LIKE 'Pet%'", "LIKE"),
        ("reporters BETWEEN 1 AND 3", "BETWEEN"),
        ("kind IN ('checkpoint', 'hazard')", "IN"),
        ("S_INTERSECTS(geometry, POINT(-66.9 10.5))", "S_INTERSECTS"),
        ("T_AFTER(updated_at, TIMESTAMP('2026-01-01T00:00:00Z'))", "T_AFTER"),
        ("CASEI(place) = 'petare'", "CASEI"),
        ("upper(place) = 'PETARE'", "functions"),
        ("reporters + 1 > 2", "arithmetic"),
        ("reporters = gone", "one queryable and one literal"),
        ("colour = 'red'", "not a queryable"),
        ("verified > FALSE", "only be compared with = or <>"),
        ("kind < 'm'", "not 'm'"),
        ("reporters = 'two'", "a number"),
        ("kind = 'tank'", "not 'tank'"),
        ("first_reported_at > 3", "a time"),
        ("kind = 'checkpoint' AND", "ends too early"),
        ("(kind = 'checkpoint'", "ends too early"),
        ("kind = 'checkpoint')", "unexpected ')'"),
        ("kind == 'checkpoint'", "expected a queryable or a literal"),
        ("", "empty"),
        ("(" * 30 + "kind = 'hazard'" + ")" * 30, "levels deep"),
        (" OR ".join(["reporters = 1"] * 60), "more than 50"),
    ],
)
def test_what_the_filter_does_not_support_is_a_400_naming_it(api, text, named):
    body = refused(api, filter=text)
    assert body["error"] == "invalid_filter"
    assert named in body["detail"], body["detail"]


def test_only_cql2_text_is_read(api):
    assert refused(api, filter="kind = 'hazard'", **{"filter-lang": "cql2-json"})["error"] == "invalid_filter_lang"
    assert "filter-crs" in refused(api, **{"filter-crs": "EPSG:4326"})["fields"]


def test_time_comparisons_judge_the_public_floored_time(api):
    step = conf.public_time_step_s()
    start = step_start(60)
    early = IncidentFactory(first_reported_at=start + timedelta(seconds=step - 30))
    late = IncidentFactory(first_reported_at=start + timedelta(seconds=30))
    both = [early.pk, late.pk]
    inside = iso(start + timedelta(seconds=step // 2))

    def filtered(text: str) -> list[int]:
        return ids(api, filter=text)

    # Both read first_reported_at = start: no bound inside the step tells them apart.
    assert filtered(f"first_reported_at = TIMESTAMP('{iso(start)}')") == both
    assert filtered(f"first_reported_at > TIMESTAMP('{inside}')") == []
    assert filtered(f"first_reported_at < TIMESTAMP('{inside}')") == both
    assert filtered(f"first_reported_at < TIMESTAMP('{iso(start)}')") == []
    assert filtered(f"first_reported_at <= TIMESTAMP('{iso(start)}')") == both
    assert filtered(f"first_reported_at >= TIMESTAMP('{iso(start)}')") == both
    assert filtered(f"first_reported_at = TIMESTAMP('{inside}')") == []
    assert filtered(f"first_reported_at <> TIMESTAMP('{iso(start)}')") == []
    day = start.strftime("%Y-%m-%d")
    assert filtered(f"first_reported_at = DATE('{day}')") == both
    assert filtered(f"first_reported_at > DATE('{day}')") == []
    assert ids(api, first_reported_at=iso(start)) == both
    assert ids(api, first_reported_at=day) == both
    # Sorted by the public time, ties by id: the exact order (late first) is not given away.
    assert ids(api, sortby="first_reported_at") == both
    assert ids(api, sortby="-first_reported_at") == both
    assert "first_reported_at" in refused(api, first_reported_at="soon")["fields"]


def test_sortby_orders_by_public_values_then_id(api, mixed):
    pk = {k: v.pk for k, v in mixed.items()}
    assert ids(api, sortby="-reporters") == [pk[k] for k in ("roadblock", "militia", "hazard", "checkpoint")]
    assert ids(api, sortby="+kind") == [pk[k] for k in ("checkpoint", "hazard", "militia", "roadblock")]
    assert ids(api, sortby=" kind") == ids(api, sortby="kind")  # an unencoded + arrives as a space
    assert ids(api, sortby="place,-reporters") == [pk[k] for k in ("checkpoint", "hazard", "roadblock", "militia")]
    assert ids(api, sortby="place,reporters") == [pk[k] for k in ("checkpoint", "hazard", "militia", "roadblock")]
    first = api.get(ITEMS, {"sortby": "-reporters", "limit": 2}).json()
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    assert [f["id"] for f in api.get(next_link).json()["features"]] == [pk["hazard"], pk["checkpoint"]]
    for bad in ("colour", "-status", "kind,kind", "-"):
        assert "sortby" in refused(api, sortby=bad)["fields"]


def test_properties_returns_the_named_properties_only(api, mixed):
    body = api.get(ITEMS, {"properties": "kind,place", "kind": "hazard"}).json()
    assert body["features"][0]["properties"] == {"kind": "hazard", "place": "O'Leary"}
    assert body["features"][0]["geometry"]["type"] == "Point"
    assert api.get(ITEMS, {"properties": ""}).json()["features"][0]["properties"] == {}
    one = api.get(f"{ITEMS}/{mixed['militia'].pk}", {"properties": "note"}).json()
    assert one["properties"] == {"note": "visto"}
    assert "properties" in refused(api, properties="kind,secret")["fields"]


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/",
        "/ogc/conformance",
        "/ogc/api",
        "/ogc/collections",
        "/ogc/collections/incidents",
        "/ogc/collections/incidents/queryables",
        ITEMS,
    ],
)
def test_unknown_query_parameters_are_a_400(api, path):
    body = refused(api, path, colour="red")
    assert body["error"] == "unknown_parameter" and "colour" in body["fields"]


def test_an_item_refuses_unknown_parameters_too(api):
    incident = IncidentFactory()
    assert refused(api, f"{ITEMS}/{incident.pk}", limit="3")["error"] == "unknown_parameter"


def test_datetime_takes_dates_instants_and_open_intervals(api):
    now = timezone.now()
    yesterday = (now - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    old = IncidentFactory(
        first_reported_at=yesterday, last_confirmed_at=yesterday, expires_at=yesterday + timedelta(hours=1)
    )
    live = IncidentFactory()
    day = yesterday.strftime("%Y-%m-%d")
    assert ids(api, datetime=day) == [old.pk]  # the whole day, not its midnight
    assert ids(api, datetime=f"{day}T") == [old.pk]  # GDAL writes a date bound so
    assert ids(api, datetime=f"../{day}") == [old.pk]
    assert ids(api, datetime=f"/{day}") == [old.pk]
    assert ids(api, datetime=f"{day}/..") == [old.pk, live.pk]
    assert ids(api, datetime=f"{day}/") == [old.pk, live.pk]
    assert ids(api, datetime=f"{now.strftime('%Y-%m-%d')}/..") == [live.pk]
    assert ids(api, datetime=f"{day}/{iso(yesterday + timedelta(hours=2))}") == [old.pk]
    assert ids(api, datetime=iso(yesterday + timedelta(minutes=30))) == [old.pk]
    for bad in ("2026-13-01", "../..", "..", "2026-12-02/2026-12-01", "a/b/c", "yesterday", "2026-12-01/noon"):
        assert refused(api, datetime=bad)["error"] == "invalid_datetime", bad


def test_extents_come_from_the_public_incidents(api, settings):
    empty = api.get("/ogc/collections/incidents").json()["extent"]
    assert empty["spatial"]["bbox"] == [[-73.4, 0.6, -59.7, 12.3]]  # the deployment area while there are none
    assert empty["temporal"]["interval"] == [[None, None]]
    west = offset(*CARACAS, east_m=-20_000, north_m=-5_000)
    east = offset(*CARACAS, east_m=15_000, north_m=8_000)
    first = timezone.now() - timedelta(days=3, minutes=7)
    IncidentFactory(
        point=f"POINT({west[0]} {west[1]})",
        first_reported_at=first,
        last_confirmed_at=first,
        expires_at=first + timedelta(hours=1),
        updated_at=first + timedelta(hours=1),
        status="expired",
    )
    latest = timezone.now() - timedelta(minutes=3)
    IncidentFactory(point=f"POINT({east[0]} {east[1]})", updated_at=latest)
    extent = api.get("/ogc/collections/incidents").json()["extent"]
    grid = conf.public_grid_m()
    (w, s), (e, n) = snap_lon_lat(*west, grid), snap_lon_lat(*east, grid)
    assert extent["spatial"]["bbox"] == [[w, s, e, n]]
    step = conf.public_time_step_s()
    assert extent["temporal"]["interval"] == [[iso(floor_time(first, step)), iso(floor_time(latest, step))]]
    assert extent["temporal"]["trs"] == "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


def test_conformance_declares_what_is_implemented(api):
    conformance = set(api.get("/ogc/conformance").json()["conformsTo"])
    for uri in (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    ):
        assert uri in conformance
    # Not implemented, so not declared.
    assert not any(("cql2-json" in uri or "spatial" in uri or "temporal" in uri) for uri in conformance)


def test_the_landing_page_points_at_the_ogc_definition_and_its_docs(api):
    links = api.get("/ogc/").json()["links"]
    desc = [link for link in links if link["rel"] == "service-desc"]
    assert desc[0]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert desc[0]["href"] == "http://testserver/ogc/api"
    assert desc[1]["type"] == "application/vnd.oai.openapi;version=3.0"
    doc_link = next(link for link in links if link["rel"] == "service-doc")
    page = api.get(doc_link["href"])
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert api.get("/ogc/api", {"f": "html"})["Location"] == "/ogc/api.html"


def test_the_definition_is_json_by_default_and_yaml_on_request(api):
    default = api.get("/ogc/api")
    assert default["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = default.json()
    as_json = api.get("/ogc/api", HTTP_ACCEPT="application/vnd.oai.openapi+json;version=3.0, application/json")
    assert as_json.json() == document
    for response in (
        api.get("/ogc/api", {"f": "yaml"}),
        api.get("/ogc/api", HTTP_ACCEPT="application/vnd.oai.openapi;version=3.0"),
        api.get("/ogc/api", HTTP_ACCEPT="application/json;q=0.5, application/yaml"),
    ):
        assert response["Content-Type"].startswith("application/vnd.oai.openapi;version=3.0")
        assert yaml.safe_load(response.content) == document
    assert refused(api, "/ogc/api", f="xml")["error"] == "invalid_f"


def test_the_definition_covers_every_ogc_path_and_the_parameters_the_server_takes(api, mixed):
    document = api.get("/ogc/api").json()
    assert document["openapi"].startswith("3.0")
    assert document["servers"] == [{"url": "http://testserver/ogc"}]
    resolver = get_resolver()
    ogc = next(p for p in resolver.url_patterns if str(p.pattern) == "ogc/")
    served = {"/" + str(p.pattern).replace("<str:item_id>", "{featureId}") for p in ogc.url_patterns}
    served = {path.rstrip("/") or "/" for path in served} - {"/api.html"}  # the docs page is not part of the API
    assert set(document["paths"]) == served
    parameters = {p["name"] for p in document["paths"]["/collections/incidents/items"]["get"]["parameters"]}
    values = {"bbox": "-67,10,-66,11", "bbox-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "f": "json"}
    values |= {"datetime": "2026-12-01/..", "limit": "5", "offset": "0", "sortby": "-reporters", "properties": "kind"}
    values |= {"filter": "reporters > 0", "filter-lang": "cql2-text"}
    values |= {"filter-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "kind": "hazard", "status": "verified"}
    values |= {"place": "x", "note": "x", "verified": "true", "confidence": "0.5", "reporters": "1"}
    values |= {"sources": "1", "still_there": "1", "gone": "1"}
    values |= {name: "2026-12-01" for name in ("first_reported_at", "last_confirmed_at", "expires_at", "updated_at")}
    assert parameters == set(values)
    for name, value in values.items():  # each documented parameter is taken
        assert api.get(ITEMS, {name: value}).status_code == 200, name
    # Answers match the schemas of the document.
    page = api.get(ITEMS, {"limit": 2}).json()
    jsonschema.Draft7Validator({**document, "$ref": "#/components/schemas/FeatureCollection"}).validate(page)
    one = api.get(f"{ITEMS}/{mixed['militia'].pk}").json()
    jsonschema.Draft7Validator({**document, "$ref": "#/components/schemas/Feature"}).validate(one)
    error = api.get(ITEMS, {"colour": "red"}).json()
    jsonschema.Draft7Validator({**document, "$ref": "#/components/schemas/Error"}).validate(error)
    collection = api.get("/ogc/collections/incidents").json()
    jsonschema.Draft7Validator({**document, "$ref": "#/components/schemas/Collection"}).validate(collection)
