"""Appointment requests from clinic systems: what a valid body becomes (`NewAppointment`, `AppointmentChange`,
the values the service takes) and the two readers, which validate with the models of `bodies.py`: every
problem is collected and named by its field, so a rejected request says everything that is wrong with it at
once and nothing of it is stored.

A booking is read first without pydantic (`plain_booking`), by the same field rules the models validate with
(`chalicelib.core.fields`), because importing pydantic and building the models is about a quarter of a cold
booking's time (docs/performance.md). The plain reader only ever accepts: a body it is not sure of, it leaves
to `NewAppointmentBody`, which names every problem (or accepts a form the plain reader does not take). So a
valid booking never imports pydantic, a refused one gets the models' one answer, and the two cannot disagree on
a body the plain reader takes (`tests/unit/test_plain_booking.py`, against the model on generated bodies)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from chalicelib.core import fields as read
from chalicelib.patients.details import PatientDetails, plain_patient


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
    data = read.decode_json_object(raw_body)
    return plain_booking(data, now, region) or model_booking(data, now, region)


def model_booking(data: dict[str, Any], now: datetime, region: str | None) -> NewAppointment:
    """The booking read by `NewAppointmentBody`, or InvalidRequest naming every problem of `data`."""
    from chalicelib.appointments.bodies import NewAppointmentBody
    from chalicelib.core.validation import Context, read_body

    body = read_body(NewAppointmentBody, data, Context(region=region, now=now))
    return NewAppointment(
        body.patient.details(),
        body.start,
        body.duration_minutes or 30,
        body.provider,
        body.location,
        body.external_id,
        body.event_type,
    )


_BOOKING_FIELDS = frozenset(
    {"patient", "start", "duration_minutes", "provider", "location", "external_id", "event_type"}
)  # NewAppointmentBody's, which a test keeps in step


def plain_booking(data: dict[str, Any], now: datetime, region: str | None) -> NewAppointment | None:
    """The booking `NewAppointmentBody` would read from `data`, or None for anything it might refuse."""
    if not data.keys() <= _BOOKING_FIELDS:
        return None
    patient = plain_patient(data.get("patient"), region)
    if patient is None:
        return None
    minutes = data.get("duration_minutes")
    try:
        start = read.future_instant(data.get("start"), now)
        duration = 30 if minutes is None else read.whole_number(minutes, 1, 24 * 60)
        provider, location, external_id, event_type = (
            read.text(data.get(name), read.MAX_TEXT, required=False)
            for name in ("provider", "location", "external_id", "event_type")
        )
    except read.Refused:
        return None
    return NewAppointment(patient, start, duration, provider, location, external_id, event_type)


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
