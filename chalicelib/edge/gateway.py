"""The answers API Gateway gives by itself, before or instead of the app, in the app's own error envelope.

One table, read twice: infra/aws/template.py turns it into the REST API's gateway responses, and the local
stack's HTTP handler (infra/local/gateway.py) answers chalice.local's gateway errors from it. So a caller sees
one shape, `{"error": {"code", "message", "fields"}}`, whether the app or the gateway refused the request.
"""

from __future__ import annotations

import json
from typing import Any

from msgspec import Struct

from chalicelib.edge.http import error_body

# API Gateway's own limit on a request body (the app refuses far smaller bodies itself, with the same code).
GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024


class GatewayAnswer(Struct, frozen=True):
    """One gateway response: API Gateway's type name, the status it answers with and the envelope's words.

    `status` None keeps the status of the error the gateway met (the DEFAULT_* catch-alls). The words are always
    fixed: API Gateway's own message ($context.error.messageString) can quote the request's Authorization
    header (the API key) back to the caller, and no answer may echo what the request carried.
    """

    response_type: str
    status: int | None
    code: str
    message: str

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)

    def response_template(self) -> str:
        """The envelope as an API Gateway mapping template (VTL) of fixed words."""
        return f'{{"error": {{"code": {json.dumps(self.code)}, "message": {json.dumps(self.message)}, "fields": []}}}}'


BEARER = "send Authorization: Bearer <key>"
NO_SUCH_ROUTE = "no such route: check the path and the method"

UNAUTHORIZED = GatewayAnswer("UNAUTHORIZED", 401, "unauthorized", f"the API key is missing: {BEARER}")
ACCESS_DENIED = GatewayAnswer("ACCESS_DENIED", 403, "forbidden", f"the API key is wrong or not a Bearer key: {BEARER}")
# API Gateway says 403 "Missing Authentication Token" for a path it has no method for: a 404 is what it means.
MISSING_AUTHENTICATION_TOKEN = GatewayAnswer("MISSING_AUTHENTICATION_TOKEN", 404, "no_such_route", NO_SUCH_ROUTE)
# The same unknown path with an Authorization header: API Gateway reads the header as a broken SigV4 signature.
# No route of this API is IAM-signed, so a signature error can only be that.
INVALID_SIGNATURE = GatewayAnswer("INVALID_SIGNATURE", 404, "no_such_route", NO_SUCH_ROUTE)
UNSUPPORTED_MEDIA_TYPE = GatewayAnswer(
    "UNSUPPORTED_MEDIA_TYPE", 415, "unsupported_media_type", "this route does not take that Content-Type"
)
REQUEST_TOO_LARGE = GatewayAnswer(
    "REQUEST_TOO_LARGE", 413, "payload_too_large", "the request is over API Gateway's 10 MB limit"
)
# The stage's request throttle (API Gateway's token bucket, every method of every route): steady requests a second
# and the burst above it. Far above what a small clinic's systems send; it bounds what a runaway client or a key
# in the wrong hands can cost. The AWS template sets it on the stage and the local stack applies the same.
API_RATE_LIMIT = 50.0
API_BURST_LIMIT = 100

THROTTLED = GatewayAnswer("THROTTLED", 429, "throttled", "too many requests: wait a moment and retry")
QUOTA_EXCEEDED = GatewayAnswer("QUOTA_EXCEEDED", 429, "quota_exceeded", "the request quota is used up: retry later")
AUTHORIZER_FAILURE = GatewayAnswer(
    "AUTHORIZER_FAILURE", 500, "internal_error", "the API key could not be checked: retry"
)
AUTHORIZER_CONFIGURATION_ERROR = GatewayAnswer(
    "AUTHORIZER_CONFIGURATION_ERROR", 500, "internal_error", "the API key could not be checked: retry"
)
INTEGRATION_TIMEOUT = GatewayAnswer("INTEGRATION_TIMEOUT", 504, "timeout", "the request took too long: retry")
DEFAULT_4XX = GatewayAnswer(
    "DEFAULT_4XX",
    None,
    "request_refused",
    "the request was refused before it reached CareCue: check its path and headers",
)
DEFAULT_5XX = GatewayAnswer("DEFAULT_5XX", None, "internal_error", "something went wrong")

GATEWAY_ANSWERS: tuple[GatewayAnswer, ...] = (
    UNAUTHORIZED,
    ACCESS_DENIED,
    MISSING_AUTHENTICATION_TOKEN,
    INVALID_SIGNATURE,
    UNSUPPORTED_MEDIA_TYPE,
    REQUEST_TOO_LARGE,
    THROTTLED,
    QUOTA_EXCEEDED,
    AUTHORIZER_FAILURE,
    AUTHORIZER_CONFIGURATION_ERROR,
    INTEGRATION_TIMEOUT,
    DEFAULT_4XX,
    DEFAULT_5XX,
)
