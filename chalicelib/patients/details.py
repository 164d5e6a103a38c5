"""A patient's contact details as a request gives them (`"patient": {name, phone, email, timezone, language,
whatsapp_opt_in, preferred_channel}`): `PatientDetails`, what the services take, and `parse_patient`, the FHIR
reader's way to the one reading of a patient (`chalicelib.patients.bodies.PatientBody`, also used by the REST API
and its JSON Schema), and `plain_patient`, the booking's reading of a patient without pydantic (see
`chalicelib.appointments.request`). A phone without a country code is read in the reader's region (the clinic's
country)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from chalicelib.core import fields as read
from chalicelib.core.fields import Fields


class PatientDetails(Struct, frozen=True):
    name: str
    phone: str | None
    email: str | None
    timezone: str | None
    language: str
    whatsapp_opt_in: bool = False  # chalicelib.patients.whatsapp
    preferred_channel: str | None = None


def parse_patient(value: Any, parent: Fields) -> PatientDetails | None:
    """The patient of a FHIR resource, read by the same model as a booking's; its problems join the reader's."""
    # Imported here: this module is on the fire path (the services take PatientDetails), pydantic is not.
    from chalicelib.core.validation import Context, problems_of
    from chalicelib.patients.bodies import PatientBody

    if value is None:
        parent.problem("patient", "is required")
        return None
    body, problems = problems_of(PatientBody, value, Context(region=parent.region), parent.path("patient."))
    parent.problems.extend(problems)
    return body.details() if body is not None else None


_PATIENT_FIELDS = frozenset(
    {"name", "phone", "email", "timezone", "language", "whatsapp_opt_in", "preferred_channel"}
)  # PatientBody's, which a test keeps in step
_CHANNELS = frozenset({"sms", "email", "whatsapp", "messenger"})


def plain_patient(value: Any, region: str | None) -> PatientDetails | None:
    """A booking's `patient` read by the rules `PatientBody` validates with (`chalicelib.core.fields`), or None
    for anything `PatientBody` might refuse: that one names every problem. Never accepts what it refuses."""
    if not isinstance(value, dict) or not value.keys() <= _PATIENT_FIELDS:
        return None
    preferred = value.get("preferred_channel")
    if preferred is not None and (not isinstance(preferred, str) or preferred not in _CHANNELS):
        return None
    try:
        name = read.text(value.get("name"), read.MAX_TEXT, required=True)
        phone = read.phone(value.get("phone"), region)
        email = read.email(value.get("email"))
        timezone = read.timezone(value.get("timezone"))
        language = read.language(value.get("language"))
        opt_in = read.boolean(value.get("whatsapp_opt_in", False))
    except read.Refused:
        return None
    if name is None or (phone is None and email is None) or (opt_in and value.get("phone") is None):
        return None  # PatientBody.cross_problems: no contact; a WhatsApp opt-in without a phone
    return PatientDetails(name, phone, email, timezone, language or "en", opt_in, preferred)
