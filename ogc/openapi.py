"""The OpenAPI 3.0 definition of /ogc/ (OGC API – Features, /req/oas30), built from the same tables as the
answers: the queryables and the Feature's properties come from the public field table, so the document
cannot drift from the server on them. tests/api/test_ogc_filters.py validates answers against it.
"""

from __future__ import annotations

from typing import Any

from incidents.api import params
from incidents.api.schema import ERROR
from incidents.public.fields import properties_schema
from ogc import queryables

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
OPENAPI_YAML = "application/vnd.oai.openapi;version=3.0"
SCHEMA_JSON = "application/schema+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def _f(*formats: str) -> dict[str, Any]:
    return _query(
        "f",
        "The format of the answer; without it, the Accept header decides.",
        {"type": "string", "enum": list(formats)},
    )


def _answer(description: str, content: dict[str, dict[str, Any]], *errors: int) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": description, "content": content}}
    for status in errors:
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    return responses


def _get(operation_id: str, summary: str, parameters: list[dict[str, Any]], responses: dict[str, Any]) -> dict:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["OGC API – Features"],
            "parameters": parameters,
            "responses": responses,
        }
    }


def _queryable_schema(q: queryables.Queryable) -> dict[str, Any]:
    schema = dict(q.field.codec.schema())
    if q.type == "time":
        return {"type": "string", "description": "A time (2026-12-01T10:00:00Z) or a date (the whole day)."}
    if q.type == "boolean":
        return {"type": "string", "enum": ["true", "false"]}
    return schema


def items_parameters() -> list[dict[str, Any]]:
    table = queryables.queryables()
    sortable = [name for name, q in table.items() if q.sortable]
    return [
        _f("json", "html"),
        _query(
            "bbox",
            "minLon,minLat,maxLon,maxLat (or 6 numbers with heights) in CRS84: the incidents whose public point "
            "lies inside.",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            style="form",
            explode=False,
        ),
        _query("bbox-crs", "The CRS of bbox: CRS84 only.", {"type": "string", "enum": [CRS84]}),
        _query(
            "datetime",
            "An instant, a date (that whole day) or an interval a/b with .. or nothing for an open end: the "
            "incidents on the map at some moment of it (ended ones included).",
            {"type": "string"},
        ),
        _query("limit", "Features per page.", {"type": "integer", "minimum": 1, "default": params.DEFAULT_LIMIT}),
        _query("offset", "Features to skip (the next and prev links carry it).", {"type": "integer", "minimum": 0}),
        _query(
            "sortby",
            "Comma-separated queryables, each with + (ascending, the default) or - (descending) before it; "
            f"sortable: {', '.join(sortable)}. Times sort by their public (floored) value, ties by id.",
            {"type": "array", "items": {"type": "string", "pattern": r"^[+-]?[a-z_]+$"}},
            style="form",
            explode=False,
        ),
        _query(
            "properties",
            "Comma-separated properties to return (the others are left out).",
            {"type": "array", "items": {"type": "string", "enum": list(properties_schema()["properties"])}},
            style="form",
            explode=False,
        ),
        _query("filter", f"A CQL2-text filter on the queryables: {queryables.cql2.SUPPORTED}.", {"type": "string"}),
        _query(
            "filter-lang", "The filter's language.", {"type": "string", "enum": ["cql2-text"], "default": "cql2-text"}
        ),
        _query(
            "filter-crs",
            "The CRS of the filter's geometries (none are supported).",
            {"type": "string", "enum": [CRS84]},
        ),
        *(
            _query(name, f"Equal to this value: {q.field.description}", _queryable_schema(q))
            for name, q in table.items()
        ),
    ]


