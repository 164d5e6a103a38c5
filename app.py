"""CareCue's Lambda functions: HTTP routes, the API-key authorizer and the timer target.

Each handler parses its input, calls one service from the composition root and maps errors at the edge.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from chalice.app import (
    AuthRequest,
    AuthResponse,
    Chalice,
    CloudWatchEvent,
    LambdaFunctionEvent,
    Rate,
    Request,
    Response,
    SNSEvent,
    SQSEvent,
)

from chalicelib.composition import services
from chalicelib.core.errors import FieldProblem, InvalidRequest
from chalicelib.core.heap import hold_until_served, served, settle
from chalicelib.core.observability import logger, metrics
from chalicelib.edge.http import (
    FHIR_JSON,
    HTML,
    JSON,
    http_errors,
    in_envelope,
    patient_page_headers,
    query_instant,
    query_page,
    to_response,
    unknown_query_parameters,
)
from chalicelib.settings import on_lambda

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chalicelib.arm.envelope import (
        DeliveryWindowTimerEvent,
        DoseTimerEvent,
        ReminderTimerEvent,
        TimerKind,
        WatchTimerEvent,
    )

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
        served()  # the first invocation is over: the collector runs again (core/heap.py)


@app.middleware("http")
def one_error_envelope(event: Request, get_response: Any) -> Response:
    """Chalice's own refusals (a method the route lacks, a Content-Type it does not take, a body that is not
    JSON, an unhandled exception) leave in the app's error envelope: on AWS and on the local stack alike, as
    both run this handler. What API Gateway answers by itself is chalicelib/edge/gateway.py's."""
    unknown = unknown_query_parameters(event.method, str(event.context.get("resourcePath", "")), event.query_params)
    resource = str(event.context.get("resourcePath", ""))
    # The local stack's own /_local/ routes (added to this app only there) read their own parameters.
    if unknown and event.method in app.routes.get(resource, {}) and not resource.startswith("/_local"):
        problems = [FieldProblem(name, "is not a parameter of this route") for name in unknown]
        return to_response(InvalidRequest(problems))
    return in_envelope(event, get_response(event), app.routes)


@app.middleware("http")
def audit_trail(event: Request, get_response: Any) -> Response:
    """Every change a request made (a 2xx answer to POST, PUT, PATCH or DELETE) goes in the audit trail: who
    (the key's id, the booking tool, a patient's link), the route and the ids in its path, when. Tokens are
    secrets and never recorded; bodies are patient data and never recorded."""
    response: Response = get_response(event)
    written = services().audit.take_written()  # a booking writes its entry in its own transaction
    if event.method in ("POST", "PUT", "PATCH", "DELETE") and 200 <= response.status_code < 300 and not written:
        services().audit.record(*_audited(event), response.status_code)
    return response


def _audited(event: Request) -> tuple[str | None, str, str, dict[str, str]]:
    """The clinic, actor, action and target ids the audit trail records for a request."""
    from chalicelib.audit import audit_actor

    clinic_id, actor = audit_actor(event.context, event.uri_params or {}, event.headers)
    target = {k: v for k, v in (event.uri_params or {}).items() if k != "token"}
    return clinic_id, actor, f"{event.method} {event.context.get('resourcePath', '')}", target


@app.authorizer()
def api_key(auth_request: AuthRequest) -> AuthResponse:
    try:  # no middleware wraps an authorizer: it says itself when its invocation is over (core/heap.py)
        clinic_id = services().clinics.authenticate(auth_request.token)
    finally:
        served()
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
    from chalicelib.appointments.request import parse_new_appointment, phone_needs_region
    from chalicelib.appointments.views import appointment_view
    from chalicelib.core.timezones import phone_region
    from chalicelib.store.clinics import get_clinic

    # A phone without a country code is read in the clinic's country: then the clinic is read first; else the
    # booking reads it with its other first reads, in one round trip.
    clinic = get_clinic(_clinic_id()) if phone_needs_region(_body()) else None
    region = phone_region(clinic.timezone) if clinic is not None else None
    request = parse_new_appointment(_body(), services().clock.now(), region=region)
    audit = services().audit.entry(*_audited(_request()), 201)  # written with the booking, if it is new
    record = services().appointments.book(_clinic_id(), request, clinic=clinic, audit=audit)  # read once a request
    if record.audited:
        services().audit.written_with_change()
    return Response(appointment_view(record), status_code=201 if record.created else 200, headers=JSON)


