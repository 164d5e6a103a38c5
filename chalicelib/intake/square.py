"""Square Bookings: `x-square-hmacsha256-signature` is the base64 HMAC-SHA256, with the subscription's signature
key, of the notification URL exactly as configured in Square followed by the raw body
(https://developer.squareup.com/docs/webhooks/step3validate).

`booking.created` and `booking.updated` (https://developer.squareup.com/reference/square/webhooks/booking.updated)
carry `data.object.booking` with `id`, `version`, `status`, `start_at`, `appointment_segments` and a
`customer_id`; `booking.updated` also carries cancellations in its status. The booking's `version` orders
events. The customer's name, phone and email come from the Customers API (`GET /v2/customers/{id}`).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import InvalidRequest, SignatureMismatch
from chalicelib.intake import payload as read
from chalicelib.intake.context import ProviderContext
from chalicelib.intake.events import BookingEvent, EventKind, Ignored, WebhookRequest
from chalicelib.intake.signatures import check_base64

HEADER = "x-square-hmacsha256-signature"
BOOKED = {"ACCEPTED", "PENDING"}
CANCELLED = {"CANCELLED_BY_CUSTOMER", "CANCELLED_BY_SELLER", "DECLINED"}


def verify(request: WebhookRequest, context: ProviderContext) -> None:
    url = context.credentials.settings.get("notification-url")
    if not url:
        # A mismatch of the stored settings, not of the request: the intake reads them once more before refusing.
        raise SignatureMismatch("no Square notification URL is set for this clinic (set-webhook-secret)")
    check_base64(context.secret, url.encode("utf-8") + request.body, request.headers.get(HEADER))


def parse(request: WebhookRequest, context: ProviderContext) -> BookingEvent | Ignored:
    body = read.json_object(request.body)
    event_type = body.get("type")
    if event_type not in ("booking.created", "booking.updated"):
        return Ignored(f"Square {event_type} is not a booking change CareCue uses")
    booking = read.dig(body, "data.object.booking")
    if not isinstance(booking, dict):
        raise InvalidRequest.single("data.object.booking", "is required")
    status = booking.get("status")
    if status is not None and not isinstance(status, str):  # a list or an object cannot even be looked up
        raise InvalidRequest.single("data.object.booking.status", "must be a Square booking status, e.g. ACCEPTED")
    if status in CANCELLED:
        kind = EventKind.CANCELLED
    elif status in BOOKED:
        kind = EventKind.CREATED if event_type == "booking.created" else EventKind.RESCHEDULED
    else:
        return Ignored(f"Square booking status {status} changes no reminder")
    version = booking.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidRequest.single("data.object.booking.version", "must be a whole number")
    segments = booking.get("appointment_segments")
    # Only whole minutes count: anything else in a segment is left out rather than failing the booking.
    durations = (
        [s.get("duration_minutes") for s in segments if isinstance(s, dict)] if isinstance(segments, list) else []
    )
    total = sum(d for d in durations if isinstance(d, int) and not isinstance(d, bool))
    customer = _customer(booking.get("customer_id"), context)
    name = " ".join(p for p in (customer.get("given_name"), customer.get("family_name")) if isinstance(p, str) and p)
    return BookingEvent(
        kind=kind,
        external_id=read.required_text(booking.get("id"), "data.object.booking.id"),
        sequence=version,
        patient=read.patient(
            name or "Square customer",
            customer.get("phone_number"),
            customer.get("email_address"),
            None,
            None,
            region=context.phone_region,
        ),
        start=read.instant(booking.get("start_at"), "data.object.booking.start_at"),
        duration_minutes=total if isinstance(total, int) and 1 <= total <= 24 * 60 else 30,
    )


def _customer(customer_id: Any, context: ProviderContext) -> dict[str, Any]:
    token = context.credentials.settings.get("access-token")
    if not isinstance(customer_id, str) or not customer_id or not token:
        # Without a customer there is no one to remind: the booking is kept, flagged as having no contact.
        return {}
    return context.lookups.square.customer(token, customer_id)
