"""A patient's contact details as a request gives them (`"patient": {name, phone, email, timezone, language,
whatsapp_opt_in, preferred_channel}`): `PatientDetails`, what the services take, and `parse_patient`, the FHIR
reader's way to the one reading of a patient (`chalicelib.patients.bodies.PatientBody`, also used by the REST API
and its JSON Schema). A phone without a country code is read in the reader's region (the clinic's country)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

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
