"""Acuity Scheduling: `X-Acuity-Signature` is the base64 HMAC-SHA256 of the raw form-encoded body with the
account's API key (https://developers.acuityscheduling.com/docs/webhooks).

The body is `action=…&id=…&calendarID=…&appointmentTypeID=…`, ids only; static webhooks send `scheduled`,
`rescheduled`, `canceled` or `changed`, dynamic ones `appointment.scheduled` and so on. The appointment itself
comes from `GET /api/v1/appointments/{id}` (https://developers.acuityscheduling.com/reference/get-appointments-id):
its current state, so the time it was read is the event's order, and a late retry cannot undo a newer state.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from chalicelib.core.errors import InvalidRequest
from chalicelib.intake import payload as read
from chalicelib.intake.context import ProviderContext
from chalicelib.intake.events import BookingEvent, EventKind, Ignored, WebhookRequest, millis
from chalicelib.intake.signatures import check_base64

HEADER = "x-acuity-signature"
ACTIONS = {"scheduled", "rescheduled", "canceled", "changed"}


def verify(request: WebhookRequest, context: ProviderContext) -> None:
    check_base64(context.secret, request.body, request.headers.get(HEADER))


def parse(request: WebhookRequest, context: ProviderContext) -> BookingEvent | Ignored:
    try:
        form = parse_qs(request.body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest.single("body", "must be form-encoded (action=…&id=…)") from None
    action = (form.get("action") or [""])[0].removeprefix("appointment.")
    if action not in ACTIONS:
        return Ignored(f"Acuity {action or 'event'} is not a booking change CareCue uses")
    appointment_id = (form.get("id") or [""])[0]
    if not (appointment_id.isascii() and appointment_id.isdigit()):
        raise InvalidRequest.single("id", "must be an Acuity appointment id")
    user_id = context.credentials.settings.get("user-id")
    if not user_id:
        raise InvalidRequest.single("id", "cannot be looked up: no Acuity user id is set for this clinic")
    appointment = context.lookups.acuity.appointment(user_id, context.secret, appointment_id)
    name = " ".join(str(appointment.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
    duration = appointment.get("duration")
    text = str(duration) if isinstance(duration, int | str) else ""
    minutes = int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else 30
    location = appointment.get("location")
    return BookingEvent(
        kind=EventKind.CANCELLED if appointment.get("canceled") is True else EventKind.CREATED,
        external_id=appointment_id,
        sequence=millis(context.now),
        patient=read.patient(
            name,
            appointment.get("phone"),
            appointment.get("email"),
            appointment.get("timezone"),
            None,
            region=context.phone_region,
        ),
        start=read.instant(_iso(appointment.get("datetime")), "datetime"),
        duration_minutes=minutes if 1 <= minutes <= 24 * 60 else 30,
        location=location[:200] if isinstance(location, str) and location else None,
    )


def _iso(value: object) -> object:
    """Acuity writes offsets as `-0500`; `datetime.fromisoformat` wants `-05:00`."""
    if isinstance(value, str) and len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        return f"{value[:-2]}:{value[-2:]}"
    return value
