"""The JSON shape of an appointment in the REST API."""

from __future__ import annotations

from typing import Any

from chalicelib.appointments.service import AppointmentRecord
from chalicelib.core.clock import iso_utc
from chalicelib.core.records import Reminder
from chalicelib.core.timezones import local_time


def appointment_view(record: AppointmentRecord) -> dict[str, Any]:
    appointment, patient = record.appointment, record.patient
    return {
        "id": appointment.appointment_id,
        "status": appointment.status,
        "start": iso_utc(appointment.start),
        "start_local": local_time(appointment.start, appointment.timezone).isoformat(),
        "timezone": appointment.timezone,
        "duration_minutes": appointment.duration_minutes,
        "provider": appointment.provider,
        "location": appointment.location,
        "event_type": appointment.event_type,
        "source": appointment.source,
        "external_id": appointment.external_id,
        "version": appointment.version,
        "confirmed_at": iso_utc(appointment.confirmed_at) if appointment.confirmed_at else None,
        "confirmed_via": appointment.confirmed_via,
        "cancelled_via": appointment.cancelled_via,
        "patient": {
            "id": patient.patient_id,
            "name": patient.name,
            "phone": patient.phone,
            "email": patient.email,
            "timezone": patient.timezone,
            "language": patient.language,
            # How the booking found the clinic's existing patient (phone | email), or None: a new patient.
            "matched": appointment.patient_matched,
        },
        "reminders": [reminder_view(r) for r in sorted(record.reminders, key=lambda r: (r.send_at, r.reminder_id))],
    }


def reminder_view(reminder: Reminder) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": reminder.reminder_id,
        "kind": reminder.kind,
        "channel": reminder.channel,
        "send_at": iso_utc(reminder.send_at),
        "status": reminder.status,
    }
    if reminder.reason:
        view["reason"] = reminder.reason
    if reminder.sent_at:
        view["sent_at"] = iso_utc(reminder.sent_at)
    return view
