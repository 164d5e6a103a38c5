"""The one error envelope: Chalice's own refusals re-worded into it, chalice.local's gateway errors mapped to the
gateway responses API Gateway gives, and those responses' mapping templates rendering the same envelope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.app import Request, Response
from chalice.local import ForbiddenError, InvalidAuthorizerError, NotAuthorizedError

from app import app
from chalicelib.edge.gateway import GATEWAY_ANSWERS, GatewayAnswer
from chalicelib.edge.http import error_body, in_envelope
from infra.local.gateway import answer_for


def request(method: str, resource_path: str, headers: dict[str, str] | None = None) -> Request:
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": headers or {},
            "pathParameters": None,
            "requestContext": {"httpMethod": method, "resourcePath": resource_path},
            "body": None,
            "stageVariables": None,
        }
    )


def chalice_error(code: str, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """What Chalice answers by itself (chalice.app.error_response)."""
    return Response({"Code": code, "Message": message}, headers=headers or {}, status_code=status)


def test_a_method_the_route_lacks_names_the_methods_it_takes() -> None:
    chalice = chalice_error("MethodNotAllowedError", "Unsupported method: PUT", 405, {"Allow": "GET, POST"})

    answer = in_envelope(request("PUT", "/v1/appointments"), chalice, app.routes)

    assert answer.status_code == 405
    assert answer.body == error_body("method_not_allowed", "this route does not take PUT: it takes GET, POST")
    assert answer.headers["Allow"] == "GET, POST"
    assert answer.headers["Content-Type"] == "application/json"


def test_a_content_type_the_route_does_not_take_names_those_it_does() -> None:
    sent = {"content-type": "text/plain"}
    chalice = chalice_error("UnsupportedMediaType", "Unsupported media type: text/plain", 415)

    booking = in_envelope(request("POST", "/v1/appointments", sent), chalice, app.routes)
    webhook = in_envelope(request("POST", "/webhooks/{provider}/{clinic_id}", sent), chalice, app.routes)

    assert (booking.status_code, booking.body) == (
        415,
        error_body(
            "unsupported_media_type",
            "this route does not take Content-Type text/plain: send Content-Type: application/json",
        ),
    )
    assert webhook.body["error"]["message"] == (
        "this route does not take Content-Type text/plain: send Content-Type: application/json"
        " or application/x-www-form-urlencoded or multipart/form-data"
    )


@pytest.mark.parametrize(
    ("chalice_code", "message", "status", "code", "words"),
    [
        ("BadRequestError", "Error Parsing JSON", 400, "invalid_request", "Error Parsing JSON"),
        ("TooManyRequestsError", "slow down", 429, "throttled", "slow down"),
        ("SomethingNewError", "odd", 418, "request_refused", "odd"),
        # Never the exception's text: it may carry patient data.
        ("InternalServerError", "An internal server error occurred.", 500, "internal_error", "something went wrong"),
    ],
)
def test_chalices_other_refusals_keep_their_status_in_the_envelope(
    chalice_code: str, message: str, status: int, code: str, words: str
) -> None:
    answer = in_envelope(request("GET", "/v1/usage"), chalice_error(chalice_code, message, status), app.routes)

    assert (answer.status_code, answer.body) == (status, error_body(code, words))


@pytest.mark.parametrize(
    "response",
    [
        Response({"appointments": []}, status_code=200),
        Response(error_body("not_found", "appointment not found"), status_code=404),
        Response("<p>This board link is not valid.</p>", status_code=404),
        Response({"Code": "X", "Message": "y"}, status_code=200),
    ],
)
def test_answers_that_are_not_chalices_own_errors_pass_unchanged(response: Response) -> None:
    assert in_envelope(request("GET", "/v1/appointments"), response, app.routes) is response


def test_every_envelope_has_fields_even_when_no_field_was_at_fault() -> None:
    assert error_body("not_found", "appointment not found") == {
        "error": {"code": "not_found", "message": "appointment not found", "fields": []}
    }


# The errors chalice.local raises, with the headers and bodies it gives them (chalice/local.py).
MISSING_HEADER = NotAuthorizedError({"x-amzn-ErrorType": "UnauthorizedException"}, b'{"message":"Unauthorized"}')
DENIED = ForbiddenError(
    {"x-amzn-ErrorType": "AccessDeniedException"}, b'{"Message": "User is not authorized to access this resource"}'
)
NO_ROUTE = ForbiddenError({"x-amzn-ErrorType": "UnauthorizedException"}, b'{"message": "Missing Authentication Token"}')
NO_ROUTE_WITH_KEY = ForbiddenError(
    {"x-amzn-ErrorType": "UnauthorizedException"},
    b'{"message": "Authorization header requires \'Credential\' parameter. Authorization=Bearer x"}',
)
NO_ANSWER = InvalidAuthorizerError({"x-amzn-ErrorType": "AuthorizerConfigurationException"}, b'{"message":null}')


@pytest.mark.parametrize(
    ("error", "response_type", "status", "code"),
    [
        (MISSING_HEADER, "UNAUTHORIZED", 401, "unauthorized"),
        (DENIED, "ACCESS_DENIED", 403, "forbidden"),
        (NO_ROUTE, "MISSING_AUTHENTICATION_TOKEN", 404, "no_such_route"),
        (NO_ROUTE_WITH_KEY, "MISSING_AUTHENTICATION_TOKEN", 404, "no_such_route"),
        (NO_ANSWER, "AUTHORIZER_CONFIGURATION_ERROR", 500, "internal_error"),
    ],
)
def test_the_local_gateways_errors_are_the_gateway_responses_aws_gives(
    error: Any, response_type: str, status: int, code: str
) -> None:
    answer = answer_for(error)

    assert (answer.response_type, answer.status, answer.code) == (response_type, status, code)


@pytest.mark.parametrize("answer", GATEWAY_ANSWERS, ids=lambda a: a.response_type)
def test_every_gateway_response_renders_the_envelope_the_local_stack_sends_in_fixed_words(
    answer: GatewayAnswer,
) -> None:
    template = answer.response_template()

    assert json.loads(template) == answer.body()
    assert set(answer.body()["error"]) == {"code", "message", "fields"}
    # No VTL at all ("$" or "#"): no $context.error.messageString, which can quote the Authorization header,
    # nor anything else of the request.
    assert "$" not in template and "#" not in template
