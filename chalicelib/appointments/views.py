"""The JSON shape of an appointment in the REST API: TypedDicts the views return (mypy checks each view against
its type; the OpenAPI document's response schemas are generated from them)."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from chalicelib.appointments.service import AppointmentRecord
from chalicelib.core.clock import iso_utc
from chalicelib.core.records import Reminder
from chalicelib.core.timezones import local_time
from chalicelib.fire.receipts import DeliveryView


class ReminderView(TypedDict):
    """One message of the appointment: `reason` once skipped, failed or missed, `sent_at` once sent."""

    id: str
    kind: str
    channel: str
    send_at: str
    status: str
    reason: NotRequired[str]
    sent_at: NotRequired[str]
    # How it went, once sent or failed: the channel it went on, its receipts, lateness, any fallback
    # (`chalicelib.fire.receipts`).
    delivery: NotRequired[DeliveryView]


class AppointmentPatientView(TypedDict):
    id: str
    name: str
    phone: str | None
    email: str | None
    timezone: str | None
    language: str | None
    matched: str | None


class AppointmentSummary(TypedDict):
    """An appointment without its reminders, as `GET /v1/appointments` lists it."""

    id: str
    status: str
    start: str
    start_local: str
    timezone: str
    duration_minutes: int
    provider: str | None
    location: str | None
    source: str | None
    external_id: str | None
    event_type: str | None
    version: int
    confirmed_at: str | None
    confirmed_via: str | None
    cancelled_via: str | None
    patient: AppointmentPatientView


class AppointmentView(AppointmentSummary):
    reminders: list[ReminderView]


class AppointmentPage(TypedDict):
    """A page of `GET /v1/appointments`; `next` is null after the last page."""

    appointments: list[AppointmentSummary]
    next: str | None


def appointment_page(records: list[AppointmentRecord], cursor: str | None) -> AppointmentPage:
    return {"appointments": [appointment_summary(r) for r in records], "next": cursor}


def appointment_view(record: AppointmentRecord) -> AppointmentView:
    from chalicelib.fire.receipts import receipts_of, sent_view

    reminders = sorted(record.reminders, key=lambda r: (r.send_at, r.reminder_id))
    # A notice this request sent is shown as its send recorded it, not read back.
    known = {rid: sent_view(s.channel, s.sent_at, s.lateness_seconds) for rid, s in record.sent.items()}
    receipts = receipts_of(reminders, known)
    return {
        **appointment_summary(record),
        "reminders": [reminder_view(r, receipts.get(r.reminder_id)) for r in reminders],
    }


def appointment_summary(record: AppointmentRecord) -> AppointmentSummary:
    """The appointment as a list shows it: without its reminders."""
    appointment, patient = record.appointment, record.patient
    return {
        "id": appointment.appointment_id,
        "status": appointment.status,
        "start": iso_utc(appointment.start),
        "start_local": local_time(appointment.start, appointment.timezone).isoformat(),
        "timezone": appointment.timezone,
        "duration_minutes": int(appointment.duration_minutes),
        "provider": appointment.provider,
        "location": appointment.location,
        "event_type": appointment.event_type,
        "source": appointment.source,
        "external_id": appointment.external_id,
        "version": int(appointment.version),
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
    }


def reminder_view(reminder: Reminder, delivery: DeliveryView | None = None) -> ReminderView:
    view: ReminderView = {
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
    if delivery is not None:
        view["delivery"] = delivery
    return view
