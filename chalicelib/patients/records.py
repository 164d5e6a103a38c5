"""A new patient record from the details a booking or a regimen came with."""

from __future__ import annotations

import secrets
from datetime import datetime

from chalicelib.core.records import Patient
from chalicelib.patients.details import PatientDetails


def new_patient(clinic_id: str, details: PatientDetails, now: datetime) -> Patient:
    """Not yet stored: it goes into the same transaction as what it was made for."""
    return Patient(
        clinic_id=clinic_id,
        patient_id=f"pat_{secrets.token_hex(8)}",
        name=details.name,
        phone=details.phone,
        email=details.email,
        timezone=details.timezone,
        language=details.language,
        preferred_channel=details.preferred_channel,
        created_at=now,
    )
