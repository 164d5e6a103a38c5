"""Cal.com: `X-Cal-Signature-256` is the hex HMAC-SHA256 of the raw body with the webhook's secret.

Payloads (https://cal.com/docs/developing/guides/automation/webhooks) are `{"triggerEvent", "createdAt",
"payload": {uid, startTime, endTime, location, attendees: [{name, email, timeZone, language: {locale},
phoneNumber}], responses, rescheduleUid, ...}}`. A reschedule makes a new booking with a new `uid` and names
the old one in `rescheduleUid`; the same CareCue appointment moves.
"""

from __future__ import annotations

from chalicelib.core.errors import InvalidRequest
from chalicelib.intake import payload as read
from chalicelib.intake.context import ProviderContext
from chalicelib.intake.events import BookingEvent, EventKind, Ignored, WebhookRequest, millis
from chalicelib.intake.signatures import check_hex

HEADER = "x-cal-signature-256"
KINDS = {
    "BOOKING_CREATED": EventKind.CREATED,
    "BOOKING_RESCHEDULED": EventKind.RESCHEDULED,
    "BOOKING_CANCELLED": EventKind.CANCELLED,
}


def verify(request: WebhookRequest, context: ProviderContext) -> None:
    check_hex(context.secret, request.body, request.headers.get(HEADER))


def parse(request: WebhookRequest, context: ProviderContext) -> BookingEvent | Ignored:
    body = read.json_object(request.body)
    trigger = body.get("triggerEvent")
    kind = KINDS.get(trigger) if isinstance(trigger, str) else None
    if kind is None:
        return Ignored(f"Cal.com {trigger} is not a booking change CareCue uses")
    booking = body.get("payload")
    if not isinstance(booking, dict):
        raise InvalidRequest.single("payload", "is required")
    attendee = read.dig_object(booking, "attendees.0")
    start = read.instant(booking.get("startTime"), "payload.startTime")
    end = booking.get("endTime")
    duration = 30
    if end is not None:
        minutes = int((read.instant(end, "payload.endTime") - start).total_seconds() // 60)
        duration = minutes if 1 <= minutes <= 24 * 60 else 30
    uid = read.required_text(booking.get("uid"), "payload.uid")
    previous = booking.get("rescheduleUid") if kind is EventKind.RESCHEDULED else None
    phone = (
        attendee.get("phoneNumber")
        or read.dig(booking, "responses.attendeePhoneNumber.value")
        or booking.get("smsReminderNumber")
    )
    location = booking.get("location")
    return BookingEvent(
        kind=kind,
        external_id=uid,
        sequence=millis(read.instant(body.get("createdAt"), "createdAt")),
        patient=read.patient(
            attendee.get("name"),
            phone,
            attendee.get("email"),
            attendee.get("timeZone"),
            read.dig(attendee, "language.locale"),
            field="payload.attendees.0.name",
            region=context.phone_region,
        ),
        start=start,
        duration_minutes=duration,
        location=location[:200] if isinstance(location, str) and location else None,
        previous_external_id=previous if isinstance(previous, str) and previous and previous != uid else None,
    )
