"""The store of a clinic's day of visits: the day's appointments, each visit's move (one transaction with the
reminders it cancels), the waiting-room texts' claims, and the providers' learned visit lengths.

The visit and waiting-room packages ask these repositories in their own terms and get records
(`chalicelib.core.records`) back, or the domain errors of `chalicelib.core.errors`; PynamoDB's conditions and
exceptions stay here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.core import records
from chalicelib.core.errors import AlreadyClaimed, NotFound, StaleVersion
from chalicelib.store import appointment_keys
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_model, to_record, to_records
from chalicelib.store.models import Appointment, Clinic, Patient, Reminder, VisitLengths, transaction


def clinic(clinic_id: str) -> records.Clinic:
    try:
        return to_record(Clinic.get(clinic_id), records.Clinic)
    except DoesNotExist:
        raise NotFound("clinic") from None


def patient(clinic_id: str, patient_id: str) -> records.Patient:
    try:
        return to_record(Patient.get(clinic_id, patient_id), records.Patient)
    except DoesNotExist:
        raise NotFound("patient") from None


def appointment(clinic_id: str, appointment_id: str) -> records.Appointment:
    """The appointment as it is now (a strongly consistent read)."""
    try:
        return to_record(Appointment.get(clinic_id, appointment_id, consistent_read=True), records.Appointment)
    except DoesNotExist:
        raise NotFound("appointment") from None


def appointments_starting(clinic_id: str, start: datetime, last: datetime) -> list[records.Appointment]:
    """The clinic's appointments (any status) starting from `start` to `last`, both included, by start."""
    return to_records(
        Appointment.by_start.query(clinic_id, Appointment.start.between(start, last)), records.Appointment
    )


def provider_appointments_starting(
    clinic_id: str, provider: str, start: datetime, last: datetime
) -> list[records.Appointment]:
    """The appointments (any status) of one provider's queue at the clinic (`provider` as the waiting room keys
    it: a name, or `unassigned`) starting from `start` to `last`, both included, by start, through the
    `by-provider` index: the provider's day, not the clinic's."""
    key = appointment_keys.provider_key(clinic_id, provider)
    return to_records(Appointment.by_provider.query(key, Appointment.start.between(start, last)), records.Appointment)


def reminders_of(appointment_id: str) -> list[records.Reminder]:
    return to_records(Reminder.query(appointment_id, consistent_read=True), records.Reminder)


def record_move(
    appointment: records.Appointment,
    *,
    was: str,
    status: str,
    version: int,
    now: datetime,
    cancelled: Sequence[records.Reminder] = (),
    arrived_at: datetime | None = None,
    checked_in_by: str | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    noshow_at: datetime | None = None,
    closed_by: str | None = None,
) -> None:
    """Moves the appointment from status `was` to `status`, stamping the given times, and stores the
    `cancelled` reminders as they are, all in one transaction. StaleVersion: the status is no longer `was`."""
    actions: list[Action] = [
        Appointment.status.set(status),
        Appointment.version.set(version),
        Appointment.updated_at.set(now),
    ]
    stamps: list[tuple[Any, Any]] = [
        (Appointment.arrived_at, arrived_at),
        (Appointment.checked_in_by, checked_in_by),
        (Appointment.started_at, started_at),
        (Appointment.finished_at, finished_at),
        (Appointment.noshow_at, noshow_at),
        (Appointment.closed_by, closed_by),
    ]
    actions += [attribute.set(value) for attribute, value in stamps if value is not None]
    try:
        with transaction() as write:
            write.update(to_model(appointment, Appointment), actions=actions, condition=Appointment.status == was)
            for reminder in cancelled:
                write.save(to_model(reminder, Reminder))
    except TransactWriteError as e:
        if condition_failed(e):
            raise StaleVersion("appointment") from e
        raise


def claim_wait_text(
    appointment: records.Appointment, *, promised_at: datetime, updates: int, next_texted: bool
) -> None:
    """Stores what a waiting patient is about to be texted, if what they were told is still what `appointment`
    was read with. AlreadyClaimed: another refresh texted this patient just now."""
    condition = _unchanged(Appointment.wait_promised_at, appointment.wait_promised_at)
    condition &= _unchanged(Appointment.wait_updates, appointment.wait_updates)
    condition &= _unchanged(Appointment.wait_next_texted, appointment.wait_next_texted)
    actions: list[Action] = [
        Appointment.wait_promised_at.set(promised_at),
        Appointment.wait_updates.set(updates),
        Appointment.wait_next_texted.set(next_texted),
    ]
    _claim(appointment, actions, condition)


def claim_late_text(appointment: records.Appointment, *, step: int, texts: int) -> None:
    """Stores a running-late text about to be sent, if the patient's late texts are still what `appointment`
    was read with. AlreadyClaimed: another refresh texted this patient just now."""
    condition = _unchanged(Appointment.late_step, appointment.late_step)
    condition &= _unchanged(Appointment.late_texts, appointment.late_texts)
    actions: list[Action] = [Appointment.late_step.set(step), Appointment.late_texts.set(texts)]
    _claim(appointment, actions, condition)


def visit_ratios(clinic_id: str, provider: str) -> list[float]:
    """The provider's recent visit-length ratios, oldest first; none yet is an empty list."""
    try:
        history = VisitLengths.get(clinic_id, provider, consistent_read=True)
    except DoesNotExist:
        return []
    return [float(r) for r in list(history.ratios or [])]


def save_visit_ratios(clinic_id: str, provider: str, ratios: list[float], updated_at: datetime) -> None:
    # Last writer wins: a provider finishes one visit at a time, and a lost ratio only slows learning.
    VisitLengths(clinic_id, provider, ratios=ratios, updated_at=updated_at).save()


def _claim(appointment: records.Appointment, actions: list[Action], condition: Condition) -> None:
    try:
        to_model(appointment, Appointment).update(actions=actions, condition=condition)
    except UpdateError as e:
        if condition_failed(e):
            raise AlreadyClaimed() from None
        raise


def _unchanged(attribute: Any, old: Any) -> Condition:
    condition: Condition = attribute.does_not_exist() if old is None else attribute == old
    return condition
