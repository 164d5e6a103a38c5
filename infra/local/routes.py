"""Routes only the local stack has: the console page, the outbox of sent messages, the simulated clock and the
saved state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import isodate  # type: ignore[import-untyped]
from chalice.app import Chalice, Request, Response

from chalicelib.core.clock import iso_utc
from chalicelib.core.fields import read_phone
from chalicelib.edge.http import JSON, error_body
from infra.local.console import console_data, console_html
from infra.local.outbox import outbox_html

if TYPE_CHECKING:
    from infra.local.stack import LocalStack


def add_local_routes(app: Chalice, stack: LocalStack) -> None:
    def request() -> Request:
        current = app.current_request
        assert current is not None
        return current

    # Chalice, like API Gateway, drops a path's trailing slash: this is `GET /_local/` (and `/_local`).
    @app.route("/_local", methods=["GET"])
    def console() -> Response:
        """The console (infra/local/console.py): HTML unless the caller asks for JSON."""
        data = console_data(stack)
        if "application/json" in (request().headers.get("accept") or ""):
            return Response(data, headers=JSON)
        return Response(console_html(data), headers={"Content-Type": "text/html; charset=utf-8"})

    @app.route("/_local/clock/form", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
    def move_clock_by_form() -> Response:
        """The console's clock buttons: `advance=P1D` or `to=2026-12-01T09:00` (a browser's datetime-local, read
        as UTC), then back to the console (303), or a 400 in the error envelope."""
        raw = request().raw_body or b""
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        fields = {key: values[0] for key, values in parse_qs(text).items()}
        if fields.get("to") and len(fields["to"]) <= 19 and not fields["to"].endswith("Z"):
            fields["to"] += ":00Z" if len(fields["to"]) == 16 else "Z"  # datetime-local has no zone: UTC
        try:
            stack.advance_to(
                _target({k: v for k, v in fields.items() if k in ("advance", "to") and v}, stack.clock.now())
            )
        except ValueError as e:
            field = "to" if "to" in fields else "advance"
            return Response(
                error_body("invalid_request", str(e), [{"field": field, "problem": str(e)}]),
                status_code=400,
                headers=JSON,
            )
        return Response("", status_code=303, headers={"Location": "/_local/"})

    @app.route("/_local/outbox", methods=["GET"])
    def outbox() -> Response:
        messages = stack.outbox.messages()
        if "text/html" in (request().headers.get("accept") or ""):
            return Response(outbox_html(messages), headers={"Content-Type": "text/html; charset=utf-8"})
        return Response({"messages": messages}, headers=JSON)

    @app.route("/_local/clock", methods=["GET"])
    def read_clock() -> Response:
        return Response(
            {"now": iso_utc(stack.clock.now()), "frozen": stack.clock.frozen, "pending": stack.pending()}, headers=JSON
        )

    @app.route("/_local/clock", methods=["POST"])
    def move_clock() -> Response:
        body: Any = request().json_body or {}
        try:
            target = _target(body, stack.clock.now())
            firings = stack.advance_to(target)
        except ValueError as e:
            return Response(error_body("invalid_request", str(e)), status_code=400, headers=JSON)
        fired = [
            {
                "schedule": f.schedule_name,
                "scheduled_time": iso_utc(f.scheduled_time),
                "result": f.result,
                "error": f.error,
                "attempt": f.attempt,  # 2 and on: Scheduler's retries of a failed invocation
                "dead_lettered": f.dead_lettered,
            }
            for f in firings
        ]
        return Response({"now": iso_utc(stack.clock.now()), "fired": fired}, headers=JSON)

    @app.route("/_local/state", methods=["GET"])
    def saved_state() -> Response:
        """Where the stack keeps its state, and whether the last change is on disk (`?wait=1` waits for it)."""
        params: Any = request().query_params or {}
        wait = params.get("wait") not in (None, "", "0", "false")
        return Response(stack.saved_state(wait), headers=JSON)

    @app.route("/_local/faults", methods=["GET"])
    def faults() -> Response:
        """What the fault switch (infra/local/faults.py) has done so far; `{"faults": null}` when it is off."""
        return Response({"faults": stack.faults.figures() if stack.faults is not None else None}, headers=JSON)

    @app.route("/_local/sms/inbound", methods=["POST"])
    def inbound_sms() -> Response:
        """A patient's SMS reply, injected as End User Messaging would publish it to the inbound topic."""
        body: Any = request().json_body
        if not isinstance(body, dict) or not isinstance(body.get("from"), str) or not isinstance(body.get("body"), str):
            return Response(
                error_body("invalid_request", 'send {"from": "+14155550100", "body": "C"} ("to" optional)'),
                status_code=400,
                headers=JSON,
            )
        # End User Messaging only ever publishes a sender's number, in E.164: a sender that is no phone number
        # (a typo in a script, a name) is refused here rather than injected as a reply no one could have sent.
        sender = read_phone(body["from"], None)
        if sender is None:
            return Response(
                error_body(
                    "invalid_request",
                    "from: is not a phone number with its country code, such as +14155550100",
                    [{"field": "from", "problem": "is not a phone number with its country code, such as +14155550100"}],
                ),
                status_code=400,
                headers=JSON,
            )
        message_id = stack.inject_inbound_sms(sender, body.get("to"), body["body"])
        return Response({"inbound_message_id": message_id}, status_code=202, headers=JSON)

    _add_whatsapp_routes(app, stack)


