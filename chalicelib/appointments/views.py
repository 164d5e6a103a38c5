"""The JSON shape of an appointment in the REST API: TypedDicts the views return (mypy checks each view against
its type; the OpenAPI document's response schemas are generated from them)."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from chalicelib.appointments.service import AppointmentRecord
from chalicelib.core.clock import iso_utc
from chalicelib.core.records import Appointment, Delivery, Reminder
from chalicelib.core.timezones import local_time
from chalicelib.fire.receipts import DeliveryView, FallbackView


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


class WaitingTextView(TypedDict):
    """One waiting-room text of the visit (`chalicelib.waiting.service`: the wait-time text at check-in, its
    update, "you're next", the running-late texts), as its delivery record shows it. `status` is the record's:
    `sent`, `failed` (the channel refused it: see `failure`, and `fallback` for the next channel), `skipped`
    (nothing went: the spend cap, `failure` says so) or `claimed` (being sent, or lost to a crash); `receipt` and
    its times as a reminder's `delivery` shows them, once sent or failed. Never the words of the text (a
    reminder's view does not show them either)."""

    id: str  # `wait.{n}` or `late.{n}`: the visit's n-th wait or running-late text
    kind: str  # wait_check_in | wait_update | wait_next | running_late (the kind the notice was sent as)
    number: int
    status: str  # sent | failed | skipped | claimed
    channel: str  # the first channel it went on; a fallback names its own
    receipt: NotRequired[str]  # sent | delivered | read | failed
    sent_at: NotRequired[str]
    delivered_at: NotRequired[str]
    read_at: NotRequired[str]
    failure: NotRequired[str]
    delivery_seconds: NotRequired[float]  # sent → delivered
    fallback: NotRequired[FallbackView]


class AppointmentSummary(TypedDict):
    """An appointment without its reminders, as `GET /v1/appointments` lists it: without its waiting-room texts
    too, since reading them costs a read per appointment and a page stays one query (`appointment_page`)."""

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
    # The visit's waiting-room texts in the order they went (`waiting_texts`); [] for a visit never texted.
    waiting_texts: list[WaitingTextView]


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
        "waiting_texts": waiting_texts(record.appointment),
    }


def waiting_texts(appointment: Appointment) -> list[WaitingTextView]:
    """The visit's waiting-room texts, in the order they went (claimed, for one that never went).

    What it costs: the appointment's own claim counters name the texts it handed out (`visits.texts.texted`, at
    most 5), so their delivery records and their fallbacks' own records are read by key, in one BatchGetItem
    (`store.deliveries.notice_deliveries`), at the appointment's start, whatever the number of texts; nothing at
    all for a visit never checked in and never told of a running-late provider. Never a scan or a query of the
    deliveries. A text about the visit at an earlier start (the appointment moved after it) is not shown: its
    record is keyed at that start, which the appointment no longer knows."""
    from chalicelib.store.deliveries import notice_deliveries
    from chalicelib.visits.texts import number_of, texted

    found = notice_deliveries(appointment.appointment_id, texted(appointment), iso_utc(appointment.start))
    went = sorted(found.items(), key=lambda kv: (kv[1][0].sent_at or kv[1][0].claimed_at, kv[0]))
    return [waiting_text_view(notice_id, number_of(notice_id), *records) for notice_id, records in went]


def waiting_text_view(
    notice_id: str, number: int, delivery: Delivery, fallback_record: Delivery | None
) -> WaitingTextView:
    """One waiting-room text as the front desk sees it: a reminder's `delivery` view of its record, with the
    notice's name, kind and the record's status; no `lateness_seconds` (a notice goes at once, it is always 0)."""
    import json

    from chalicelib.core.words import DeliveryStatus
    from chalicelib.fire.receipts import delivery_view

    facts = json.loads(delivery.notice or "{}")
    view: WaitingTextView = {
        "id": notice_id,
        "kind": str(facts.get("kind", "")),
        "number": number,
        "status": delivery.status,
        "channel": delivery.channel,
    }
    if delivery.status not in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
        if delivery.failure:
            view["failure"] = delivery.failure  # why nothing went: spend_cap
        return view
    shown = delivery_view(delivery, fallback_record)
    view["receipt"] = shown["receipt"]
    if "sent_at" in shown:
        view["sent_at"] = shown["sent_at"]
    if "delivered_at" in shown:
        view["delivered_at"] = shown["delivered_at"]
    if "read_at" in shown:
        view["read_at"] = shown["read_at"]
    if "failure" in shown:
        view["failure"] = shown["failure"]
    if "delivery_seconds" in shown:
        view["delivery_seconds"] = shown["delivery_seconds"]
    if "fallback" in shown:
        view["fallback"] = shown["fallback"]
    return view


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
