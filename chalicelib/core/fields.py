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
    """Reads typed fields out of a JSON object, collecting problems instead of stopping at the first."""

    def __init__(self, body: dict[str, Any], prefix: str = "", *, region: str | None = None) -> None:
        self.body = body
        self.prefix = prefix
        self.region = region  # the clinic's country: where a phone without a country code is read
        self.problems: list[FieldProblem] = []

    def nested(self, body: dict[str, Any], prefix: str) -> Fields:
        """The reader of a nested object (`patient.`), in the same clinic's country."""
        return Fields(body, prefix, region=self.region)

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def problem(self, name: str, text: str) -> None:
        self.problems.append(FieldProblem(self.path(name), text))

    def reject_unknown(self, allowed: set[str]) -> None:
        for name in sorted(set(self.body) - allowed):
            self.problem(name, "is not a known field")

    def text(self, name: str, *, required: bool = False, max_length: int = MAX_TEXT) -> str | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return None
        if not isinstance(value, str):
            self.problem(name, "must be a string")
            return None
        value = value.strip()
        if not value:
            if required:
                self.problem(name, "must not be empty")
            return None
        if len(value) > max_length:
            self.problem(name, f"must be at most {max_length} characters")
            return None
        return value

    def phone(self, name: str) -> str | None:
        """The number in E.164, however it was written; a number phonenumbers cannot read is a problem."""
        value = self.text(name, max_length=MAX_PHONE_TEXT)
        if value is None:
            return None
        number = read_phone(value, self.region)
        if number is None:
            self.problem(name, phone_problem(value, self.region))
        return number

    def email(self, name: str) -> str | None:
        value = self.text(name, max_length=254)
        if value is None:
            return None
        address = read_email(value)
        if address is None:
            self.problem(name, "is not a valid email address")
        return address

    def timezone(self, name: str) -> str | None:
        value = self.text(name, max_length=64)
        if value is not None and not is_known_timezone(value):
            self.problem(name, "is not an IANA time zone such as Europe/Berlin")
            return None
        return value

    def language(self, name: str) -> str | None:
        value = self.text(name, max_length=35)
        if value is not None and not LANGUAGE.fullmatch(value):
            self.problem(name, "must be a language tag such as en or es-MX")
            return None
        return value

    def future_instant(self, name: str, now: datetime, *, required: bool) -> datetime | None:
        value = self.text(name, required=required, max_length=40)
        if value is None:
            return None
        moment, message = read_zoned_datetime(value)
        if moment is None:
            self.problem(name, message)
            return None
        if moment <= now:
            self.problem(name, "is in the past")
            return None
        if moment - now > MAX_AHEAD:
            self.problem(name, f"is more than {MAX_AHEAD.days // 365} years ahead; book it nearer the time")
            return None
        return moment

    def minutes(self, name: str) -> int | None:
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 24 * 60:
            self.problem(name, "must be a whole number of minutes from 1 to 1440")
            return None
        return value

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidRequest(self.problems)
