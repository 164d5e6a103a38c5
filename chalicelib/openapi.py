"""The API's OpenAPI 3.1 document, generated from the code: the routes from the Chalice app's own route table
(paths, methods, content types, which need the API key, each view's docstring), the request bodies from the
validation models (`chalicelib.schemas`), each 2xx answer from the TypedDict its view returns (`response_types`,
turned into JSON Schema by pydantic's TypeAdapter here and only here), the examples from
`chalicelib.openapi_examples`, and the one error envelope every 4xx and 5xx answers in. Nothing here is written
by hand but the words for what the code cannot say (query parameters the views read one by one, and what each
kind of route answers), so the document cannot drift from the code; `docs/openapi.json` is a copy a test keeps
equal (`make openapi` writes it).

The answers' object schemas are closed (`additionalProperties: false`): a view that grows a field its type does
not declare fails the fuzz's response-conformance check and tests/api/test_openapi.py, rather than going
undocumented. A FHIR resource stays open (FHIR defines it, not CareCue).

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
    "GET /v1/patients/{patient_id}/changes": [
        ("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, False, "page size"),
        ("next", {"type": "string"}, False, "the cursor the previous page gave"),
    ],
    "GET /v1/conversations": [
        ("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, False, "page size"),
        ("next", {"type": "string"}, False, "the cursor the previous page gave"),
    ],
    "GET /v1/conversations/{patient_id}": [
        ("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, False, "page size"),
        ("next", {"type": "string"}, False, "the cursor of older messages the previous page gave"),
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
    "GET /webhooks/messenger": [
        ("hub.mode", {"type": "string", "enum": ["subscribe"]}, True, "Meta's subscription check"),
        ("hub.verify_token", {"type": "string"}, True, "the verify token set-messenger printed"),
        ("hub.challenge", {"type": "string"}, True, "echoed as text/plain when the token is right"),
    ],
}


def response_types() -> dict[str, dict[str, Any]]:
    """Route → 2xx status → the TypedDict its view returns (the FHIR routes answer a FHIR resource instead)."""
    from chalicelib.appointments.views import AppointmentPage, AppointmentView
    from chalicelib.board.views import BoardLinkView
    from chalicelib.clinics.views import ClinicSettingsView
    from chalicelib.forms.views import QuestionnaireList
    from chalicelib.inbox.views import AnswerView, ConversationList, ThreadView
    from chalicelib.intake.views import WebhookIgnoredView, WebhookResultView
    from chalicelib.meter.views import UsageView
    from chalicelib.patients.views import PatientChangePage, PatientView
    from chalicelib.regimens.views import AdherenceView, RegimenView
    from chalicelib.visits.views import QueueView, VisitView

    appointment, visit, regimen = (
        "/v1/appointments/{appointment_id}",
        "/v1/appointments/{appointment_id}/",
        "/v1/regimens",
    )
    return {
        "POST /v1/appointments": {"201": AppointmentView, "200": AppointmentView},
        "GET /v1/appointments": {"200": AppointmentPage},
        f"GET {appointment}": {"200": AppointmentView},
        f"PATCH {appointment}": {"200": AppointmentView},
        f"DELETE {appointment}": {"200": AppointmentView},
        **{f"POST {visit}{move}": {"200": VisitView} for move in ("check-in", "start", "finish", "no-show")},
        "GET /v1/queue": {"200": QueueView},
        "POST /v1/board-link": {"201": BoardLinkView},
        "GET /v1/usage": {"200": UsageView},
        "GET /v1/clinic": {"200": ClinicSettingsView},
        "PUT /v1/clinic": {"200": ClinicSettingsView},
        "PATCH /v1/clinic": {"200": ClinicSettingsView},
        "GET /v1/patients/{patient_id}": {"200": PatientView},
        "PUT /v1/patients/{patient_id}": {"200": PatientView},
        "GET /v1/patients/{patient_id}/changes": {"200": PatientChangePage},
        f"POST {regimen}": {"201": RegimenView, "200": RegimenView},
        f"GET {regimen}/{{regimen_id}}": {"200": RegimenView},
        f"PATCH {regimen}/{{regimen_id}}": {"200": RegimenView},
        f"GET {regimen}/{{regimen_id}}/adherence": {"200": AdherenceView},
        "GET /v1/questionnaires": {"200": QuestionnaireList},
        "GET /v1/conversations": {"200": ConversationList},
        "GET /v1/conversations/{patient_id}": {"200": ThreadView},
        "POST /v1/conversations/{patient_id}/messages": {"201": AnswerView, "200": AnswerView},
        "POST /webhooks/{provider}/{clinic_id}": {"200": WebhookResultView, "202": WebhookIgnoredView},
    }


# The FHIR routes answer HL7 FHIR R4 resources (application/fhir+json): open objects, FHIR's to define.
FHIR_RESOURCE: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
    "description": "an HL7 FHIR R4 resource",
}
FHIR_ANSWERS = {
    "POST /v1/questionnaires": "201",
    "GET /v1/questionnaires/{questionnaire_id}": "200",
    "PUT /v1/questionnaires/{questionnaire_id}": "200",
    "GET /v1/appointments/{appointment_id}/questionnaire-response": "200",
}
STATUS_WORDS = {
    "201": "created",
    "200": "done",
    "202": "accepted, and nothing to do (the reason is named)",
    "204": "done, nothing to say",
}


def openapi_document(routes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The document for a Chalice app's `routes` (path → method → RouteEntry)."""
    from pydantic import TypeAdapter

    from chalicelib.schemas import request_models

    schemas: dict[str, Any] = {"ErrorEnvelope": ERROR_ENVELOPE}
    bodies: dict[str, dict[str, Any]] = {}
    for route, model in request_models().items():
        schema = _absent_not_null(model.model_json_schema(ref_template=REF))
        schemas.update(schema.pop("$defs", {}))
        name = model.__name__
        schemas[name] = schema
        bodies[route] = {"$ref": REF.format(model=name)}
    answers: dict[str, dict[str, Any]] = {}
    for route, by_status in response_types().items():
        for status, kind in by_status.items():
            schema = TypeAdapter(kind).json_schema(ref_template=REF, mode="serialization")
            for name, definition in [*schema.pop("$defs", {}).items(), (kind.__name__, schema)]:
                closed = _closed(definition)
                # Two different shapes under one name would make one of them describe the other's answers.
                if schemas.setdefault(name, closed) != closed:
                    raise ValueError(f"two schemas are named {name}: rename one of the types")
            answers.setdefault(route, {})[status] = {"$ref": REF.format(model=kind.__name__)}
    schemas["FhirResource"] = FHIR_RESOURCE
    paths: dict[str, Any] = {}
    for path in sorted(routes):
        for method in sorted(routes[path]):
            entry = routes[path][method]
            paths.setdefault(path, {})[method.lower()] = _operation(f"{method} {path}", path, entry, bodies, answers)
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


