"""A patient's contact details as a request gives them (`"patient": {name, phone, email, timezone, language}`),
validated with the request-body kit: the one reading of a patient for the REST API, FHIR and the booking tools.
A phone without a country code is read in the parent reader's region (the clinic's country)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.core.fields import Fields
from chalicelib.patients.whatsapp import FIELDS as WHATSAPP_FIELDS
from chalicelib.patients.whatsapp import read_whatsapp_fields

_PATIENT_FIELDS = {"name", "phone", "email", "timezone", "language"} | WHATSAPP_FIELDS


@dataclass(frozen=True)
class PatientDetails:
    name: str
    phone: str | None
    email: str | None
    timezone: str | None
    language: str
    whatsapp_opt_in: bool = False  # chalicelib.patients.whatsapp
    preferred_channel: str | None = None


def parse_patient(value: Any, parent: Fields) -> PatientDetails | None:
    if value is None:
        parent.problem("patient", "is required")
        return None
    if not isinstance(value, dict):
        parent.problem("patient", "must be an object")
        return None
    fields = parent.nested(value, "patient.")
    fields.reject_unknown(_PATIENT_FIELDS)
    name = fields.text("name", required=True)
    phone = fields.phone("phone")
    email = fields.email("email")
    timezone = fields.timezone("timezone")
    language = fields.language("language")
    whatsapp = read_whatsapp_fields(value, fields)
    contact_problems = any(p.field in ("patient.phone", "patient.email") for p in fields.problems)
    if phone is None and email is None and not contact_problems:
        parent.problem("patient", "needs a phone or an email to be reminded")
    parent.problems.extend(fields.problems)
    if fields.problems or name is None:
        return None
    return PatientDetails(name, phone, email, timezone, language or "en", whatsapp.opt_in, whatsapp.preferred_channel)
