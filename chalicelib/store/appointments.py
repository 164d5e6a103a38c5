"""Appointments and their reminders in DynamoDB: the booking transaction, the version-checked change and cancel,
the confirmation stamp, and the reads (one appointment, its reminders, a clinic's appointments by start).

Every write that touches an appointment and its reminders is one transaction, so a failed request stores
nothing. A booking is conditioned on the appointment not being there yet (an `external_id` books once); a change
or a cancel on the version it was read at (two requests racing cannot both apply). A failed condition is a
domain error (`AlreadyExists`, `StaleVersion`); any other PynamoDB error propagates as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from msgspec import Struct
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from chalicelib.core import records
from chalicelib.core.errors import AlreadyExists, NotFound, StaleVersion
from chalicelib.core.words import AppointmentStatus
from chalicelib.store import appointment_keys, pending
from chalicelib.store.conditions import condition_failed, failed_items
from chalicelib.store.convert import to_model, to_record, to_records
from chalicelib.store.models import Appointment, AuditEntry, Reminder, transaction
from chalicelib.store.patients import PatientWrite, add_patient

# A change names the appointment's attributes it sets; None removes the attribute.
Changes = Mapping[str, object | None]


def get(clinic_id: str, appointment_id: str) -> records.Appointment:
    """The appointment, read strongly consistent; `NotFound("appointment")` when there is none."""
    found = find(clinic_id, appointment_id, consistent=True)
    if found is None:
        raise NotFound("appointment")
    return found


def find(clinic_id: str, appointment_id: str, consistent: bool = False) -> records.Appointment | None:
    try:
        return to_record(Appointment.get(clinic_id, appointment_id, consistent_read=consistent), records.Appointment)
    except DoesNotExist:
        return None


def reminders_of(appointment_id: str) -> list[records.Reminder]:
    """Every reminder planned for the appointment, read strongly consistent."""
    return to_records(Reminder.query(appointment_id, consistent_read=True), records.Reminder)


def starting_between_page(
    clinic_id: str, start_from: datetime, start_to: datetime, after_key: dict[str, Any] | None, limit: int
) -> tuple[list[records.Appointment], dict[str, Any] | None]:
    """At most `limit` of the clinic's appointments starting in the window, by start, after `after_key` (the
    previous page's last key, None for the first); and this page's last key, None after the last page."""
    found = Appointment.by_start.query(
        clinic_id,
        Appointment.start.between(start_from, start_to),
        limit=limit,
        last_evaluated_key=after_key,
    )
    page = to_records(found, records.Appointment)
    return page, found.last_evaluated_key


def booked_starting_after(clinic_id: str, after: datetime) -> list[records.Appointment]:
    """The clinic's `booked` appointments starting after `after`, by start."""
    return to_records(
        Appointment.by_start.query(
            clinic_id, Appointment.start > after, filter_condition=Appointment.status == AppointmentStatus.BOOKED
        ),
        records.Appointment,
    )


class PatientAppointment(Struct, frozen=True):
    """One of a patient's appointments as the `by-patient` index holds it: its ids, start, zone and status. Read
    the appointment itself (`get`) before changing it."""

    clinic_id: str
    appointment_id: str
    patient_id: str
    start: datetime
    timezone: str
    status: str


# A reply reads one patient's upcoming appointments a page of this many at a time (a patient has a few).
PATIENT_PAGE = 10


def booked_of_patient(
    clinic_id: str, patient_id: str, after: datetime, until: datetime | None = None, limit: int = 1
) -> list[PatientAppointment]:
    """The patient's first `limit` `booked` appointments at the clinic starting after `after` (and at `until` at
    the latest), by start, through the `by-patient` index: what is read is this patient's appointments in the
    window, never the clinic's."""
    window = Appointment.start > after if until is None else Appointment.start.between(after, until)
    found = Appointment.by_patient.query(
        patient_id,
        window,
        filter_condition=(Appointment.status == AppointmentStatus.BOOKED) & (Appointment.clinic_id == clinic_id),
        limit=limit,
        page_size=PATIENT_PAGE,
    )
    return [
        PatientAppointment(a.clinic_id, a.appointment_id, a.patient_id, a.start, a.timezone, a.status) for a in found
    ]


def count_booked_starting_after(clinic_id: str, after: datetime) -> int:
    """How many of the clinic's `booked` appointments start after `after`: one query per MB of the index."""
    return int(
        Appointment.by_start.count(
            clinic_id, Appointment.start > after, filter_condition=Appointment.status == AppointmentStatus.BOOKED
        )
    )


def booked_page(
    clinic_id: str, after: datetime, cursor: str | None, limit: int
) -> tuple[list[records.Appointment], str | None]:
    """At most `limit` of the clinic's `booked` appointments starting after `after`, by start, from `cursor`
    (None: the first); and the cursor of the next page, None after the last. A cursor is opaque JSON text."""
    found = Appointment.by_start.query(
        clinic_id,
        Appointment.start > after,
        filter_condition=Appointment.status == AppointmentStatus.BOOKED,
        limit=limit,
        last_evaluated_key=json.loads(cursor) if cursor else None,
    )
    page = to_records(found, records.Appointment)
    next_key = found.last_evaluated_key
    return page, json.dumps(next_key, sort_keys=True) if next_key else None


