"""Calendly (webhooks API v2): `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 of `t + "." + body`
with the subscription's signing key; a timestamp more than 3 minutes away either way is refused, by the real clock
(`ProviderContext.transport_now`), not the local stack's simulated one.

Payloads (https://developer.calendly.com/docs/webhooks/overview) are `{"event", "created_at", "payload": invitee}`
where the invitee has `uri`, `name`, `email`, `timezone`, `text_reminder_number`, `rescheduled`, `old_invitee`,
`new_invitee` and `scheduled_event: {start_time, end_time, location}`. A reschedule sends `invitee.canceled`
with `rescheduled: true` for the old invitee and `invitee.created` with `old_invitee` for the new one
(https://developer.calendly.com/docs/api-guides/see-how-webhook-payloads-change-when-invitees-reschedule-events):
the cancel is ignored and the create moves the appointment, so the patient hears one reschedule notice.
"""

from __future__ import annotations

from chalicelib.core.errors import InvalidRequest
from chalicelib.intake import payload as read
from chalicelib.intake.context import ProviderContext
from chalicelib.intake.events import BookingEvent, EventKind, Ignored, WebhookRequest, millis
from chalicelib.intake.signatures import check_timestamped

HEADER = "calendly-webhook-signature"


def verify(request: WebhookRequest, context: ProviderContext) -> None:
    check_timestamped(context.secret, request.body, request.headers.get(HEADER), context.transport_now)


def parse(request: WebhookRequest, context: ProviderContext) -> BookingEvent | Ignored:
    body = read.json_object(request.body)
    event = body.get("event")
    invitee = body.get("payload")
    if event not in ("invitee.created", "invitee.canceled"):
        return Ignored(f"Calendly {event} is not a booking change CareCue uses")
    if not isinstance(invitee, dict):
        raise InvalidRequest.single("payload", "is required")
    if event == "invitee.canceled" and invitee.get("rescheduled") is True:
        return Ignored("rescheduled: the invitee.created for the new time moves the appointment")
    old_invitee = invitee.get("old_invitee")
    if event == "invitee.canceled":
        kind = EventKind.CANCELLED
    else:
        kind = EventKind.RESCHEDULED if isinstance(old_invitee, str) and old_invitee else EventKind.CREATED
    start = read.instant(read.dig(invitee, "scheduled_event.start_time"), "payload.scheduled_event.start_time")
    end = read.dig(invitee, "scheduled_event.end_time")
    duration = 30
    if end is not None:
        minutes = int((read.instant(end, "payload.scheduled_event.end_time") - start).total_seconds() // 60)
        duration = minutes if 1 <= minutes <= 24 * 60 else 30
    location = read.dig(invitee, "scheduled_event.location.location")
    return BookingEvent(
        kind=kind,
        external_id=read.required_text(invitee.get("uri"), "payload.uri"),
        sequence=millis(read.instant(body.get("created_at"), "created_at")),
        patient=read.patient(
            invitee.get("name"),
            invitee.get("text_reminder_number"),
            invitee.get("email"),
            invitee.get("timezone"),
            None,  # Calendly gives no invitee language
            field="payload.name",
            region=context.phone_region,
        ),
        start=start,
        duration_minutes=duration,
        location=location[:200] if isinstance(location, str) and location else None,
        previous_external_id=old_invitee if kind is EventKind.RESCHEDULED else None,
    )
