"""Reading booking tools' payloads leniently: a tool sends what its booker typed, and one unusable field (a phone
that is no number, a misspelt email) must not lose the whole booking, so such a field is dropped and the booking
kept. A phone written without its country code is read in the clinic's country (`region`), as the REST API reads
it. Only what a booking cannot do without (its id, its start) makes a payload malformed."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from chalicelib.core.errors import InvalidRequest
from chalicelib.core.fields import read_phone
from chalicelib.core.json_input import load_json
from chalicelib.core.timezones import is_known_timezone
from chalicelib.patients.details import PatientDetails

MAX_NAME = 200
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def json_object(body: bytes) -> dict[str, Any]:
    value = load_json(body)
    if not isinstance(value, dict):
        raise InvalidRequest.single("body", "must be a JSON object")
    return value


def dig_object(value: Any, path: str) -> dict[str, Any]:
    """The object at `path`, or an empty one when the step is missing or holds something else (a list, text)."""
    found = dig(value, path)
    return found if isinstance(found, dict) else {}


def dig(value: Any, path: str) -> Any:
    """`dig(body, "payload.attendees.0.email")`: None as soon as a step is missing."""
    for step in path.split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isascii() and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def required_text(value: Any, field: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest.single(field, "is required")
    return value.strip()


def instant(value: Any, field: str) -> datetime:
    """An RFC 3339 / ISO 8601 instant with an offset (`Z` included)."""
    text = required_text(value, field)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest.single(field, "must be an ISO 8601 date and time with offset") from None
    if moment.tzinfo is None:
        raise InvalidRequest.single(field, "must include a UTC offset")
    return moment


def phone(value: Any, region: str | None = None) -> str | None:
    """E.164, or None. A number without a country code is read in the clinic's country (`region`); with no
    region it is dropped: guessing some other country could text a stranger."""
    if not isinstance(value, str) or not value.strip():
        return None
    return read_phone(value, region)


def email(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def timezone(value: Any) -> str | None:
    return value if isinstance(value, str) and is_known_timezone(value) else None


def language(value: Any) -> str:
    if isinstance(value, str) and _LANGUAGE.fullmatch(value.strip().replace("_", "-")):
        return value.strip().replace("_", "-")
    return "en"


def patient(
    name: Any,
    phone_value: Any = None,
    email_value: Any = None,
    timezone_value: Any = None,
    language_value: Any = None,
    *,
    field: str = "name",
    region: str | None = None,
) -> PatientDetails:
    text = required_text(name, field)[:MAX_NAME]
    return PatientDetails(
        text, phone(phone_value, region), email(email_value), timezone(timezone_value), language(language_value)
    )
