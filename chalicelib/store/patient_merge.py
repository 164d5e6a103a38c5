"""The writes of a patient merge (`merge-patients`, chalicelib.patients.merge): the items that name a patient
(appointments, their reminders, regimens, their doses) found and pointed at the patient kept. Each is an update of
`patient_id` alone, so a change the clinic makes meanwhile (a PATCH, a fired reminder) is neither lost nor lost to.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from chalicelib.core import records
from chalicelib.store.convert import MODELS, to_model, to_record, to_records
from chalicelib.store.models import Appointment, Dose, Regimen, Reminder

Named = records.Appointment | records.Regimen | records.Reminder | records.Dose


def appointments_of(clinic_id: str, patient_ids: Collection[str]) -> list[records.Appointment]:
    """The clinic's appointments of any of these patients (a query of its partition with a filter)."""
    return to_records(
        Appointment.query(clinic_id, filter_condition=Appointment.patient_id.is_in(*patient_ids)), records.Appointment
    )


def regimens_of(clinic_id: str, patient_ids: Collection[str]) -> list[records.Regimen]:
    return to_records(
        Regimen.query(clinic_id, filter_condition=Regimen.patient_id.is_in(*patient_ids)), records.Regimen
    )


def reminders_naming(appointment_ids: Sequence[str], patient_ids: Collection[str]) -> list[records.Reminder]:
    """The reminders of these appointments that name one of these patients."""
    return [
        to_record(reminder, records.Reminder)
        for appointment_id in appointment_ids
        for reminder in Reminder.query(appointment_id, filter_condition=Reminder.patient_id.is_in(*patient_ids))
    ]


def doses_naming(regimen_ids: Sequence[str], patient_ids: Collection[str]) -> list[records.Dose]:
    return [
        to_record(dose, records.Dose)
        for regimen_id in regimen_ids
        for dose in Dose.query(regimen_id, filter_condition=Dose.patient_id.is_in(*patient_ids))
    ]


def repoint(items: Sequence[Named], patient_id: str) -> None:
    """Makes each item name `patient_id` (an update of that attribute only)."""
    for item in items:
        stored: Any = to_model(item, MODELS[type(item)])
        stored.update(actions=[type(stored).patient_id.set(patient_id)])