def _add_whatsapp_routes(app: Chalice, stack: LocalStack) -> None:
    """The emulated End User Messaging Social (infra/local/whatsapp_emulator.py): a patient writing on WhatsApp,
    and a number that has no WhatsApp account."""

    def refused(text: str, field: str) -> Response:
        return Response(
            error_body("invalid_request", f"{field}: {text}", [{"field": field, "problem": text}]),
            status_code=400,
            headers=JSON,
        )

    def phone_of_body() -> str | None:
        """The E.164 phone of a `{"phone": ...}` body, or None when there is none."""
        current = app.current_request
        body: Any = current.json_body if current is not None else None
        given = body.get("phone") if isinstance(body, dict) else None
        return read_phone(given, None) if isinstance(given, str) else None

    @app.route("/_local/whatsapp/inbound", methods=["POST"])
    def whatsapp_inbound() -> Response:
        """`{"from": "+14155550100", "body": "C", "to": "phone-number-id-…"}`; `to` (the clinic's WhatsApp sender)
        may be left out when one clinic has one."""
        current = app.current_request
        body: Any = current.json_body if current is not None else None
        if not isinstance(body, dict) or not isinstance(body.get("from"), str) or not isinstance(body.get("body"), str):
            return refused('send {"from": "+14155550100", "body": "C"} ("to" optional)', "body")
        sender = read_phone(body["from"], None)
        if sender is None:
            return refused("is not a phone number with its country code, such as +14155550100", "from")
        to = body.get("to") or _only_sender()
        if not isinstance(to, str):
            return refused("name the clinic's WhatsApp sender (phone-number-id-…): none or several are set", "to")
        message_id = stack.inject_whatsapp(to, sender, body["body"])
        return Response({"inbound_message_id": message_id}, status_code=202, headers=JSON)

    @app.route("/_local/whatsapp/not-on-whatsapp", methods=["POST"])
    def not_on_whatsapp() -> Response:
        """`{"phone": "+14155550100"}`: from now on a message to it fails (status `failed`, Meta's 131026)."""
        phone = phone_of_body()
        if phone is None:
            return refused("is not a phone number with its country code, such as +14155550100", "phone")
        stack.whatsapp.not_on_whatsapp(phone)
        return Response({"phone": phone, "on_whatsapp": False}, headers=JSON)

    @app.route("/_local/sms/refuse", methods=["POST"])
    def refuse_sms() -> Response:
        """`{"phone": "+14155550100"}`: from now on SNS refuses an SMS to it for good (`InvalidParameter`), so the
        message goes once on the patient's next channel (infra/local/sms_refusals.py)."""
        phone = phone_of_body()
        if phone is None:
            return refused("is not a phone number with its country code, such as +14155550100", "phone")
        stack.sms_refusals.refuse(phone)
        return Response({"phone": phone, "sms_refused": True}, headers=JSON)

    @app.route("/_local/whatsapp/withhold-delivery", methods=["POST"])
    def withhold_whatsapp_delivery() -> Response:
        """`{"phone": "+14155550100"}`: from now on a message to it is `sent` and never reported delivered (the
        phone is off), so the clinic's delivery window runs out."""
        phone = phone_of_body()
        if phone is None:
            return refused("is not a phone number with its country code, such as +14155550100", "phone")
        stack.whatsapp.withhold_delivery(phone)
        return Response({"phone": phone, "delivery_reported": False}, headers=JSON)


def _only_sender() -> str | None:
    from chalicelib.store.models import Clinic

    senders = {c.whatsapp_phone_number_id for c in Clinic.scan(Clinic.whatsapp_phone_number_id.exists())}
    return senders.pop() if len(senders) == 1 else None


def _target(body: Any, now: datetime) -> datetime:
    if not isinstance(body, dict) or len(body.keys() & {"advance", "to"}) != 1:
        raise ValueError('send {"advance": "PT26H"} or {"to": "2026-12-01T09:00:00Z"}')
    if "advance" in body:
        try:
            delta: timedelta = isodate.parse_duration(str(body["advance"]))
        except isodate.ISO8601Error as e:
            raise ValueError(f"advance: {body['advance']!r} is not an ISO 8601 duration such as PT26H") from e
        if not isinstance(delta, timedelta):
            raise ValueError("advance: use days, hours, minutes or seconds (P2D, PT26H), not months or years")
        return now + delta
    moment: datetime = datetime.fromisoformat(str(body["to"]))
    if moment.tzinfo is None:
        raise ValueError("to: include a UTC offset, e.g. 2026-12-01T09:00:00Z")
    return moment