def _closed(schema: Any) -> Any:
    """Every object schema with named properties refuses the ones it does not name."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if closed.get("type") == "object" and "properties" in closed:
            closed.setdefault("additionalProperties", False)
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


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


def _operation(
    route: str, path: str, entry: Any, bodies: Mapping[str, Any], answers: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    from chalicelib.openapi_examples import REQUESTS, RESPONSES

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
    example = {"examples": {"example": {"value": REQUESTS[route]}}} if route in REQUESTS else {}
    if route in bodies:
        content = {"application/json": {"schema": bodies[route], **example}}
        operation["requestBody"] = {"required": True, "content": content}
    elif route in _FREE_BODIES:  # a body the API reads but no model of ours describes; other routes take none
        types = [t for t in entry.content_types if t != "application/x-www-form-urlencoded"] or entry.content_types
        body = {"type": "object", "description": _FREE_BODIES.get(route, "a JSON object")}
        described = {t: {"schema": body, **(example if t == "application/json" else {})} for t in types}
        operation["requestBody"] = {"required": False, "content": described}
    if entry.authorizer is not None:
        operation["security"] = [{"apiKey": []}]
    operation["responses"] = _responses(route, path, answers.get(route, {}), RESPONSES.get(route, {}))
    return operation


_FREE_BODIES = {
    "POST /v1/questionnaires": "an HL7 FHIR R4 Questionnaire (the subset docs/forms.md describes)",
    "PUT /v1/questionnaires/{questionnaire_id}": "an HL7 FHIR R4 Questionnaire",
    "POST /webhooks/{provider}/{clinic_id}": "the booking tool's own event, signed as the tool signs it",
    "POST /f/{token}": "a form post: _step, _action (next, back or complete) and each question's answers by linkId",
    "POST /u/{token}": "a details post: _action (save, verify or resend), the new details, the codes sent",
    "POST /webhooks/messenger": "Meta's Page webhook event, signed X-Hub-Signature-256 with the app secret",
    "PATCH /v1/clinic": "a JSON Merge Patch (RFC 7396) of the settings GET shows, in PUT's shape (ClinicSettingsBody)"
    ": members merge, null resets a setting to its default, arrays replace",
}


def _responses(route: str, path: str, answers: Mapping[str, Any], examples: Mapping[str, Any]) -> dict[str, Any]:
    envelope = _json({"$ref": REF.format(model="ErrorEnvelope")})
    error: dict[str, Any] = {"description": "refused: the error envelope", "content": envelope}
    if path.startswith(("/p/", "/d/", "/f/", "/u/", "/board/")):
        html = {"text/html": {"schema": {"type": "string"}}}
        # A page's own refusal (a link not valid, gone) is a page too; the gateway's refusals are the envelope.
        error = {"description": "refused: a page, or the error envelope", "content": {**html, **envelope}}
        return {"200": {"description": "an HTML page", "content": html}, "4XX": error, "5XX": error}
    if route == "DELETE /v1/board-link":
        return {"204": {"description": STATUS_WORDS["204"]}, "4XX": error, "5XX": error}
    if route == "GET /webhooks/messenger":  # Meta's subscription check: the challenge, as text
        text = {"text/plain": {"schema": {"type": "string"}}}
        return {"200": {"description": "hub.challenge, echoed", "content": text}, "4XX": error, "5XX": error}
    if route in FHIR_ANSWERS:
        status = FHIR_ANSWERS[route]
        resource: dict[str, Any] = {"schema": {"$ref": REF.format(model="FhirResource")}}
        if status in examples:
            resource["examples"] = {"example": {"value": examples[status]}}
        content = {"application/fhir+json": resource}
        return {status: {"description": "an HL7 FHIR R4 resource", "content": content}, "4XX": error, "5XX": error}
    if not answers:  # a route that states no type of its own (the OpenAPI document itself)
        return {"200": {"description": "done", "content": _json({"type": "object"})}, "4XX": error, "5XX": error}
    ok: dict[str, Any] = {}
    for status, schema in answers.items():
        media: dict[str, Any] = {"schema": schema}
        if status in examples:
            media["examples"] = {"example": {"value": examples[status]}}
        words = "the same request repeated: nothing changed" if status == "200" and "201" in answers else None
        ok[status] = {"description": words or STATUS_WORDS[status], "content": {"application/json": media}}
    return {**dict(sorted(ok.items())), "4XX": error, "5XX": error}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
