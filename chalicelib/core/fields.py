"""The field rules every reader of a request shares, pure and free of pydantic: decoding a body into an object
(size-capped, a clear 400 for anything that is not a JSON object), reading a phone, an email address, a zoned
date-time, an ISO 8601 duration and a local HH:MM time. The request models (`chalicelib.core.validation`) are
built on them, and so is `Fields`, the walker of a FHIR resource's structure (`chalicelib.regimens.fhir`), which
collects every problem, each named by its path, instead of stopping at the first.

Phone numbers are read by `phonenumbers` and email addresses by `email-validator`, here and only here. A phone
may be written in any format phonenumbers reads ("+1 (415) 555-0109", "00 49 30 1234567"); one without a country
code is read in the clinic's country (`region`, from `core.timezones.phone_region` of the clinic's zone), and
every number is kept in E.164. Both libraries are imported when a phone or an email is first read, not with
this module: the send path reads stored settings with `Fields` and must not pay for them (a cold start).

The rules of a request's shared fields (`text`, `phone`, `email`, `timezone`, `language`, `future_instant`,
`whole_number`, `boolean`) are here too, each a plain function that returns the value as stored or raises
`Refused` with what the caller reads: the request models wrap them as their validators, and the booking's plain
reader (`chalicelib.appointments.request`) calls them directly, so a field is checked by one rule either way.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from chalicelib.core.errors import FieldProblem, InvalidRequest, PayloadTooLarge
from chalicelib.core.json_input import load_json
from chalicelib.core.timezones import is_known_timezone

MAX_BODY_BYTES = 64 * 1024
# How far ahead an appointment may be booked: further than any clinic books, near enough that every date
# computed from it (reminders, link expiries, the year in a message) stays within what each part can hold.
MAX_AHEAD = timedelta(days=3 * 365)
MAX_TEXT = 200
MAX_PHONE_TEXT = 40  # room for spaces, dashes, brackets and an extension around at most 15 digits
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_DURATION = re.compile(r"P(?:(\d{1,4})D)?(?:T(?:(\d{1,5})H)?(?:(\d{1,6})M)?)?")  # bounded: no overflow
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Refused(ValueError):
    """A value a field's rule refuses; `message` is what the caller reads after the field's name."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_phone(text: str, region: str | None) -> str | None:
    """`text` as an E.164 number, read in `region` when it has no country code; None if it is no valid number.
    The one reading of a phone number: the request-body kit and the booking tools' webhooks both use it."""
    import phonenumbers

    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_problem(text: str, region: str | None) -> str:
    """What is wrong with a phone `read_phone` could not read: without a clinic country, say to add the code."""
    if region is None and not text.lstrip().startswith(("+", "00")):
        return "is not a valid phone number; write it with its country code, e.g. +14155550100"
    return "is not a valid phone number"


def read_email(text: str) -> str | None:
    """The address normalised by email-validator (domain lower-cased), or None; deliverability is not checked."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def read_zoned_datetime(text: str) -> tuple[datetime | None, str]:
    """An ISO 8601 date-time with its UTC offset, or None and what is wrong with it."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, "must be an ISO 8601 date and time such as 2026-12-01T09:00:00-05:00"
    if moment.tzinfo is None:
        if _DATE_ONLY.fullmatch(text):
            return None, f"needs a time and an offset, e.g. {text}T10:00:00-05:00"
        return None, "must include a UTC offset, e.g. 2026-12-01T09:00:00-05:00 or ...Z"
    return moment, ""


def read_duration(text: str) -> timedelta | None:
    """An ISO 8601 duration of days, hours and minutes (P1D, PT2H, P1DT30M), or None."""
    match = _DURATION.fullmatch(text)
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def read_clock(text: str) -> time | None:
    """A 24-hour local time HH:MM, or None."""
    match = CLOCK.fullmatch(text)
    return time(int(match[1]), int(match[2])) if match else None


# --- the shared fields' rules: the value as stored, or Refused ----------------------------------------


def text(value: Any, max_length: int, *, required: bool) -> str | None:
    """Text, stripped: None when absent or blank (unless `required`), at most `max_length` characters."""
    if value is None:
        if required:
            raise Refused("is required")
        return None
    if not isinstance(value, str):
        raise Refused("must be a string")
    stripped = value.strip()
    if not stripped:
        if required:
            raise Refused("must not be empty")
        return None
    if len(stripped) > max_length:
        raise Refused(f"must be at most {max_length} characters")
    return stripped


def phone(value: Any, region: str | None) -> str | None:
    """A phone in any format phonenumbers reads, as E.164; one without a country code is read in `region`."""
    written = text(value, MAX_PHONE_TEXT, required=False)
    if written is None:
        return None
    number = read_phone(written, region)
    if number is None:
        raise Refused(phone_problem(written, region))
    return number


def email(value: Any) -> str | None:
    written = text(value, 254, required=False)
    if written is None:
        return None
    address = read_email(written)
    if address is None:
        raise Refused("is not a valid email address")
    return address


def timezone(value: Any) -> str | None:
    name = text(value, 64, required=False)
    if name is not None and not is_known_timezone(name):
        raise Refused("is not an IANA time zone such as Europe/Berlin")
    return name


def language(value: Any) -> str | None:
    tag = text(value, 35, required=False)
    if tag is not None and not LANGUAGE.fullmatch(tag):
        raise Refused("must be a language tag such as en or es-MX")
    return tag


def future_instant(value: Any, now: datetime | None) -> datetime:
    """A zoned date-time after `now` (unchecked when None) and no more than `MAX_AHEAD` after it."""
    written = text(value, 40, required=True)
    assert written is not None
    moment, message = read_zoned_datetime(written)
    if moment is None:
        raise Refused(message)
    if now is not None and moment <= now:
        raise Refused("is in the past")
    if now is not None and moment - now > MAX_AHEAD:
        raise Refused(f"is more than {MAX_AHEAD.days // 365} years ahead; book it nearer the time")
    return moment


def whole_number(value: Any, low: int, high: int, message: str = "") -> int:
    """An integer from `low` to `high` (true, 30.0 and "30" are not), or `message`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Refused(message or f"must be a whole number from {low} to {high}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Refused("must be true or false")
    return value


def decode_json_object(raw_body: bytes | None) -> dict[str, Any]:
    if raw_body is not None and len(raw_body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    if not raw_body:
        raise InvalidRequest.single("body", "is empty; send a JSON object")
    body = load_json(raw_body)
    if not isinstance(body, dict):
        raise InvalidRequest.single("body", "must be a JSON object")
    return body


class Fields:
    """The problems of a FHIR resource's walk (`chalicelib.regimens.fhir`), each named by its path, collected
    instead of stopping at the first; the parts CareCue's own models read (patient, caregiver) join them."""

    def __init__(self, body: dict[str, Any], prefix: str = "", *, region: str | None = None) -> None:
        self.body = body
        self.prefix = prefix
        self.region = region  # the clinic's country: where a phone without a country code is read
        self.problems: list[FieldProblem] = []

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def problem(self, name: str, text: str) -> None:
        self.problems.append(FieldProblem(self.path(name), text))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidRequest(self.problems)
