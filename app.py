"""CareCue's Lambda functions: HTTP routes, the API-key authorizer and the timer target.

Each handler parses its input, calls one service from the composition root and maps errors at the edge.
"""

from __future__ import annotations

from typing import Any

from chalice.app import AuthRequest, AuthResponse, Chalice, LambdaFunctionEvent, Request, Response

from chalicelib.composition import services
from chalicelib.http import JSON, http_errors, query_instant
from chalicelib.observability import logger, metrics

app = Chalice(app_name="carecue")
app.log.setLevel("WARNING")  # Powertools' logger is the log; Chalice's own would repeat it unstructured


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    """One place for every handler: request ids in every log line, metrics flushed once per invocation."""
    if isinstance(event, Request):
        logger.append_keys(route=event.context.get("resourcePath"), method=event.method)
    elif isinstance(event, LambdaFunctionEvent):
        logger.append_keys(function=getattr(event.context, "function_name", None))
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
        logger.remove_keys(["route", "method", "function"])


@app.authorizer()
def api_key(auth_request: AuthRequest) -> AuthResponse:
    clinic_id = services().clinics.authenticate(auth_request.token)
    if clinic_id is None:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=clinic_id)


def _request() -> Request:
    request = app.current_request
    assert request is not None  # Chalice sets it for every HTTP invocation
    return request


def _body() -> bytes:
    raw = _request().raw_body
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def _clinic_id() -> str:
    """The clinic the authorizer found for the request's API key: every route sees only its own clinic."""
    return str(_request().context["authorizer"]["principalId"])


@app.route("/v1/appointments", methods=["POST"], authorizer=api_key)
@http_errors
def book_appointment() -> Response:
    from chalicelib.appointments.request import parse_new_appointment
    from chalicelib.appointments.views import appointment_view

    request = parse_new_appointment(_body(), services().clock.now())
    record = services().appointments.book(_clinic_id(), request)
    return Response(appointment_view(record), status_code=201 if record.created else 200, headers=JSON)


@app.route("/v1/appointments", methods=["GET"], authorizer=api_key)
@http_errors
def list_appointments() -> Response:
    from chalicelib.appointments.views import appointment_view

    params = _request().query_params
    records = services().appointments.starting_between(
        _clinic_id(), query_instant(params, "from"), query_instant(params, "to")
    )
    return Response({"appointments": [appointment_view(r) for r in records]}, headers=JSON)


@app.route("/v1/appointments/{appointment_id}", methods=["GET"], authorizer=api_key)
@http_errors
def get_appointment(appointment_id: str) -> Response:
    from chalicelib.appointments.views import appointment_view

    return Response(appointment_view(services().appointments.get(_clinic_id(), appointment_id)), headers=JSON)


@app.route("/v1/appointments/{appointment_id}", methods=["PATCH"], authorizer=api_key)
@http_errors
def change_appointment(appointment_id: str) -> Response:
    from chalicelib.appointments.request import parse_appointment_change
    from chalicelib.appointments.views import appointment_view

    change = parse_appointment_change(_body(), services().clock.now())
    return Response(
        appointment_view(services().appointments.change(_clinic_id(), appointment_id, change)), headers=JSON
    )


@app.route("/v1/appointments/{appointment_id}", methods=["DELETE"], authorizer=api_key)
@http_errors
def cancel_appointment(appointment_id: str) -> Response:
    from chalicelib.appointments.views import appointment_view

    return Response(appointment_view(services().appointments.cancel(_clinic_id(), appointment_id)), headers=JSON)


@app.route("/v1/usage", methods=["GET"], authorizer=api_key)
@http_errors
def get_usage() -> Response:
    from chalicelib.usage.views import requested_month, usage_view

    month = requested_month(_request().query_params, services().clock.now())
    return Response(usage_view(services().usage.for_clinic(_clinic_id(), month)), headers=JSON)


@app.lambda_function(name="fire")
def fire(event: Any, context: Any) -> dict[str, Any]:
    """The target of every reminder timer. A transient channel error propagates so Scheduler retries."""
    from chalicelib.delivery.fire import BadTimerEvent, parse_timer_event

    try:
        request = parse_timer_event(event)
    except BadTimerEvent as e:
        logger.error("timer event rejected", extra={"problem": str(e)})
        return {"result": "rejected"}
    outcome = services().dispatcher.deliver(request)
    return {"result": outcome.result, "reason": outcome.reason}