@app.route("/v1/appointments", methods=["GET"], authorizer=api_key)
@http_errors
def list_appointments() -> Response:
    from chalicelib.appointments.views import appointment_page

    params = _request().query_params
    records, cursor = services().appointments.page_between(
        _clinic_id(), query_instant(params, "from"), query_instant(params, "to"), *query_page(params)
    )
    return Response(appointment_page(records, cursor), headers=JSON)


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


def _visit_move(appointment_id: str, move: str) -> Response:
    from chalicelib.visits.status import Move
    from chalicelib.visits.views import visit_view

    if move == "check-in":
        moved = services().visits.check_in(_clinic_id(), appointment_id, source="front_desk")
    else:
        moved = services().visits.move(_clinic_id(), appointment_id, Move(move))
    return Response(visit_view(moved), headers=JSON)


@app.route("/v1/appointments/{appointment_id}/check-in", methods=["POST"], authorizer=api_key)
@http_errors
def check_in(appointment_id: str) -> Response:
    return _visit_move(appointment_id, "check-in")


@app.route("/v1/appointments/{appointment_id}/start", methods=["POST"], authorizer=api_key)
@http_errors
def start_visit(appointment_id: str) -> Response:
    return _visit_move(appointment_id, "start")


@app.route("/v1/appointments/{appointment_id}/finish", methods=["POST"], authorizer=api_key)
@http_errors
def finish_visit(appointment_id: str) -> Response:
    return _visit_move(appointment_id, "finish")


@app.route("/v1/appointments/{appointment_id}/no-show", methods=["POST"], authorizer=api_key)
@http_errors
def no_show(appointment_id: str) -> Response:
    return _visit_move(appointment_id, "no-show")


@app.route("/v1/queue", methods=["GET"], authorizer=api_key)
@http_errors
def queue() -> Response:
    from chalicelib.edge.http import query_date
    from chalicelib.visits.views import queue_view

    params = dict(_request().query_params or {})
    # Every provider's queues: the ticket numbers count the whole clinic's day, as the board's do.
    clinic, day, queues = services().waiting.queues(_clinic_id(), query_date(params, "date"), None)
    return Response(queue_view(clinic, day, queues, params.get("provider")), headers=JSON)


@app.route("/v1/board-link", methods=["POST"], authorizer=api_key)
@http_errors
def issue_board_link() -> Response:
    from chalicelib.board.views import board_link_view

    return Response(board_link_view(services().board.issue_link(_clinic_id())), status_code=201, headers=JSON)


@app.route("/v1/board-link", methods=["DELETE"], authorizer=api_key)
@http_errors
def revoke_board_link() -> Response:
    services().board.revoke_link(_clinic_id())
    return Response(b"", status_code=204)


@app.route("/board/{token}", methods=["GET"])
def board(token: str) -> Response:
    page = services().board.page(token)
    if page is None:
        return Response("<!doctype html><title>Not found</title><p>This board link is not valid.</p>", HTML, 404)
    return Response(page, headers=HTML)


# Booking tools post JSON, forms and multipart; the signature is the authentication, so no API-key authorizer.
WEBHOOK_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]


@app.route("/webhooks/{provider}/{clinic_id}", methods=["POST"], content_types=WEBHOOK_CONTENT_TYPES)
@http_errors
def booking_webhook(provider: str, clinic_id: str) -> Response:
    from chalicelib.intake.events import WebhookRequest

    request = _request()
    headers = {name.lower(): value for name, value in (request.headers or {}).items()}
    webhook = WebhookRequest(_body(), headers, dict(request.query_params or {}))
    result = services().intake.receive(provider, clinic_id, webhook)
    return Response(result.body, status_code=result.status_code, headers=JSON)


