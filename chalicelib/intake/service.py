"""Webhooks from booking tools, end to end: find the tool and the clinic, verify the signature with the clinic's
secret for that tool, parse the payload into a `BookingEvent`, and apply it to the clinic's appointments.

Applying is idempotent and order-safe. The appointment's id is derived from (clinic, tool, the booking's first
id), so a retried create books once. The appointment keeps the tool's sequence of the last event applied
(`provider_sequence`); an event not newer than it changes nothing, and the write that applies an event is
conditional on the appointment's version, so a concurrent newer event cannot be overwritten by an older one
(the loser re-reads and finds itself stale). A cancel that arrives before its create stores the booking
cancelled, and the create finds it so. A tool that gives a rescheduled booking a new id (Cal.com, Calendly)
gets a link from the new id to the appointment of the old one: the appointment moves, it is not re-created.

The signature is checked with the clinic's cached credentials; on a `SignatureMismatch` (signed, but not as the
cached secret or settings say) they are read once more past the cache and the signature checked again, so a
secret just changed with set-webhook-secret or in the console works on the very next delivery. A missing or
malformed signature, or a stale timestamp, is refused at once: no secret could make it acceptable.

Two clocks: `clock` is the application's (event order, reminders; the local stack simulates it) and
`transport_clock` the real one that signature freshness is checked against. Both are the system clock in
production and the transport clock is also the system clock on the local stack (chalicelib.composition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct

from chalicelib.appointments.request import AppointmentChange, NewAppointment
from chalicelib.appointments.service import AppointmentService, external_appointment_id
from chalicelib.core.clock import Clock, iso_utc, to_utc
from chalicelib.core.errors import (
    CareCueError,
    Conflict,
    NotFound,
    PayloadTooLarge,
    SignatureMismatch,
    SignatureRejected,
    StaleVersion,
)
from chalicelib.core.observability import logger
from chalicelib.core.records import Appointment, Clinic
from chalicelib.core.words import AppointmentStatus, WebhookOutcome
from chalicelib.intake.context import ProviderContext
from chalicelib.intake.credentials import WebhookCredentials
from chalicelib.intake.events import BookingEvent, EventKind, Ignored, WebhookRequest
from chalicelib.intake.lookups import BookingLookups
from chalicelib.intake.providers import ADAPTERS, Adapter
from chalicelib.store import appointments as stored_appointments
from chalicelib.store import booking_links
from chalicelib.store.clinics import find_clinic

if TYPE_CHECKING:
    from chalicelib.intake.views import WebhookIgnoredView, WebhookResultView

MAX_BODY_BYTES = 256 * 1024
# Two deliveries of one booking racing each other: the loser re-reads; a third collision is left to the tool's retry.
APPLY_ATTEMPTS = 3


class WebhookResult(Struct, frozen=True):
    status_code: int
    body: WebhookResultView | WebhookIgnoredView


class Applied(Struct, frozen=True):
    appointment: Appointment
    outcome: WebhookOutcome


class WebhookIntake:
    def __init__(
        self,
        clock: Clock,
        appointments: AppointmentService,
        credentials: WebhookCredentials,
        lookups: BookingLookups,
        transport_clock: Clock,
    ) -> None:
        self._clock = clock
        self._transport_clock = transport_clock
        self._appointments = appointments
        self._credentials = credentials
        self._lookups = lookups

    @property
    def credentials(self) -> WebhookCredentials:
        return self._credentials

    def receive(self, provider: str, clinic_id: str, request: WebhookRequest) -> WebhookResult:
        """Answers a booking tool's webhook; a 2xx only once what it carries is stored."""
        try:
            result = self._receive(provider, clinic_id, request)
        except CareCueError as e:
            # Ids and the reason only: a rejected payload may be anyone's, and its content is patient data.
            logger.warning(
                "webhook rejected",
                extra={"provider": provider, "clinic_id": clinic_id, "error": type(e).__name__, "reason": str(e)},
            )
            raise
        return result

    def _receive(self, provider: str, clinic_id: str, request: WebhookRequest) -> WebhookResult:
        adapter = ADAPTERS.get(provider)
        if adapter is None:
            raise NotFound("booking tool")
        if len(request.body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(MAX_BODY_BYTES)
        clinic = find_clinic(clinic_id)
        if clinic is None:
            raise NotFound("clinic")
        context = self._verified(adapter, provider, clinic, request)
        parsed = adapter.parse(request, context)
        if isinstance(parsed, Ignored):
            logger.info(
                "webhook ignored", extra={"provider": provider, "clinic_id": clinic_id, "reason": parsed.reason}
            )
            return WebhookResult(202, {"ignored": parsed.reason})
        applied = self.apply(clinic_id, provider, parsed)
        logger.info(
            "webhook applied",
            extra={
                "provider": provider,
                "clinic_id": clinic_id,
                "appointment_id": applied.appointment.appointment_id,
                "kind": parsed.kind.value,
                "outcome": applied.outcome,
            },
        )
        return WebhookResult(200, _result_body(applied))

    def _verified(self, adapter: Adapter, provider: str, clinic: Clinic, request: WebhookRequest) -> ProviderContext:
        """The context of a request whose signature the clinic's credentials verify; else SignatureRejected."""
        context = self._context(provider, clinic, fresh=False)
        try:
            adapter.verify(request, context)
        except SignatureMismatch:
            # The secret or a setting may have changed since the cache was filled: read once more, then decide.
            context = self._context(provider, clinic, fresh=True)
            adapter.verify(request, context)
        return context

    def _context(self, provider: str, clinic: Clinic, *, fresh: bool) -> ProviderContext:
        credentials = self._credentials.for_tool(clinic.clinic_id, provider, fresh=fresh)
        if credentials.secret is None:
            raise SignatureRejected(f"no {provider} secret is set for this clinic (set-webhook-secret)")
        return ProviderContext(
            clinic.clinic_id,
            clinic.timezone,
            credentials,
            self._clock.now(),
            self._transport_clock.now(),
            self._lookups,
        )

    def apply(self, clinic_id: str, source: str, event: BookingEvent) -> Applied:
        """Applies one booking event; applying it again, or after a newer one, changes nothing."""
        for _ in range(APPLY_ATTEMPTS - 1):
            try:
                return self._apply_once(clinic_id, source, event)
            except Conflict:
                continue
        return self._apply_once(clinic_id, source, event)

    def _apply_once(self, clinic_id: str, source: str, event: BookingEvent) -> Applied:
        appointment_id, root_external_id = self._resolve(clinic_id, source, event)
        existing = _find(clinic_id, appointment_id)
        if existing is None:
            request = NewAppointment(
                event.patient, event.start, event.duration_minutes, None, event.location, root_external_id
            )
            if event.kind is EventKind.CANCELLED:
                record = self._appointments.record_cancelled(clinic_id, request, source, event.sequence)
                return Applied(record.appointment, WebhookOutcome.CANCELLED_BEFORE_BOOKED)
            record = self._appointments.book(clinic_id, request, source=source, provider_sequence=event.sequence)
            if not record.created:
                raise Conflict("booked by a concurrent delivery")  # re-read and apply this event on top
            return Applied(record.appointment, WebhookOutcome.BOOKED)
        applied = existing.provider_sequence
        if applied is not None and event.sequence <= applied:
            return Applied(
                existing, WebhookOutcome.ALREADY_APPLIED if event.sequence == applied else WebhookOutcome.STALE
            )
        if existing.status == AppointmentStatus.CANCELLED:
            return Applied(existing, WebhookOutcome.STAYS_CANCELLED)
        if event.kind is EventKind.CANCELLED:
            record = self._appointments.cancel(clinic_id, appointment_id, provider_sequence=event.sequence)
            return Applied(record.appointment, WebhookOutcome.CANCELLED)
        moved = to_utc(event.start) != existing.start
        if not moved and (event.duration_minutes, event.location) == (existing.duration_minutes, existing.location):
            # Nothing a patient would see changed (an Acuity retry reads the same state): keep the reminders and
            # their timers as they are, and only remember that this event has been applied.
            _remember_sequence(existing, event.sequence)
            return Applied(existing, WebhookOutcome.UNCHANGED)
        present = {"duration_minutes", "location"} | ({"start"} if moved else set())
        change = AppointmentChange(
            start=event.start if moved else None,
            duration_minutes=event.duration_minutes,
            provider=None,
            location=event.location,
            present=frozenset(present),
        )
        record = self._appointments.change(clinic_id, appointment_id, change, provider_sequence=event.sequence)
        return Applied(record.appointment, WebhookOutcome.MOVED if moved else WebhookOutcome.UPDATED)

    def _resolve(self, clinic_id: str, source: str, event: BookingEvent) -> tuple[str, str]:
        """The appointment a booking id belongs to, and the id it was first known by."""
        link = booking_links.find_link(clinic_id, source, event.external_id)
        if link is not None:
            return link.appointment_id, link.root_external_id
        if event.previous_external_id is None:
            return external_appointment_id(clinic_id, source, event.external_id), event.external_id
        previous = booking_links.find_link(clinic_id, source, event.previous_external_id)
        root = previous.root_external_id if previous is not None else event.previous_external_id
        appointment_id = external_appointment_id(clinic_id, source, root)
        booking_links.save_link(clinic_id, source, event.external_id, appointment_id, root, self._clock.now())
        return appointment_id, root


def _remember_sequence(appointment: Appointment, sequence: int) -> None:
    try:
        booking_links.remember_sequence(appointment, sequence)
    except StaleVersion as e:
        raise Conflict("the appointment was changed by another request") from e  # re-read and retry


def _find(clinic_id: str, appointment_id: str) -> Appointment | None:
    return stored_appointments.find(clinic_id, appointment_id, consistent=True)


def _result_body(applied: Applied) -> WebhookResultView:
    appointment = applied.appointment
    body: WebhookResultView = {
        "appointment_id": appointment.appointment_id,
        "outcome": applied.outcome,
        "status": appointment.status,
        "start": iso_utc(appointment.start),
        "timezone": appointment.timezone,
        "version": int(appointment.version),
    }
    if appointment.contactless:
        body["reminders"] = "none"
        body["reason"] = "no_contact"
        body["detail"] = "the booking has neither a phone nor an email: it is stored, and no reminder will be sent"
    return body
