"""The HTTP edge: domain errors become status codes and JSON bodies here, and nowhere else."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from chalice.app import Response

from chalicelib.core.errors import (
    CareCueError,
    Conflict,
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


def patient_page_headers(redirect: str | None) -> dict[str, str | list[str]]:
    """A patient link's page: never cached, never indexed; a redirect (to the booking page) when there is one."""
    headers: dict[str, str | list[str]] = {**HTML, "X-Robots-Tag": "noindex"}
    if redirect:
        headers["Location"] = redirect
    return headers


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


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
        return Response(error_body("conflict", str(error)), status_code=409, headers=JSON)
    if isinstance(error, SignatureRejected):
        return Response(error_body("unauthorized", str(error)), status_code=401, headers=JSON)
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


def http_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wraps a route so that a CareCueError becomes its HTTP response; anything else stays a 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
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


def query_date(params: Mapping[str, str] | None, name: str) -> date | None:
    """An optional `YYYY-MM-DD` query parameter."""
    value = (params or {}).get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest.single(name, "must be a date as YYYY-MM-DD") from None
