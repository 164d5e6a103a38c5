"""The appointment side of a send: reload the appointment, re-check it, and word the message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.exceptions import DoesNotExist

from chalicelib.delivery.dispatch import DeliveryRequest
from chalicelib.delivery.preparation import NotSending, Ready
from chalicelib.messages.templates import Message
from chalicelib.planning.appointment_reminders import Channel, Kind, Status
from chalicelib.store.models import Appointment, Clinic, Patient, Reminder
from chalicelib.timezones import local_time

if TYPE_CHECKING:
    from chalicelib.links.service import LinkSigner


class AppointmentMessages:
    def __init__(self, links: LinkSigner | None = None) -> None:
        self._links = links

    def prepare(self, request: DeliveryRequest, reminder: Reminder) -> Ready | NotSending:
        try:
            appointment = Appointment.get(request.clinic_id, request.owner_id, consistent_read=True)
        except DoesNotExist:
            return NotSending("stale", "appointment_gone")
        if appointment.version != request.version:
            # A newer timer (or a cancel) owns this reminder now.
            return NotSending("stale", "appointment_changed")
        expected_status = "cancelled" if reminder.kind == Kind.CANCELLATION_NOTICE else "booked"
        if appointment.status != expected_status:
            return NotSending("skipped", f"appointment_{appointment.status}", Status.CANCELLED)
        clinic = Clinic.get(request.clinic_id)
        patient = Patient.get(request.clinic_id, appointment.patient_id)
        channel = Channel(reminder.channel)
        address = patient.phone if channel is Channel.SMS else patient.email
        if not address:
            return NotSending("skipped", "no_contact", Status.SKIPPED)
        zone = patient.timezone or appointment.timezone or clinic.timezone
        message = self._words(Kind(reminder.kind), channel, clinic, patient, appointment, zone)
        return Ready(clinic, patient, channel, address, message, appointment.start, zone)

    def _words(
        self, kind: Kind, channel: Channel, clinic: Clinic, patient: Patient, appointment: Appointment, zone: str
    ) -> Message:
        """In the patient's language, with the clinic's own SMS templates and, on a reminder, a confirm link."""
        from chalicelib.clinics.policy import clinic_policy
        from chalicelib.links.tokens import Purpose
        from chalicelib.messages.localized import LocalizedFacts, render_localized

        policy = clinic_policy(clinic)
        link = None
        if self._links is not None and kind is Kind.REMINDER:
            link = self._links.url(Purpose.CONFIRM, clinic.clinic_id, appointment.appointment_id, appointment.start)
        local_start = local_time(appointment.start, zone)
        facts = LocalizedFacts(clinic.name, local_start, appointment.location, link, policy.contact_phone)
        return render_localized(kind, channel, facts, patient.language, policy.templates)