@app.route("/webhooks/messenger", methods=["GET"])
@http_errors
def messenger_subscription() -> Response:
    """Meta's webhook subscription check: the challenge echoed for the clinic's verify token, else a 403."""
    challenge = services().messenger_webhook.verify_subscription(_request().query_params)
    return Response(challenge, headers={"Content-Type": "text/plain; charset=utf-8"})


@app.route("/webhooks/messenger", methods=["POST"])
@http_errors
def messenger_webhook() -> Response:
    """A clinic's Facebook Page events (a referral that links the patient, a message), signed by Meta's app."""
    from chalicelib.replies.messenger import SIGNATURE_HEADER

    headers = {name.lower(): value for name, value in (_request().headers or {}).items()}
    received = services().messenger_webhook.receive(_body(), headers.get(SIGNATURE_HEADER))
    return Response(received.as_dict(), headers=JSON)


@app.route("/v1/usage", methods=["GET"], authorizer=api_key)
@http_errors
def get_usage() -> Response:
    from chalicelib.meter.views import requested_month, usage_view

    month = requested_month(_request().query_params, services().clock.now())
    return Response(usage_view(services().usage.for_clinic(_clinic_id(), month)), headers=JSON)


@app.lambda_function(name="fire")
def fire(event: Any, context: Any) -> dict[str, Any]:
    """The target of every timer: one reader of the envelope, one handler per kind. A malformed event is logged
    (its problem, never its contents) and answered "rejected": a retry cannot fix it. A transient channel error
    propagates so Scheduler retries."""
    from chalicelib.arm.envelope import BadTimerEvent, parse_timer_event
    from chalicelib.core.words import Result

    try:
        timer = parse_timer_event(event)
    except BadTimerEvent as e:
        logger.error("timer event rejected", extra={"problem": str(e)})
        return {"result": Result.REJECTED}
    return _timer_handlers()[timer.kind](timer)


# The handlers live at module level: Chalice's policy analyzer (`chalice package`) cannot read nested functions.
def _reminder_due(timer: ReminderTimerEvent) -> dict[str, Any]:
    from chalicelib.fire.fire import delivery_request

    outcome = services().dispatcher.deliver(delivery_request(timer))
    return {"result": outcome.result, "reason": outcome.reason}


def _dose_due(timer: DoseTimerEvent) -> dict[str, Any]:
    return services().regimen_doses.dose_due(timer)


def _watch_fired(timer: WatchTimerEvent) -> dict[str, Any]:
    return services().waiting.watch_fired(timer)


def _delivery_window_ended(timer: DeliveryWindowTimerEvent) -> dict[str, Any]:
    return dict(services().dispatcher.window_ended(timer))


# The one dispatch table. Each event type has its kind as a class constant, so the kind looked up is the handler's
# own event type. Built at the first timer, so that the authorizer and the routes do not import the envelope (~5 ms
# of their cold start); a function, as Chalice's policy analyzer cannot read a module-level annotation.
@cache
def _timer_handlers() -> Mapping[TimerKind, Callable[[Any], dict[str, Any]]]:
    from chalicelib.arm.envelope import TimerKind

    return {
        TimerKind.REMINDER: _reminder_due,
        TimerKind.DOSE: _dose_due,
        TimerKind.WATCH: _watch_fired,
        TimerKind.DELIVERY_WINDOW: _delivery_window_ended,
    }