def index_unlisted_providers() -> int:
    """A one-off after the `by-provider` index was added (docs/operations.md, `index-pending`): gives every stored
    appointment written without it its `clinic_provider` key; how many it gave. One scan; each appointment is
    updated only if its provider is still as read and it has no key yet, so a change racing it is never undone
    and a second run changes nothing."""
    listed = 0
    for appointment in Appointment.scan(Appointment.clinic_provider.does_not_exist()):
        provider = appointment.provider
        unchanged = Appointment.provider.does_not_exist() if provider is None else Appointment.provider == provider
        try:
            appointment.update(
                actions=[
                    Appointment.clinic_provider.set(appointment_keys.provider_key(appointment.clinic_id, provider))
                ],
                condition=unchanged & Appointment.clinic_provider.does_not_exist(),
            )
        except UpdateError as e:
            if not condition_failed(e):
                raise
            continue
        listed += 1
    return listed


def create(
    appointment: records.Appointment,
    patient: PatientWrite,
    reminders: Iterable[records.Reminder] = (),
    audit: records.AuditEntry | None = None,
) -> bool:
    """Stores a new booking with its patient (new, or reused with its lookup rows) and reminders, all or nothing;
    `AlreadyExists("appointment")` when an appointment with its id is already stored (the same `external_id`
    booked before, or concurrently); `AlreadyExists("patient")` when another request claimed one of the patient's
    lookup rows meanwhile (the caller matches the patient again and retries).

    `audit`: the request's audit entry, written in the same transaction (last, so the items' positions above are
    as without it). True when it was written; False when it was not asked for, or when the transaction was
    refused for another reason than its conditions and the booking was then stored without it (the trail must
    never refuse a booking: `chalicelib.audit`), so the caller records it on its own."""
    reminders = list(reminders)
    try:
        with transaction() as write:
            write.save(to_model(appointment, Appointment), condition=Appointment.appointment_id.does_not_exist())
            patient_items = add_patient(write, patient, appointment.created_at)
            for reminder in reminders:
                write.save(to_model(reminder, Reminder))
            if audit is not None:
                write.save(to_model(audit, AuditEntry))
    except TransactWriteError as e:
        failed = failed_items(e)
        if 0 in failed:
            raise AlreadyExists("appointment") from e
        if any(1 <= index <= patient_items for index in failed):
            raise AlreadyExists("patient") from e
        if audit is None:
            raise
        create(appointment, patient, reminders)
        return False
    return audit is not None


def change(
    appointment: records.Appointment, expected_version: int, changes: Changes, reminders: Iterable[records.Reminder]
) -> None:
    """Applies `changes` to the appointment and saves the reminders, all or nothing, only if the stored
    appointment is still at `expected_version`; else `StaleVersion("appointment")` and nothing is written."""
    actions = [
        _attribute(name).set(value) if value is not None else _attribute(name).remove()
        for name, value in changes.items()
    ]
    if "provider" in changes:  # the `by-provider` index's key follows the provider, in the same write
        provider = changes["provider"]
        key = appointment_keys.provider_key(appointment.clinic_id, provider if isinstance(provider, str) else None)
        actions.append(Appointment.clinic_provider.set(key))
    try:
        with transaction() as write:
            write.update(
                to_model(appointment, Appointment), actions=actions, condition=Appointment.version == expected_version
            )
            for reminder in reminders:
                write.save(to_model(reminder, Reminder))
    except TransactWriteError as e:
        if condition_failed(e):
            raise StaleVersion("appointment") from e
        raise


def cancel(
    appointment: records.Appointment,
    expected_version: int,
    now: datetime,
    via: str,
    provider_sequence: int | None,
    reminders: Iterable[records.Reminder],
) -> None:
    """Marks the appointment cancelled at the next version, with its cancelled reminders and notices, if it is
    still at `expected_version`; else `StaleVersion("appointment")`."""
    changes: dict[str, object | None] = {
        "status": AppointmentStatus.CANCELLED,
        "version": expected_version + 1,
        "updated_at": now,
        "cancelled_via": via,
    }
    if provider_sequence is not None:
        changes["provider_sequence"] = provider_sequence
    change(appointment, expected_version, changes, reminders)


def note_provider_sequence(appointment: records.Appointment, provider_sequence: int) -> None:
    """Records that a booking tool's event was applied although it changed nothing (the version stays, so no
    notice or timer planned for it goes stale); only ever moves the sequence forwards."""
    try:
        to_model(appointment, Appointment).update(
            actions=[Appointment.provider_sequence.set(provider_sequence)],
            condition=Appointment.provider_sequence.does_not_exist()
            | (Appointment.provider_sequence < provider_sequence),
        )
    except UpdateError as e:
        if not condition_failed(e):
            raise


def confirm(appointment: records.Appointment, now: datetime, via: str) -> None:
    """Stamps the patient's confirmation (an update of those attributes only)."""
    to_model(appointment, Appointment).update(
        actions=[
            Appointment.confirmed_at.set(now),
            Appointment.confirmed_via.set(via),
            Appointment.updated_at.set(now),
        ]
    )


def timer_refused(reminder: records.Reminder, now: datetime) -> None:
    """Scheduler refused the reminder's timer: recorded on it (the `unarmed` rows of `by-due`), so the hourly
    reconciler arms it again however far ahead it is due."""
    pending.mark_unarmed(reminder, now)


def _attribute(name: str) -> Any:
    if name not in Appointment.get_attributes():
        raise ValueError(f"an appointment has no attribute {name!r}")
    return getattr(Appointment, name)
