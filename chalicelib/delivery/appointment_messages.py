"""The appointment side of a send: reload the appointment, re-check it, and word the message."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.delivery.dispatch import DeliveryRequest
from chalicelib.delivery.preparation import NotSending, Ready
from chalicelib.messages.templates import AppointmentFacts, render
from chalicelib.planning.appointment_reminders import Channel, Kind, Status
from chalicelib.store.models import Appointment, Clinic, Patient, Reminder
from chalicelib.timezones import local_time


class AppointmentMessages:
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
        facts = AppointmentFacts(clinic.name, local_time(appointment.start, zone), appointment.location)
        message = render(Kind(reminder.kind), channel, facts)
        return Ready(clinic, patient, channel, address, message, appointment.start, zone)