def document(base_url: str) -> dict[str, Any]:
    """The definition, with `base_url` (the /ogc/ root, absolute) as its server."""
    feature = {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {
                    "type": {"type": "string", "enum": ["Point"]},
                    "coordinates": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
                },
            },
            "properties": {**properties_schema(), "required": []},  # `properties` may ask for fewer
            "links": {"type": "array", "items": _ref("Link")},
        },
    }
    link = {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {name: {"type": "string"} for name in ("href", "rel", "type", "title")},
    }
    links = {"type": "array", "items": _ref("Link")}
    collection = {
        "type": "object",
        "required": ["id", "links"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "itemType": {"type": "string"},
            "crs": {"type": "array", "items": {"type": "string"}},
            "storageCrs": {"type": "string"},
            "extent": {"type": "object"},
            "links": links,
        },
    }
    html = {HTML: {"schema": {"type": "string"}}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Alcabala – OGC API – Features",
            "version": "1.0.0",
            "description": "Public road incidents (checkpoints, roadblocks, armed groups, hazards) as OGC API – "
            "Features: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 3 (queryables, query-parameter filters, "
            "Basic CQL2 text filters) and sorting. Points are snapped to a grid and times rounded down.",
        },
        "servers": [{"url": base_url.rstrip("/")}],
        "paths": {
            "/": _get(
                "getLandingPage",
                "The landing page",
                [_f("json", "html")],
                _answer(
                    "Links to the API definition, the conformance classes and the collections.",
                    {JSON: {"schema": _ref("LandingPage")}, **html},
                    400,
                ),
            ),
            "/conformance": _get(
                "getConformance",
                "The conformance classes this server implements",
                [_f("json", "html")],
                _answer("The conformance classes.", {JSON: {"schema": _ref("ConfClasses")}, **html}, 400),
            ),
            "/api": _get(
                "getApi",
                "This API definition",
                [_query("f", "json (the default) or yaml.", {"type": "string", "enum": ["json", "yaml", "html"]})],
                _answer(
                    "The OpenAPI 3.0 document.",
                    {OPENAPI_JSON: {"schema": {"type": "object"}}, OPENAPI_YAML: {"schema": {"type": "string"}}},
                    400,
                ),
            ),
            "/collections": _get(
                "getCollections",
                "The collections",
                [_f("json", "html")],
                _answer("The one collection, incidents.", {JSON: {"schema": _ref("Collections")}, **html}, 400),
            ),
            "/collections/incidents": _get(
                "describeCollection",
                "The incidents collection",
                [_f("json", "html")],
                _answer("Its extent, CRS and links.", {JSON: {"schema": _ref("Collection")}, **html}, 400),
            ),
            "/collections/incidents/queryables": _get(
                "getQueryables",
                "What the incidents can be filtered on",
                [_f("json", "html")],
                _answer("A JSON Schema of the queryables.", {SCHEMA_JSON: {"schema": {"type": "object"}}, **html}, 400),
            ),
            "/collections/incidents/items": _get(
                "getFeatures",
                "The incidents, a page at a time",
                items_parameters(),
                _answer("A page of Features.", {GEOJSON: {"schema": _ref("FeatureCollection")}, **html}, 400),
            ),
            "/collections/incidents/items/{featureId}": _get(
                "getFeature",
                "One incident",
                [
                    {"name": "featureId", "in": "path", "required": True, "schema": {"type": "integer"}},
                    _f("json", "html"),
                    _query(
                        "properties",
                        "Comma-separated properties to return.",
                        {"type": "array", "items": {"type": "string"}},
                        style="form",
                        explode=False,
                    ),
                ],
                _answer("The Feature.", {GEOJSON: {"schema": _ref("Feature")}, **html}, 400, 404),
            ),
        },
        "components": {
            "schemas": {
                "Link": link,
                "Error": ERROR,
                "Feature": feature,
                "FeatureCollection": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {"type": "array", "items": _ref("Feature")},
                        "links": links,
                        "numberMatched": {"type": "integer", "minimum": 0},
                        "numberReturned": {"type": "integer", "minimum": 0},
                        "timeStamp": {"type": "string", "format": "date-time"},
                    },
                },
                "LandingPage": {
                    "type": "object",
                    "required": ["links"],
                    "properties": {"title": {"type": "string"}, "description": {"type": "string"}, "links": links},
                },
                "ConfClasses": {
                    "type": "object",
                    "required": ["conformsTo"],
                    "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
                },
                "Collection": collection,
                "Collections": {
                    "type": "object",
                    "required": ["links", "collections"],
                    "properties": {"links": links, "collections": {"type": "array", "items": _ref("Collection")}},
                },
            },
            "responses": {
                "E400": {
                    "description": "A parameter this resource does not take, or a value it cannot read.",
                    "content": {JSON: {"schema": _ref("Error")}},
                },
                "E404": {
                    "description": "No public incident has this id.",
                    "content": {JSON: {"schema": _ref("Error")}},
                },
            },
        },
    }
