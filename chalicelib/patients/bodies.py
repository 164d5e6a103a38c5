"""A patient in a request body, as models of the validation kit (`chalicelib.core.validation`): `PatientBody`,
the `patient` of a booking or a regimen. pydantic models: imported by request routes only, never on the fire
path (`chalicelib.patients.details` holds the plain `PatientDetails` the services take)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.validation import Body, Email, Language, Loc, Phone, RequiredText, TimeZone
from chalicelib.patients.details import PatientDetails


class PatientBody(Body):
    """`patient` of a booking or a regimen. A new field: declare it here (optional, with a default) and carry it
    into `PatientDetails` in `details()`."""

    name: RequiredText
    phone: Phone = None
    email: Email = None
    timezone: TimeZone = None
    language: Language = None

    @classmethod
    def cross_problems(cls, data: dict[str, Any], failed: set[str]) -> list[tuple[Loc, str]]:
        # Named only when neither contact was itself refused: a wrong phone is said as such, not as "missing".
        blank = all(not (isinstance(data.get(name), str) and data[name].strip()) for name in ("phone", "email"))
        if blank and not failed & {"phone", "email"}:
            return [((), "needs a phone or an email to be reminded")]
        return []

    def details(self) -> PatientDetails:
        return PatientDetails(self.name, self.phone, self.email, self.timezone, self.language or "en")
