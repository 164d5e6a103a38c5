"""The validation kit's phone reading (`chalicelib.core.validation.Phone`): any format phonenumbers reads, a
national number read in the clinic's country (from its time zone), kept in E.164; anything else a problem naming
the field. And its zoned date-time: a date alone is told what it lacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.core.errors import FieldProblem
from chalicelib.core.timezones import phone_region
from chalicelib.core.validation import Body, Context, FutureInstant, Phone, problems_of
from chalicelib.patients.bodies import PatientBody

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


class Contact(Body):
    phone: Phone = None


class Booking(Body):
    start: FutureInstant


def read(phone: str, clinic_zone: str) -> tuple[str | None, list[FieldProblem]]:
    contact, problems = problems_of(Contact, {"phone": phone}, Context(region=phone_region(clinic_zone)))
    return (contact.phone if contact else None), problems


@pytest.mark.parametrize(
    ("phone", "clinic_zone", "stored"),
    [
        ("+1 (415) 555-0109", "Europe/Berlin", "+14155550109"),
        ("(415) 555-0109", "America/Los_Angeles", "+14155550109"),
        ("(415) 555-0109", "America/New_York", "+14155550109"),
        ("030 1234567", "Europe/Berlin", "+49301234567"),
        ("00 49 30 1234567", "Europe/Berlin", "+49301234567"),
        ("+49 30 1234567", "Etc/UTC", "+49301234567"),
    ],
)
def test_phone_is_stored_in_e164(phone: str, clinic_zone: str, stored: str) -> None:
    assert read(phone, clinic_zone) == (stored, [])


@pytest.mark.parametrize("phone", ["garbage", "12", "+1 000 000 0000", "00 49 30"])
def test_unreadable_phone_is_a_problem_naming_the_field(phone: str) -> None:
    assert read(phone, "Europe/Berlin") == (None, [FieldProblem("phone", "is not a valid phone number")])


def test_national_number_of_a_clinic_in_no_country_asks_for_the_country_code() -> None:
    assert read("030 1234567", "Etc/UTC") == (
        None,
        [FieldProblem("phone", "is not a valid phone number; write it with its country code, e.g. +14155550100")],
    )


def test_nested_reader_reads_in_the_same_country() -> None:
    patient, _ = problems_of(PatientBody, {"name": "Pat Example", "phone": "030 1234567"}, Context(region="DE"))

    assert patient is not None and patient.phone == "+49301234567"


@pytest.mark.parametrize(("zone", "region"), [("Europe/Berlin", "DE"), ("America/Chicago", "US"), ("Etc/UTC", None)])
def test_clinic_country_comes_from_its_time_zone(zone: str, region: str | None) -> None:
    assert phone_region(zone) == region


def test_date_without_time_is_told_it_needs_a_time_and_an_offset() -> None:
    booking, problems = problems_of(Booking, {"start": "2026-12-20"}, Context(now=NOW))

    assert booking is None
    assert problems == [FieldProblem("start", "needs a time and an offset, e.g. 2026-12-20T10:00:00-05:00")]
