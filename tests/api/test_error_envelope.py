"""The app's own refusals through Chalice's test client: a method a route lacks and a Content-Type it does not take
come in the app's error envelope, as its domain errors do."""

from __future__ import annotations

import json

from chalice.test import Client

from tests.conftest import ClinicKeys


def test_a_method_the_route_lacks_is_a_405_in_the_envelope(api: Client, clinic: ClinicKeys) -> None:
    response = api.http.put("/v1/appointments", headers=clinic.headers, body="{}")

    assert response.status_code == 405
    assert sorted(response.headers["Allow"].split(", ")) == ["GET", "POST"]
    assert response.json_body == {
        "error": {
            "code": "method_not_allowed",
            "message": "this route does not take PUT: it takes GET, POST",
            "fields": [],
        }
    }


def test_a_content_type_the_route_does_not_take_is_a_415_in_the_envelope(api: Client, clinic: ClinicKeys) -> None:
    headers = {**clinic.headers, "Content-Type": "text/csv"}
    response = api.http.post("/v1/appointments", headers=headers, body="name,start")

    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/json"
    assert response.json_body == {
        "error": {
            "code": "unsupported_media_type",
            "message": "this route does not take Content-Type text/csv: send Content-Type: application/json",
            "fields": [],
        }
    }


def test_a_booking_tool_posting_a_type_no_webhook_takes_is_told_the_three_it_may_send(api: Client) -> None:
    response = api.http.post("/webhooks/square/clinic_x", headers={"Content-Type": "text/plain"}, body="hi")

    assert response.status_code == 415
    assert response.json_body["error"]["message"] == (
        "this route does not take Content-Type text/plain: send Content-Type: application/json"
        " or application/x-www-form-urlencoded or multipart/form-data"
    )


def test_a_domain_error_without_named_fields_has_an_empty_fields_list(api: Client, clinic: ClinicKeys) -> None:
    response = api.http.get("/v1/appointments/apt_nobody", headers=clinic.headers)

    assert response.status_code == 404
    assert response.json_body["error"]["fields"] == []
    assert json.loads(response.body)["error"]["code"] == "not_found"
