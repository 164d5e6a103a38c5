"""Medication regimens and their doses in DynamoDB (`chalicelib.regimens`): the regimen written with its new
patient and withdrawn again when Scheduler refuses its timers, its status and timer names, the doses recorded as
their timers fire (skipped, taken, snoozed), and the `regimen` reminders a dose's messages are sent as.

A regimen is created on the condition that it is not there yet (an `external_id` creates it once, even when sent
twice at once); the names of a chained timer's next link are written only if the regimen is still at the version
it was read at. A failed condition is a domain error (`AlreadyExists`, `StaleVersion`); any other PynamoDB error
propagates as it is. Dose keys are the ISO 8601 UTC due times (`chalicelib.core.clock.iso_utc`).
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib.core import records
from chalicelib.core.errors import AlreadyExists, StaleVersion
from chalicelib.core.words import DoseStatus
from chalicelib.store.conditions import condition_failed, failed_items
from chalicelib.store.convert import to_model, to_record, to_records
from chalicelib.store.models import Dose, Patient, Regimen, Reminder, transaction
from chalicelib.store.patients import PatientWrite, add_patient, remove_patient

# --- regimens ------------------------------------------------------------------------------------------------


def find(clinic_id: str, regimen_id: str, consistent: bool = True) -> records.Regimen | None:
    try:
        return to_record(Regimen.get(clinic_id, regimen_id, consistent_read=consistent), records.Regimen)
    except DoesNotExist:
        return None


def get_existing(clinic_id: str, regimen_id: str, consistent: bool = False) -> records.Regimen:
    """The regimen a stored dose names, or one just found stored. It is expected to be there, so a missing one
    is not a domain outcome: PynamoDB's `DoesNotExist` propagates, as it always has."""
    return to_record(Regimen.get(clinic_id, regimen_id, consistent_read=consistent), records.Regimen)


def create(regimen: records.Regimen, patient: PatientWrite) -> None:
    """Stores a new regimen with its patient (new, or reused with its lookup rows), all or nothing;
    `AlreadyExists("regimen")` when one with its id is stored already (the same `external_id` created before, or
    concurrently); `AlreadyExists("patient")` when another request claimed one of the patient's lookup rows
    meanwhile (the caller matches the patient again and retries)."""
    try:
        with transaction() as write:
            write.save(to_model(regimen, Regimen), condition=Regimen.regimen_id.does_not_exist())
            patient_items = add_patient(write, patient, regimen.created_at)
    except TransactWriteError as e:
        failed = failed_items(e)
        if 0 in failed:
            raise AlreadyExists("regimen") from e
        if any(1 <= index <= patient_items for index in failed):
            raise AlreadyExists("patient") from e
        raise


def withdraw(regimen: records.Regimen, patient: PatientWrite) -> None:
    """Deletes a regimen whose timers could not be armed, and the patient made for it, all or nothing."""
    with transaction() as write:
        write.delete(to_model(regimen, Regimen))
        remove_patient(write, patient)


def write(regimen: records.Regimen) -> None:
    """Stores the regimen whole, as it is now (a status change, or its undoing), unconditionally."""
    to_model(regimen, Regimen).save()


def set_timers_if_version(regimen: records.Regimen, names: list[str]) -> None:
    """Replaces the names of the regimen's armed timers if it is still at the version it was read at; else
    `StaleVersion("regimen")` (paused, resumed or stopped meanwhile) and nothing is written."""
    try:
        to_model(regimen, Regimen).update(
            actions=[Regimen.timers.set(names)], condition=Regimen.version == regimen.version
        )
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("regimen") from e
        raise


def set_refill_notice(regimen: records.Regimen, now: datetime) -> None:
    to_model(regimen, Regimen).update(actions=[Regimen.refill_notice_at.set(now)])


def regimens_of_patient(clinic_id: str, patient_id: str) -> list[records.Regimen]:
    """The patient's regimens (any status): a query of the clinic's regimens with a filter."""
    return to_records(Regimen.query(clinic_id, filter_condition=Regimen.patient_id == patient_id), records.Regimen)


def patient_by_external_ref(clinic_id: str, reference: str) -> records.Patient | None:
    """The clinic's patient the prescribing system calls `reference`. A query of the clinic's patients with a
    filter: fine at a clinic's size; an index would be the next step for a large one."""
    found = Patient.query(clinic_id, filter_condition=Patient.external_ref == reference)
    return next((to_record(patient, records.Patient) for patient in found), None)


# --- doses ---------------------------------------------------------------------------------------------------


def find_dose(regimen_id: str, due_at: str) -> records.Dose | None:
    """The dose, read strongly consistent, or None."""
    try:
        return to_record(Dose.get(regimen_id, due_at, consistent_read=True), records.Dose)
    except DoesNotExist:
        return None


def doses_due_between(regimen_id: str, start: str, end: str) -> list[records.Dose]:
    """The regimen's doses due from `start` to `end` (both included), by due time."""
    return to_records(Dose.query(regimen_id, Dose.due_at.between(start, end)), records.Dose)


def open_doses(regimen_id: str, start: str, end: str) -> list[records.Dose]:
    """The regimen's doses due from `start` to `end` neither taken nor skipped."""
    return to_records(
        Dose.query(
            regimen_id,
            Dose.due_at.between(start, end),
            filter_condition=Dose.taken_at.does_not_exist() & (Dose.status != DoseStatus.SKIPPED),
        ),
        records.Dose,
    )


def dose_count(regimen_id: str) -> int:
    """How many doses of the regimen have been recorded."""
    return Dose.count(regimen_id)


def record_dose(dose: records.Dose) -> None:
    """Stores a dose whose timer fired; `AlreadyExists("dose")` when it was recorded before (a duplicate fire)."""
    try:
        to_model(dose, Dose).save(condition=Dose.regimen_id.does_not_exist())
    except PutError as e:
        if condition_failed(e):
            raise AlreadyExists("dose") from e
        raise


def mark_skipped(regimen_id: str, due_at: str, reason: str) -> None:
    """The dose's reminder was not sent (opted out, no contact): an update of those attributes only."""
    Dose(regimen_id, due_at).update(actions=[Dose.status.set(DoseStatus.SKIPPED), Dose.reason.set(reason)])


def record_taken(dose: records.Dose, now: datetime, via: str) -> None:
    to_model(dose, Dose).update(
        actions=[Dose.status.set(DoseStatus.TAKEN), Dose.taken_at.set(now), Dose.taken_via.set(via)]
    )


def set_snoozes(dose: records.Dose, number: int) -> None:
    to_model(dose, Dose).update(actions=[Dose.snoozes.set(number)])


# --- the reminders a dose's messages are sent as -------------------------------------------------------------


def create_reminder(reminder: records.Reminder) -> None:
    """Stores a new `regimen` reminder; `AlreadyExists("reminder")` when it is there already (a duplicate fire:
    the first one's reminder, and its delivery claim, decide)."""
    try:
        to_model(reminder, Reminder).save(condition=Reminder.reminder_id.does_not_exist())
    except PutError as e:
        if condition_failed(e):
            raise AlreadyExists("reminder") from e
        raise


def set_schedule_name(reminder: records.Reminder, name: str) -> None:
    to_model(reminder, Reminder).update(actions=[Reminder.schedule_name.set(name)])
