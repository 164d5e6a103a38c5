"""Appointment requests from clinic systems: what a valid body becomes (`NewAppointment`, `AppointmentChange`,
the values the service takes) and the two readers, which validate with the models of `bodies.py`: every
problem is collected and named by its field, so a rejected request says everything that is wrong with it at
once and nothing of it is stored."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.patients.details import PatientDetails


class NewAppointment(Struct, frozen=True):
    patient: PatientDetails
    start: datetime
    duration_minutes: int
    provider: str | None
    location: str | None
    external_id: str | None
    event_type: str | None = None  # the kind of visit: which pre-visit form it gets (`PUT /v1/clinic` forms)


class AppointmentChange(Struct, frozen=True):
    """A PATCH: only the fields present are changed."""

    start: datetime | None
    duration_minutes: int | None
    provider: str | None
    location: str | None
    present: frozenset[str]


# The readers import the models when called: the services (on the fire path) import this module, pydantic is not.


def parse_new_appointment(raw_body: bytes | None, now: datetime, *, region: str | None = None) -> NewAppointment:
    """`region`: the clinic's country, where a patient's phone written without a country code is read."""
    from chalicelib.appointments.bodies import NewAppointmentBody
    from chalicelib.core.validation import Context, read_json

    body = read_json(NewAppointmentBody, raw_body, Context(region=region, now=now))
    return NewAppointment(
        body.patient.details(),
        body.start,
        body.duration_minutes or 30,
        body.provider,
        body.location,
        body.external_id,
        body.event_type,
    )


def phone_needs_region(raw_body: bytes | None) -> bool:
    """Whether the body's patient phone must be read in the clinic's country (it has no `+` country code), so the
    clinic is read before the body is validated. False for a phone in international form, or none: the booking
    then reads the clinic with its other first reads, in one round trip (docs/performance.md, "A booking").
    Anything that is not such a body says True, and validation names what is wrong with it."""
    import json

    try:
        phone = json.loads(raw_body or b"")["patient"].get("phone")
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return True
    return phone is not None and not (isinstance(phone, str) and phone.lstrip().startswith("+"))


def parse_appointment_change(raw_body: bytes | None, now: datetime) -> AppointmentChange:
    from chalicelib.appointments.bodies import AppointmentChangeBody
    from chalicelib.core.validation import Context, read_json

    body = read_json(AppointmentChangeBody, raw_body, Context(now=now))
    return AppointmentChange(
        body.start, body.duration_minutes, body.provider, body.location, frozenset(body.model_fields_set)
    )
