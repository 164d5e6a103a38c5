"""The OpenAPI 3.1 document: valid, served by the API, the same as docs/openapi.json, and covering every route the
app has, with the error envelope and the API key where a route needs one; every example in it valid against its
schema; and every route's real 2xx answer, from a clinic's day walked through the API, valid against the schema
the document gives for that status (closed objects: an undeclared field fails)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from app import app
from chalicelib.openapi import openapi_document, response_types
from tests.conftest import TEST_NOW, World
from tests.webhook_support import fixture

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DOCUMENT = openapi_document(app.routes)


def test_the_served_document_is_valid_openapi_3_1_and_the_same_as_the_one_in_docs(api: Client) -> None:
    served = api.http.get("/openapi.json")

    assert served.status_code == 200
    document = served.json_body
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document == json.loads(DOCS.read_text()), "docs/openapi.json is out of date: run make openapi"


def test_every_route_is_described_with_its_key_and_the_error_envelope(api: Client) -> None:
    document = api.http.get("/openapi.json").json_body

    described = {(path, method.upper()) for path, methods in document["paths"].items() for method in methods}
    assert described == {(path, method) for path, methods in app.routes.items() for method in methods}
    booking = document["paths"]["/v1/appointments"]["post"]
    assert booking["security"] == [{"apiKey": []}]
    assert booking["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewAppointmentBody"
    }
    assert booking["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AppointmentView"
    }
    assert booking["responses"]["4XX"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"
    }
    assert "security" not in document["paths"]["/p/{token}"]["get"]
    assert set(document["components"]["schemas"]["NewAppointmentBody"]["properties"]) >= {"patient", "start"}
    queue_row = document["components"]["schemas"]["QueueRow"]
    assert "ticket" in queue_row["required"] and queue_row["additionalProperties"] is False


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": DOCUMENT["components"]})


def _examples() -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            contents = [("request", c) for c in operation.get("requestBody", {}).get("content", {}).values()]
            contents += [
                (status, c) for status, r in operation["responses"].items() for c in r.get("content", {}).values()
            ]
            for where, media in contents:
                for example in media.get("examples", {}).values():
                    found.append((f"{method.upper()} {path} {where}", media["schema"], example["value"]))
    return found


def test_every_route_with_a_body_or_an_answer_of_its_own_has_examples() -> None:
    with_examples = {label.rsplit(" ", 1)[0] for label, _, _ in _examples()}
    typed = {f"{route}" for route in response_types()}
    assert typed <= with_examples
    assert {f"{route}" for route in ("POST /v1/appointments", "PUT /v1/clinic", "POST /v1/regimens")} <= with_examples


@pytest.mark.parametrize(("label", "schema", "value"), _examples(), ids=[label for label, _, _ in _examples()])
def test_every_example_is_valid_against_its_schema(label: str, schema: dict[str, Any], value: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _validator(schema).iter_errors(value)]
    assert errors == [], label


class Walk:
    """The API as an integrating developer calls it; each 2xx answer checked against the document."""

    def __init__(self, api: Client, key: str) -> None:
        self.api, self.key = api, key
        self.checked: set[str] = set()

    def call(self, method: str, path: str, route: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        sent = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json", **(headers or {})}
        raw = body if isinstance(body, bytes) else (None if body is None else json.dumps(body))
        response = self.api.http.request(method, path, headers=sent, body=raw or b"")
        assert 200 <= response.status_code < 300, (route, response.status_code, response.body)
        operation = DOCUMENT["paths"][route.split(" ", 1)[1]][method.lower()]
        answer = operation["responses"][str(response.status_code)]
        if "content" in answer:
            headers = {name.lower(): value for name, value in response.headers.items()}
            content_type = headers["content-type"].split(";")[0]
            assert content_type in answer["content"], (route, content_type)
            schema = answer["content"][content_type]["schema"]
            errors = [
                f"{list(e.absolute_path)}: {e.message}" for e in _validator(schema).iter_errors(response.json_body)
            ]
            assert errors == [], (route, response.status_code)
        self.checked.add(route)
        return response.json_body if response.body else None


def test_every_routes_real_answer_is_valid_against_its_documented_schema(api: Client, aws: World) -> None:
    created = aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    walk = Walk(api, created.api_key)
    booking = {
        "patient": {"name": "Pat Example", "phone": "+14155550131", "email": "pat@example.org"},
        "start": "2026-11-30T10:00:00-05:00",
        "provider": "Dr. Rivera",
        "external_id": "ehr-openapi-1",
    }
    appointment = walk.call("POST", "/v1/appointments", "POST /v1/appointments", booking)
    walk.call("POST", "/v1/appointments", "POST /v1/appointments", booking)  # the repeat: 200
    one = f"/v1/appointments/{appointment['id']}"
    walk.call("GET", "/v1/appointments?from=2026-11-30T00:00:00Z&to=2026-12-31T00:00:00Z", "GET /v1/appointments")
    walk.call("GET", one, "GET /v1/appointments/{appointment_id}")
    walk.call("PATCH", one, "PATCH /v1/appointments/{appointment_id}", {"location": "Room 2"})
    for move in ("check-in", "start", "finish"):
        walk.call("POST", f"{one}/{move}", f"POST /v1/appointments/{{appointment_id}}/{move}")
    later = {**booking, "start": "2026-11-30T11:00:00-05:00", "external_id": "ehr-openapi-2"}
    missed = walk.call("POST", "/v1/appointments", "POST /v1/appointments", later)
    walk.call("POST", f"/v1/appointments/{missed['id']}/no-show", "POST /v1/appointments/{appointment_id}/no-show")
    walk.call("GET", "/v1/queue", "GET /v1/queue")
    cancelled = {**booking, "start": "2026-12-02T11:00:00-05:00", "external_id": "ehr-openapi-3"}
    gone = walk.call("POST", "/v1/appointments", "POST /v1/appointments", cancelled)
    walk.call("DELETE", f"/v1/appointments/{gone['id']}", "DELETE /v1/appointments/{appointment_id}")
    walk.call("GET", "/v1/usage", "GET /v1/usage")
    walk.call("GET", "/v1/clinic", "GET /v1/clinic")
    walk.call("PUT", "/v1/clinic", "PUT /v1/clinic", {"reminders": [{"before": "PT2H", "channel": "sms"}]})
    merge = {"Content-Type": "application/merge-patch+json"}
    walk.call("PATCH", "/v1/clinic", "PATCH /v1/clinic", {"sender_name": "Riverside Desk"}, merge)
    patient = f"/v1/patients/{appointment['patient']['id']}"
    walk.call("GET", patient, "GET /v1/patients/{patient_id}")
    walk.call("PUT", patient, "PUT /v1/patients/{patient_id}", {"opt_out": {"email": True}, "language": "es"})
    walk.call("GET", f"{patient}/changes", "GET /v1/patients/{patient_id}/changes")
    regimen_body = {
        "patient": {"name": "Pat Example", "phone": "+14155550131"},
        "medication": "Examplamab 10 mg",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["20:00:00"]}},
    }
    regimen = walk.call("POST", "/v1/regimens", "POST /v1/regimens", regimen_body)
    walk.call("GET", f"/v1/regimens/{regimen['id']}", "GET /v1/regimens/{regimen_id}")
    walk.call("PATCH", f"/v1/regimens/{regimen['id']}", "PATCH /v1/regimens/{regimen_id}", {"status": "paused"})
    walk.call(
        "GET",
        f"/v1/regimens/{regimen['id']}/adherence?from=2026-11-30T00:00:00Z&to=2026-12-07T00:00:00Z",
        "GET /v1/regimens/{regimen_id}/adherence",
    )
    form = {"resourceType": "Questionnaire", "id": "intake-v1", "status": "active", "title": "Before your visit",
            "item": [{"linkId": "1", "text": "Anything we should know?", "type": "text"}]}  # fmt: skip
    walk.call("POST", "/v1/questionnaires", "POST /v1/questionnaires", form)
    walk.call("GET", "/v1/questionnaires", "GET /v1/questionnaires")
    walk.call("GET", "/v1/questionnaires/intake-v1", "GET /v1/questionnaires/{questionnaire_id}")
    walk.call("PUT", "/v1/questionnaires/intake-v1", "PUT /v1/questionnaires/{questionnaire_id}", form)
    walk.call("POST", "/v1/board-link", "POST /v1/board-link")
    from infra.local.stack import sns_event

    api.lambda_.invoke("inbound_sms", sns_event("+14155550131", None, "Can I come at 3?", "in-openapi-1", TEST_NOW))
    walk.call("GET", "/v1/conversations", "GET /v1/conversations")
    thread = f"/v1/conversations/{appointment['patient']['id']}"
    answer = {"text": "Yes, 3 PM.", "external_id": "ehr-msg-1"}
    for _ in range(2):  # 201, then the repeat's 200
        walk.call("POST", f"{thread}/messages", "POST /v1/conversations/{patient_id}/messages", answer)
    walk.call("GET", thread, "GET /v1/conversations/{patient_id}")
    event = json.dumps(fixture("calcom", "booking_created.json")).encode()
    signed = {"X-Cal-Signature-256": hmac.new(created.webhook_secret.encode(), event, hashlib.sha256).hexdigest()}
    webhook = f"/webhooks/calcom/{created.clinic_id}"
    walk.call("POST", webhook, "POST /webhooks/{provider}/{clinic_id}", event, signed)
    ping = json.dumps({"triggerEvent": "PING", "payload": {}}).encode()
    ping_signed = {"X-Cal-Signature-256": hmac.new(created.webhook_secret.encode(), ping, hashlib.sha256).hexdigest()}
    assert walk.call("POST", webhook, "POST /webhooks/{provider}/{clinic_id}", ping, ping_signed) is not None
    walk.call("GET", "/openapi.json", "GET /openapi.json")

    # Every route with a typed answer was walked (the FHIR answers' is an open resource, and has no walk here
    # for the response route: answering a form is the patient's link, tested in tests/api/test_questionnaires.py).
    assert set(response_types()) <= walk.checked
