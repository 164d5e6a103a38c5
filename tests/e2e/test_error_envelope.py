"""Every refusal of the running stack, whether the app or the gateway in front of it refuses, comes in one shape:
`{"error": {"code", "message", "fields"}}`, with a status and words that say what to send instead."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tests.e2e.conftest import HTTP_TIMEOUT_SECONDS, NEW_YORK, Clinic, Http, LocalStack, day_after

GATEWAY_LIMIT_BYTES = 10 * 1024 * 1024  # API Gateway's own limit on a request body


def envelope(content_type: str, text: str) -> dict[str, Any]:
    """The error of a refusal, checked to be the one envelope, served as JSON."""
    assert content_type.startswith("application/json"), (content_type, text)
    body = json.loads(text)
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], list), error
    return error


def refusal(api: Http, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    status, content_type, text = api.raw(method, path, body, headers)
    return status, envelope(content_type, text)


def booking(start: str) -> dict[str, Any]:
    return {"patient": {"name": "Pat Example", "phone": "+14155550106"}, "start": start}


def test_a_missing_key_says_it_is_missing_and_how_to_send_it(stack: LocalStack) -> None:
    status, error = refusal(stack.api(), "GET", "/v1/appointments")

    assert (status, error["code"]) == (401, "unauthorized")
    assert error["message"] == "the API key is missing: send Authorization: Bearer <key>"
    assert error["fields"] == []


def test_a_wrong_key_and_a_key_that_is_not_bearer_say_so(stack: LocalStack, clinic: Clinic) -> None:
    for authorization in ("Bearer cc_not-the-clinics-key", f"Basic {clinic.api_key}", clinic.api_key):
        status, error = refusal(stack.api(), "GET", "/v1/appointments", headers={"Authorization": authorization})

        assert (status, error["code"]) == (403, "forbidden"), authorization
        assert error["message"] == "the API key is wrong or not a Bearer key: send Authorization: Bearer <key>"


def test_an_unknown_route_is_a_404_with_or_without_a_key(stack: LocalStack, clinic: Clinic) -> None:
    for api in (stack.api(), stack.api(clinic)):
        status, error = refusal(api, "GET", "/v1/no-such-thing")

        assert (status, error["code"]) == (404, "no_such_route")
        assert error["message"] == "no such route: check the path and the method"


def test_a_method_the_route_lacks_is_a_405_naming_those_it_takes(stack: LocalStack, clinic: Clinic) -> None:
    status, error = refusal(stack.api(clinic), "PUT", "/v1/appointments", {})

    assert (status, error["code"]) == (405, "method_not_allowed")
    assert error["message"] == "this route does not take PUT: it takes GET, POST"


def test_a_body_sent_without_a_json_content_type_is_a_415(stack: LocalStack, clinic: Clinic) -> None:
    # As curl -d and urllib send a body with no Content-Type given: they call it a form.
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK).isoformat()
    request = urllib.request.Request(  # noqa: S310 -- the stack's own http://127.0.0.1 address
        stack.api_url + "/v1/appointments",
        data=json.dumps(booking(start)).encode("utf-8"),
        method="POST",
        headers={"Authorization": f"Bearer {clinic.api_key}"},
    )
    try:
        urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS)  # noqa: S310
        raise AssertionError("a form-encoded booking was accepted")
    except urllib.error.HTTPError as refused:
        with refused:
            status = refused.code
            error = envelope(refused.headers.get("Content-Type", ""), refused.read().decode("utf-8"))

    assert (status, error["code"]) == (415, "unsupported_media_type")
    assert error["message"] == (
        "this route does not take Content-Type application/x-www-form-urlencoded: send Content-Type: application/json"
    )


def test_bodies_too_large_for_the_app_and_for_the_gateway_are_413s(stack: LocalStack, clinic: Clinic) -> None:
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK).isoformat()
    over_the_apps_limit = {**booking(start), "location": "x" * 70_000}
    status, error = refusal(stack.api(clinic), "POST", "/v1/appointments", over_the_apps_limit)
    assert (status, error["code"]) == (413, "payload_too_large")

    status, error = refusal(stack.api(clinic), "POST", "/v1/appointments", b"x" * (GATEWAY_LIMIT_BYTES + 1))
    assert (status, error["code"]) == (413, "payload_too_large")
    assert error["message"] == "the request is over API Gateway's 10 MB limit"


def test_the_apps_own_errors_come_in_the_same_envelope(stack: LocalStack, clinic: Clinic) -> None:
    status, error = refusal(stack.api(clinic), "POST", "/v1/appointments", {"start": "tomorrow"})
    assert (status, error["code"]) == (400, "invalid_request")
    assert {f["field"] for f in error["fields"]} >= {"patient", "start"}

    status, error = refusal(stack.api(clinic), "GET", "/v1/appointments/apt_nobody")
    assert (status, error["code"], error["fields"]) == (404, "not_found", [])
