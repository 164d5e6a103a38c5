"""The API's OpenAPI 3.1 document, generated from the code: the routes from the Chalice app's own route table
(paths, methods, content types, which need the API key, each view's docstring), the request bodies from the
validation models (`chalicelib.schemas`), and the one error envelope every 4xx and 5xx answers in. Nothing here
is written by hand but the words for what the code cannot say (query parameters the views read one by one, and
what each kind of route answers), so the document cannot drift from the code; `docs/openapi.json` is a copy a
test keeps equal (`make openapi` writes it).

Served at `GET /openapi.json`. It imports pydantic and every model: never on a hot path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "examples": ["invalid_request"]},
                "message": {"type": "string", "examples": ["start: is in the past"]},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "problem"],
                        "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
                    },
                },
            },
        }
    },
}

# Query parameters, read by the views one by one (chalicelib.edge.http): named here, by route.
_INSTANT = {"type": "string", "format": "date-time"}
QUERY: dict[str, list[tuple[str, dict[str, Any], bool, str]]] = {
    "GET /v1/appointments": [
        ("from", _INSTANT, True, "appointments starting at or after this instant (with an offset)"),
        ("to", _INSTANT, True, "appointments starting at or before this instant"),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, False, "page size"),
        ("next", {"type": "string"}, False, "the cursor the previous page gave"),
    ],
    "GET /v1/queue": [
        ("date", {"type": "string", "format": "date"}, False, "the clinic's local day (default today)"),
        ("provider", {"type": "string"}, False, "one provider's queue only"),
    ],
    "GET /v1/regimens/{regimen_id}/adherence": [
        ("from", _INSTANT, True, "doses due at or after this instant"),
        ("to", _INSTANT, True, "doses due before this instant"),
    ],
    "GET /v1/usage": [("month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, False, "YYYY-MM, UTC")],
    "POST /webhooks/{provider}/{clinic_id}": [
        ("token", {"type": "string"}, False, "the clinic's form-webhook secret, for tools that cannot sign")
    ],
}


def openapi_document(routes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The document for a Chalice app's `routes` (path → method → RouteEntry)."""
    from chalicelib.schemas import request_models

    schemas: dict[str, Any] = {"ErrorEnvelope": ERROR_ENVELOPE}
    bodies: dict[str, dict[str, Any]] = {}
    for route, model in request_models().items():
        schema = _absent_not_null(model.model_json_schema(ref_template=REF))
        schemas.update(schema.pop("$defs", {}))
        name = model.__name__
        schemas[name] = schema
        bodies[route] = {"$ref": REF.format(model=name)}
    paths: dict[str, Any] = {}
    for path in sorted(routes):
        for method in sorted(routes[path]):
            entry = routes[path][method]
            paths.setdefault(path, {})[method.lower()] = _operation(f"{method} {path}", path, entry, bodies)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CareCue",
            "version": VERSION,
            "summary": "Appointment and medication reminders for small clinics",
            "description": "Every 4xx and 5xx answers in the error envelope (components/schemas/ErrorEnvelope), "
            "naming every wrong field.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "the clinic's API key: cc_…"}
            },
        },
    }


def _absent_not_null(schema: Any) -> Any:
    """Drops `"default": null` where the schema's type does not take null: in the models it means "absent"
    (a field left out), which OpenAPI says by the field not being required."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        takes_null = kind is None or kind == "null" or (isinstance(kind, list) and "null" in kind)
        return {
            key: _absent_not_null(value)
            for key, value in schema.items()
            if not (key == "default" and value is None and not takes_null)
        }
    if isinstance(schema, list):
        return [_absent_not_null(item) for item in schema]
    return schema


def _operation(route: str, path: str, entry: Any, bodies: Mapping[str, Any]) -> dict[str, Any]:
    doc = (entry.view_function.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    operation: dict[str, Any] = {"operationId": entry.view_name, "summary": doc or entry.view_name.replace("_", " ")}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"{([^}]+)}", path)
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": required,
            "schema": schema,
            "description": description,
        }
        for name, schema, required, description in QUERY.get(route, [])
    ]
    if parameters:
        operation["parameters"] = parameters
    if route in bodies:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": bodies[route]}}}
    elif route in _FREE_BODIES:  # a body the API reads but no model of ours describes; other routes take none
        types = [t for t in entry.content_types if t != "application/x-www-form-urlencoded"] or entry.content_types
        body = {"type": "object", "description": _FREE_BODIES.get(route, "a JSON object")}
        operation["requestBody"] = {"required": False, "content": {t: {"schema": body} for t in types}}
    if entry.authorizer is not None:
        operation["security"] = [{"apiKey": []}]
    operation["responses"] = _responses(path, entry.method)
    return operation


_FREE_BODIES = {
    "POST /v1/questionnaires": "an HL7 FHIR R4 Questionnaire (the subset docs/forms.md describes)",
    "PUT /v1/questionnaires/{questionnaire_id}": "an HL7 FHIR R4 Questionnaire",
    "POST /webhooks/{provider}/{clinic_id}": "the booking tool's own event, signed as the tool signs it",
    "POST /f/{token}": "a form post: _step, _action (next, back or complete) and each question's answers by linkId",
}


def _responses(path: str, method: str) -> dict[str, Any]:
    envelope = _json({"$ref": REF.format(model="ErrorEnvelope")})
    error: dict[str, Any] = {"description": "refused: the error envelope", "content": envelope}
    if path.startswith(("/p/", "/d/", "/f/", "/board/")):
        html = {"text/html": {"schema": {"type": "string"}}}
        ok: dict[str, Any] = {"description": "an HTML page", "content": html}
        # A page's own refusal (a link not valid, gone) is a page too; the gateway's refusals are the envelope.
        error = {"description": "refused: a page, or the error envelope", "content": {**html, **envelope}}
    elif method == "DELETE" and path == "/v1/board-link":
        ok = {"description": "done, nothing to say"}
    else:
        ok = {"description": "done", "content": _json({"type": "object"})}
    status = "201" if method == "POST" and path in _CREATES else "200"
    answers: dict[str, Any] = {status: ok, "4XX": error, "5XX": error}
    if status == "201":
        answers["200"] = {
            "description": "the same request repeated: nothing changed",
            "content": _json({"type": "object"}),
        }
    if method == "DELETE" and path == "/v1/board-link":
        answers = {"204": ok, "4XX": error, "5XX": error}
    return answers


_CREATES = {"/v1/appointments", "/v1/regimens", "/v1/questionnaires", "/v1/board-link"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
