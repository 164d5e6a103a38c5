"""The OpenAPI 3.1 document: valid, served by the API, the same as docs/openapi.json, and covering every route the
app has, with the error envelope and the API key where a route needs one."""

from __future__ import annotations

import json
from pathlib import Path

from chalice.test import Client
from openapi_spec_validator import validate

from app import app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


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
    assert booking["responses"]["4XX"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"
    }
    assert "security" not in document["paths"]["/p/{token}"]["get"]
    assert set(document["components"]["schemas"]["NewAppointmentBody"]["properties"]) >= {"patient", "start"}
