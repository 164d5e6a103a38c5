"""The HTTP edge: domain errors become status codes and JSON bodies here, and nowhere else."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from chalice.app import Request, Response, RouteEntry

from chalicelib.core.errors import (
    CareCueError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    QueueUnavailable,
    SchedulerUnavailable,
    SignatureRejected,
    TimerError,
    UpstreamUnavailable,
)
from chalicelib.core.observability import logger

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}
HTML: dict[str, str | list[str]] = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
FHIR_JSON: dict[str, str | list[str]] = {"Content-Type": "application/fhir+json"}


def patient_page_headers(redirect: str | None) -> dict[str, str | list[str]]:
    """A patient link's page: never cached, never indexed; a redirect (to the booking page) when there is one."""
    headers: dict[str, str | list[str]] = {**HTML, "X-Robots-Tag": "noindex"}
    if redirect:
        headers["Location"] = redirect
    return headers


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The one error envelope of the API: `fields` is always there, empty unless named fields were at fault."""
    return {"error": {"code": code, "message": message, "fields": fields or []}}


def to_response(error: CareCueError) -> Response:
    if isinstance(error, InvalidRequest):
        fields = [{"field": p.field, "problem": p.problem} for p in error.problems]
        logger.info("request rejected", extra={"fields": [p.field for p in error.problems]})
        return Response(error_body("invalid_request", str(error), fields), status_code=400, headers=JSON)
    if isinstance(error, PayloadTooLarge):
        return Response(error_body("payload_too_large", str(error)), status_code=413, headers=JSON)
    if isinstance(error, NotFound):
        return Response(error_body("not_found", str(error)), status_code=404, headers=JSON)
    if isinstance(error, Conflict):
        return Response(error_body(error.code, str(error)), status_code=409, headers=JSON)
    if isinstance(error, SignatureRejected):
        return Response(error_body("unauthorized", str(error)), status_code=401, headers=JSON)
    if isinstance(error, Forbidden):
        return Response(error_body("forbidden", str(error)), status_code=403, headers=JSON)
    if isinstance(error, SchedulerUnavailable):
        return Response(error_body("scheduler_unavailable", str(error)), status_code=503, headers=JSON)
    if isinstance(error, TimerError):
        # A Scheduler failure a service did not undo itself: still the caller's to retry, never a 500.
        logger.error("timer error reached the edge", extra={"code": error.code})
        message = f"the reminder scheduler is unavailable ({error.code}): retry"
        return Response(error_body("scheduler_unavailable", message), status_code=503, headers=JSON)
    if isinstance(error, QueueUnavailable):
        logger.error("background job not queued", extra={"code": error.code})
        message = f"the change is stored but its background work could not be queued ({error.code}): send it again"
        return Response(error_body("queue_unavailable", message), status_code=503, headers=JSON)
    if isinstance(error, UpstreamUnavailable):
        return Response(error_body("upstream_unavailable", str(error)), status_code=503, headers=JSON)
    logger.exception("unmapped domain error")
    return Response(error_body("internal_error", "something went wrong"), status_code=500, headers=JSON)


# Chalice's own refusals, answered with {"Code": <exception name>, "Message": ...}: the envelope's code for each.
_CHALICE_CODES = {
    "BadRequestError": "invalid_request",
    "BadRequest": "invalid_request",
    "UnauthorizedError": "unauthorized",
    "ForbiddenError": "forbidden",
    "NotFoundError": "not_found",
    "MethodNotAllowedError": "method_not_allowed",
    "RequestTimeoutError": "timeout",
    "ConflictError": "conflict",
    "UnprocessableEntityError": "invalid_request",
    "TooManyRequestsError": "throttled",
    "UnsupportedMediaType": "unsupported_media_type",
    "InternalServerError": "internal_error",
}


def in_envelope(
    request: Request | None, response: Response, routes: Mapping[str, Mapping[str, RouteEntry]]
) -> Response:
    """`response` unchanged, unless it is one of Chalice's own error bodies (a method the route lacks, a
    Content-Type it does not take, a body that is not JSON, an unhandled exception): then the same refusal in
    the app's error envelope, in words that say what to send instead."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    chalice_code = str(body["Code"])
    code = _CHALICE_CODES.get(chalice_code, "request_refused" if response.status_code < 500 else "internal_error")
    message = str(body["Message"])
    route = _route(request, routes)
    if chalice_code == "MethodNotAllowedError" and request is not None:
        allowed = ", ".join(sorted((routes.get(_resource_path(request)) or {}).keys()))
        message = f"this route does not take {request.method}: it takes {allowed}"
    elif chalice_code == "UnsupportedMediaType" and request is not None and route is not None:
        sent = request.headers.get("content-type") or "none"
        message = f"this route does not take Content-Type {sent}: send Content-Type: {' or '.join(route.content_types)}"
    elif code == "internal_error":
        message = "something went wrong"
    headers = {**response.headers, **JSON}
    return Response(error_body(code, message), status_code=response.status_code, headers=headers)