# The queue named here is replaced in the AWS template by the stage's own FireQueue (infra/aws); the batch size is
# chalicelib.fire.queue.FIRE_BATCH_SIZE, written out as Chalice's analyzer reads the decorator. At most 2 batches at
# once (SQS's least): ~20 reminders each a second on AWS latencies, about what SNS sends by default (20 SMS a
# second an account); a throttled send is tried again after its back-off. Raise it with the SMS throughput quota.
@app.on_sqs_message(queue="carecue-fire", batch_size=10, name="fire_batch", maximum_concurrency=2)
def fire_batch(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    """Reminder timers as Scheduler queues them, up to 10 at once, sent together (`chalicelib.fire.queue`). The
    answer names the messages to try again (ReportBatchItemFailures), each after Scheduler's own back-off."""
    from chalicelib.fire.queue import queued_timers

    return services().fire_batch.run(queued_timers(event.to_dict()["Records"]), _timer_handlers())


@app.schedule(Rate(1, unit=Rate.HOURS), name="reconcile")
def reconcile(event: CloudWatchEvent) -> dict[str, int]:
    """Hourly: re-arms future reminders whose timer is missing, marks passed ones that nothing sent `missed`."""
    return services().reconciler.run().as_dict()


# The topic named here is replaced in the AWS template by the stage's own EmailFeedbackTopic (infra/aws).
@app.on_sns_message(topic="carecue-email-feedback", name="email_feedback")
def email_feedback(event: SNSEvent) -> dict[str, Any]:
    """SES bounces and complaints: a permanent bounce or a complaint stops all email to that address."""
    feedback = services().email_feedback.record(event.message)
    return {"kind": feedback.kind, "addresses": len(feedback.addresses)}


@app.route("/v1/clinic", methods=["GET"], authorizer=api_key)
@http_errors
def read_clinic_settings() -> Response:
    return Response(services().clinic_settings.view(_clinic_id()), headers=JSON)


@app.route("/v1/clinic", methods=["PUT"], authorizer=api_key)
@http_errors
def replace_clinic_settings() -> Response:
    return Response(services().clinic_settings.replace(_clinic_id(), _body()), headers=JSON)


@app.route(
    "/v1/clinic",
    methods=["PATCH"],
    authorizer=api_key,
    content_types=["application/merge-patch+json", "application/json"],
)
@http_errors
def patch_clinic_settings() -> Response:
    """Changes only the settings named: a JSON merge patch (RFC 7396) of `GET /v1/clinic`, saved as PUT saves.

    A member set to null goes back to its default; an array replaces the whole array. docs/clinic-policy.md."""
    return Response(services().clinic_settings.patch(_clinic_id(), _body()), headers=JSON)


# The queue named here is replaced in the AWS template by the stage's own ReplanQueue (infra/aws).
@app.on_sqs_message(queue="carecue-replan", batch_size=1, name="replan")
def replan(event: SQSEvent) -> list[str]:
    """One re-plan job of `PUT /v1/clinic` (one page of appointments). An error propagates: SQS tries again,
    and after the last attempt the job goes to the dead-letter queue, recorded failed on the clinic."""
    outcomes = []
    for record in event:
        attempts = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1"))
        outcomes.append(services().clinic_replans.handle(record.body, attempts))
    return outcomes


@app.route("/v1/patients/{patient_id}", methods=["GET"], authorizer=api_key)
@http_errors
def read_patient(patient_id: str) -> Response:
    return Response(services().patients.view(_clinic_id(), patient_id), headers=JSON)


@app.route("/v1/patients/{patient_id}", methods=["PUT"], authorizer=api_key)
@http_errors
def update_patient(patient_id: str) -> Response:
    from chalicelib.audit import key_id

    actor = key_id(_request().headers.get("authorization"))  # the change's author in the patient's history
    return Response(services().patients.update(_clinic_id(), patient_id, _body(), actor), headers=JSON)


@app.route("/v1/patients/{patient_id}/changes", methods=["GET"], authorizer=api_key)
@http_errors
def patient_changes(patient_id: str) -> Response:
    """The patient's detail changes (phone, email, language, channel, time zone), newest first, in pages."""
    cursor, limit = query_page(_request().query_params)
    return Response(services().patients.changes(_clinic_id(), patient_id, cursor, limit), headers=JSON)


@app.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    """This API's OpenAPI 3.1 document, generated from its routes and request models."""
    from chalicelib.openapi import openapi_document

    return Response(openapi_document(app.routes), headers=JSON)


@app.route("/v1/questionnaires", methods=["POST"], authorizer=api_key)
@http_errors
def create_questionnaire() -> Response:
    return Response(services().forms.create(_clinic_id(), _body()), status_code=201, headers=FHIR_JSON)


@app.route("/v1/questionnaires", methods=["GET"], authorizer=api_key)
@http_errors
def list_questionnaires() -> Response:
    return Response(services().forms.list(_clinic_id()), headers=JSON)


@app.route("/v1/questionnaires/{questionnaire_id}", methods=["GET"], authorizer=api_key)
@http_errors
def read_questionnaire(questionnaire_id: str) -> Response:
    return Response(services().forms.get(_clinic_id(), questionnaire_id), headers=FHIR_JSON)


@app.route("/v1/questionnaires/{questionnaire_id}", methods=["PUT"], authorizer=api_key)
@http_errors
def replace_questionnaire(questionnaire_id: str) -> Response:
    return Response(services().forms.replace(_clinic_id(), questionnaire_id, _body()), headers=FHIR_JSON)


@app.route("/v1/appointments/{appointment_id}/questionnaire-response", methods=["GET"], authorizer=api_key)
@http_errors
def read_questionnaire_response(appointment_id: str) -> Response:
    services().appointments.get(_clinic_id(), appointment_id)  # 404 for another clinic's or no appointment
    return Response(services().forms.response_for(_clinic_id(), appointment_id), headers=FHIR_JSON)


@app.route("/v1/conversations", methods=["GET"], authorizer=api_key)
@http_errors
def list_conversations() -> Response:
    """The clinic's inbox: its patients' threads, the latest message first, each with its unread count."""
    return Response(services().inbox.threads(_clinic_id(), *query_page(_request().query_params)), headers=JSON)


@app.route("/v1/conversations/{patient_id}", methods=["GET"], authorizer=api_key)
@http_errors
def read_conversation(patient_id: str) -> Response:
    """One patient's thread, both ways, newest first, with each message's channel; opening it marks it read."""
    page = query_page(_request().query_params)
    return Response(services().inbox.thread(_clinic_id(), patient_id, *page), headers=JSON)


@app.route("/v1/conversations/{patient_id}/messages", methods=["POST"], authorizer=api_key)
@http_errors
def answer_conversation(patient_id: str) -> Response:
    """The staff's answer, sent on the patient's channel (metered) and kept in the thread (200: a repeat of its
    `external_id`, nothing sent again)."""
    view, created = services().inbox.answer(_clinic_id(), patient_id, _body())
    return Response(view, status_code=201 if created else 200, headers=JSON)


# AWS End User Messaging publishes inbound SMS to this topic (its two-way SMS setting names it).
INBOUND_SMS_TOPIC = "carecue-inbound-sms"


# AWS End User Messaging Social publishes the WhatsApp Business Account's events (inbound messages and statuses)
# to this topic (the WABA's event destination names it).
WHATSAPP_EVENTS_TOPIC = "carecue-whatsapp-events"


@app.on_sns_message(topic=WHATSAPP_EVENTS_TOPIC, name="whatsapp_events")
def whatsapp_events(event: SNSEvent) -> None:
    """A WhatsApp message from a patient, or a status of one CareCue sent. A malformed event is logged and dropped."""
    from chalicelib.replies.whatsapp import BadWhatsAppEvent, parse_event

    try:
        parsed = parse_event(event.message)
    except BadWhatsAppEvent as e:
        logger.error("whatsapp event rejected", extra={"problem": str(e)})
        return
    services().whatsapp_events.handle(parsed)


@app.on_sns_message(topic=INBOUND_SMS_TOPIC, name="inbound_sms")
def inbound_sms(event: SNSEvent) -> None:
    """A patient's SMS reply. A malformed message is logged and dropped: a retry cannot fix it."""
    from chalicelib.replies.inbound import BadInboundSms, parse_inbound

    try:
        inbound = parse_inbound(event.message)
    except BadInboundSms as e:
        logger.error("inbound sms rejected", extra={"problem": str(e)})
        return
    services().replies.handle(inbound)


@app.route("/p/{token}", methods=["GET"])
def patient_link(token: str) -> Response:
    """A patient's link: a page with one button. Nothing changes on GET, so link scanners are harmless."""
    return _page(services().patient_links.show(token))


@app.route("/p/{token}", methods=["POST"], content_types=["application/x-www-form-urlencoded", "application/json"])
def patient_link_action(token: str) -> Response:
    return _page(services().patient_links.act(token))


def _page(page: Any) -> Response:
    # Chalice's policy analyzer (run by `chalice package`) fails on annotated locals: the headers come typed.
    headers = patient_page_headers(page.redirect)
    return Response(page.html, status_code=page.status, headers=headers)


@app.route("/v1/regimens", methods=["POST"], authorizer=api_key)
@http_errors
def create_regimen() -> Response:
    from chalicelib.clinics.policy import clinic_policy
    from chalicelib.core.timezones import phone_region
    from chalicelib.regimens.request import parse_new_regimen
    from chalicelib.store.clinics import get_clinic

    clinic = get_clinic(_clinic_id())
    medication = clinic_policy(clinic).medication
    region = phone_region(clinic.timezone)  # a phone without a country code is read in the clinic's country
    request = parse_new_regimen(_body(), medication.when_times, medication.min_interval, region=region)
    view, created = services().regimens.create(_clinic_id(), request)
    return Response(view, status_code=201 if created else 200, headers=JSON)


@app.route("/v1/regimens/{regimen_id}", methods=["GET"], authorizer=api_key)
@http_errors
def get_regimen(regimen_id: str) -> Response:
    return Response(services().regimens.get(_clinic_id(), regimen_id), headers=JSON)


@app.route("/v1/regimens/{regimen_id}", methods=["PATCH"], authorizer=api_key)
@http_errors
def change_regimen(regimen_id: str) -> Response:
    from chalicelib.regimens.request import parse_status_change

    status = parse_status_change(_body())
    return Response(services().regimens.change_status(_clinic_id(), regimen_id, status), headers=JSON)


@app.route("/v1/regimens/{regimen_id}/adherence", methods=["GET"], authorizer=api_key)
@http_errors
def regimen_adherence(regimen_id: str) -> Response:
    params = _request().query_params
    start, end = query_instant(params, "from"), query_instant(params, "to")
    return Response(services().regimens.adherence(_clinic_id(), regimen_id, start, end), headers=JSON)


@app.route("/d/{token}", methods=["GET"])
def dose_link(token: str) -> Response:
    """A dose's "taken" link: a page with one button; nothing changes on GET."""
    return _page(services().dose_pages.show(token))


@app.route("/d/{token}", methods=["POST"], content_types=["application/x-www-form-urlencoded", "application/json"])
def dose_link_taken(token: str) -> Response:
    return _page(services().dose_pages.act(token))


@app.route("/f/{token}", methods=["GET"])
def form_link(token: str) -> Response:
    """A patient's pre-visit form (chalicelib.links.form_page): the saved answers filled in; nothing changes on GET."""
    return _page(services().form_pages.show(token))


@app.route("/f/{token}", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def form_link_save(token: str) -> Response:
    """One step of the form posted: saved in progress, or sent (completed) by its last button."""
    return _page(services().form_pages.save(token, _body()))


@app.route("/u/{token}", methods=["GET"])
def details_link(token: str) -> Response:
    """The patient's "update my details" page (chalicelib.links.details_page); nothing changes on GET."""
    return _page(services().details_pages.show(token))


@app.route("/u/{token}", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def details_link_post(token: str) -> Response:
    """New details saved, a code sent to a new phone or email, or the code entered that proves it."""
    return _page(services().details_pages.post(token, _body()))


settle()  # what `import app` built lives as long as the process: later full collections skip it (core/heap.py)
hold_until_served(on_lambda())  # on Lambda, no collection while the first invocation builds the rest (core/heap.py)
