"""The OpenAPI document and its rendered docs, under the site's Content-Security-Policy as it is.

The docs page is drf-spectacular's Swagger UI "split" view: its start-up script is a separate file from
our own origin instead of an inline <script>, and the page's few lines of inline style are a static file
too, so script-src and style-src stay 'self' with no exception for this page. The Swagger UI assets come
from drf-spectacular-sidecar and are served by us (no CDN).
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from incidents.api.schema import ERROR


class SchemaView(SpectacularAPIView):
    pass


class DocsView(SpectacularSwaggerSplitView):
    template_name = "consumers/api_docs.html"
    url_name = "api-schema"
    title = "Alcabala API"


def public_api_only(endpoints, **kwargs):
    """The document describes the public v1 API only (the moderation API has its own users and auth)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


def token_auth(result, generator, request, public):
    """Declare `Authorization: Token <key>` as the security scheme it is, instead of a header parameter.

    Views name the header as a parameter (required where a key is needed: webhooks, exports; optional where a
    key only raises the read limit); here each becomes the operation's security requirement, so clients and
    fuzzers know which operations answer 401 without a key.
    """
    components = result.setdefault("components", {})
    components.setdefault("securitySchemes", {})["tokenAuth"] = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Token <key>`: an API key from the operators (only its hash is stored).",
    }
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            parameters = operation.get("parameters", [])
            header = [p for p in parameters if p.get("in") == "header" and p.get("name", "").lower() == "authorization"]
            if not header:
                continue
            kept = [p for p in parameters if p not in header]
            if kept:
                operation["parameters"] = kept
            else:
                operation.pop("parameters", None)
            operation["security"] = [{"tokenAuth": []}] if header[0].get("required") else [{"tokenAuth": []}, {}]
    return result


# Answered by DRF and Django below every view, whatever the view declares (config/errors.py shapes them).
_EVERY_OPERATION = {"406": "`Accept` names no type this operation answers with (`not_acceptable`)."}
_WITH_A_BODY = {
    "413": "The body is larger than the server reads (`too_large`).",
    "415": "The body's Content-Type is not one this operation reads (`unsupported_media_type`).",
}


def common_errors(result, generator, request, public):
    """Declare the refusals the framework makes for every operation (406) and every body (413, 415)."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = dict(_EVERY_OPERATION)
            if "requestBody" in operation:
                answers.update(_WITH_A_BODY)
            for status, description in answers.items():
                operation["responses"].setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ERROR}}}
                )
    return result


NO_NULL = "^[^\\u0000]*$"
# A field that may not be blank is trimmed first: it needs a character other than white space.
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def _forbid_null(schema) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema):
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NULL
    for value in schema.get("properties", {}).values():
        _forbid_null(value)
    _forbid_null(schema.get("items"))


def text_without_nul(result, generator, request, public):
    """DRF refuses a NUL character in every text field of a body (400): the request components say so."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _forbid_null(component)
    return result
