"""Validation of appointment requests from clinic systems: every problem is collected and named by its field,
so a rejected request says everything that is wrong with it at once and nothing of it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.core.fields import Fields, decode_json_object
from chalicelib.patients.details import PatientDetails, parse_patient

_CREATE_FIELDS = {"patient", "start", "duration_minutes", "provider", "location", "external_id"}
_CHANGE_FIELDS = {"start", "duration_minutes", "provider", "location"}


@dataclass(frozen=True)
class NewAppointment:
    patient: PatientDetails
    start: datetime
    duration_minutes: int
    provider: str | None
    location: str | None
    external_id: str | None


@dataclass(frozen=True)
class AppointmentChange:
    """A PATCH: only the fields present are changed."""

    start: datetime | None
    duration_minutes: int | None
    provider: str | None
    location: str | None
    present: frozenset[str]


def parse_new_appointment(raw_body: bytes | None, now: datetime, *, region: str | None = None) -> NewAppointment:
    """`region`: the clinic's country, where a patient's phone written without a country code is read."""
    body = decode_json_object(raw_body)
    fields = Fields(body, region=region)
    fields.reject_unknown(_CREATE_FIELDS)
    patient = parse_patient(body.get("patient"), fields)
    start = fields.future_instant("start", now, required=True)
    duration = fields.minutes("duration_minutes")
    provider = fields.text("provider")
    location = fields.text("location")
    external_id = fields.text("external_id")
    fields.raise_if_any()
    assert patient is not None and start is not None  # guaranteed: any problem raised above
    return NewAppointment(patient, start, duration or 30, provider, location, external_id)


def parse_appointment_change(raw_body: bytes | None, now: datetime) -> AppointmentChange:
    body = decode_json_object(raw_body)
    fields = Fields(body)
    fields.reject_unknown(_CHANGE_FIELDS)
    if not body:
        fields.problem("body", f"names nothing to change; send one of {', '.join(sorted(_CHANGE_FIELDS))}")
    if "duration_minutes" in body and body["duration_minutes"] is None:
        fields.problem("duration_minutes", "cannot be removed")
    change = AppointmentChange(
        start=fields.future_instant("start", now, required="start" in body),
        duration_minutes=fields.minutes("duration_minutes"),
        provider=fields.text("provider"),
        location=fields.text("location"),
        present=frozenset(body),
    )
    fields.raise_if_any()
    return change