def _resource_path(request: Request) -> str:
    return str(request.context.get("resourcePath", ""))


def _route(request: Request | None, routes: Mapping[str, Mapping[str, RouteEntry]]) -> RouteEntry | None:
    if request is None:
        return None
    return (routes.get(_resource_path(request)) or {}).get(request.method)


def http_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wraps a route so that a CareCueError becomes its HTTP response; anything else stays a 500.

    An empty path part (`/v1/appointments//check-in`) names nothing: a 404 before any lookup, as no id is empty."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            if any(isinstance(value, str) and not value.strip() for value in kwargs.values()):
                raise NotFound("resource")
            return view(*args, **kwargs)
        except CareCueError as e:
            return to_response(e)

    return wrapper


def query_instant(params: Mapping[str, str] | None, name: str) -> datetime:
    value = (params or {}).get(name)
    if not value:
        raise InvalidRequest.single(name, "is required, as an ISO 8601 date and time with offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest.single(name, "must be an ISO 8601 date and time with offset") from None
    if moment.tzinfo is None:
        raise InvalidRequest.single(name, "must include a UTC offset")
    return moment


# The query parameters each route reads ("METHOD path" → names); any other is a 400 naming it, so a misspelt
# parameter (`?form=` for `?from=`) is never silently ignored. The OpenAPI document describes the same names.
QUERY_PARAMETERS: dict[str, frozenset[str]] = {
    "GET /v1/appointments": frozenset({"from", "to", "limit", "next"}),
    "GET /v1/queue": frozenset({"date", "provider"}),
    "GET /v1/patients/{patient_id}/changes": frozenset({"limit", "next"}),
    "GET /v1/conversations": frozenset({"limit", "next"}),
    "GET /v1/conversations/{patient_id}": frozenset({"limit", "next"}),
    "GET /v1/usage": frozenset({"month"}),
    "GET /v1/regimens/{regimen_id}/adherence": frozenset({"from", "to"}),
    "POST /webhooks/{provider}/{clinic_id}": frozenset({"token"}),
    "GET /webhooks/messenger": frozenset({"hub.mode", "hub.verify_token", "hub.challenge"}),
}


def unknown_query_parameters(method: str, resource_path: str, params: Mapping[str, str] | None) -> list[str]:
    allowed = QUERY_PARAMETERS.get(f"{method} {resource_path}", frozenset())
    return sorted(name for name in (params or {}) if name not in allowed)


# List routes answer in pages: `limit` items at most (default and maximum below) and a `next` cursor to pass back.
PAGE_DEFAULT = 50
PAGE_MAX = 200


def query_page(params: Mapping[str, str] | None) -> tuple[str | None, int]:
    """The `next` cursor (None for the first page) and the `limit` of a list request."""
    params = params or {}
    limit_text = params.get("limit")
    limit = PAGE_DEFAULT
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= PAGE_MAX:
            raise InvalidRequest.single("limit", f"must be a whole number from 1 to {PAGE_MAX}")
        limit = int(limit_text)
    return params.get("next") or None, limit


def query_date(params: Mapping[str, str] | None, name: str) -> date | None:
    """An optional `YYYY-MM-DD` query parameter."""
    value = (params or {}).get(name)
    if value is None:  # sent empty ("?date=") it is refused below, as every malformed parameter is
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest.single(name, "must be a date as YYYY-MM-DD") from None
