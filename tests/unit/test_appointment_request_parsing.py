"""Validation of appointment requests from clinic systems (`chalicelib.appointments.request`): every problem is
named by its field, all at once, and a valid body becomes typed values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.appointments.request import (
    AppointmentChange,
    NewAppointment,
    parse_appointment_change,
    parse_new_appointment,
)
from chalicelib.core.errors import FieldProblem, InvalidRequest, PayloadTooLarge
from chalicelib.core.fields import MAX_BODY_BYTES, decode_json_object
from chalicelib.patients.details import PatientDetails

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
START_TEXT = "2026-12-01T14:00:00Z"
START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def body(**overrides: Any) -> dict[str, Any]:
    """A valid create body; `patient=...` replaces the whole patient, `None` values remove the key."""
    valid: dict[str, Any] = {
        "patient": {"name": "Ana Pérez", "phone": "+14155550100", "email": "ana@example.com"},
        "start": START_TEXT,
    }
    valid.update(overrides)
    return {key: value for key, value in valid.items() if value is not None}


def patient(**overrides: Any) -> dict[str, Any]:
    valid: dict[str, Any] = {"name": "Ana Pérez", "phone": "+14155550100"}
    valid.update(overrides)
    return {key: value for key, value in valid.items() if value is not None}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def problems_of(raw: bytes | None) -> list[FieldProblem]:
    with pytest.raises(InvalidRequest) as caught:
        parse_new_appointment(raw, NOW)
    return caught.value.problems


def change_problems_of(raw: bytes | None) -> list[FieldProblem]:
    with pytest.raises(InvalidRequest) as caught:
        parse_appointment_change(raw, NOW)
    return caught.value.problems


def only_problem(problems: list[FieldProblem]) -> FieldProblem:
    assert len(problems) == 1, problems
    return problems[0]


# --- the body as a whole -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "is empty"),
        (None, "is empty"),
        (b'{"patient": ', "not valid JSON"),
        (b"\xff\xfe{", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"an appointment"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
    ],
)
def test_body_that_is_not_a_json_object_is_rejected(raw: bytes | None, words: str) -> None:
    problem = only_problem(problems_of(raw))

    assert problem.field == "body"
    assert words in problem.problem
    assert "JSON" in problem.problem


def test_body_over_64_kb_is_too_large() -> None:
    raw = encode(body(provider="x" * MAX_BODY_BYTES))

    with pytest.raises(PayloadTooLarge) as caught:
        parse_new_appointment(raw, NOW)

    assert caught.value.limit_bytes == 64 * 1024
    assert "65536" in str(caught.value)


def test_body_of_exactly_64_kb_is_read() -> None:
    compact = encode(body())
    raw = compact + b" " * (MAX_BODY_BYTES - len(compact))
    assert len(raw) == 64 * 1024

    assert parse_new_appointment(raw, NOW).start == START


def test_body_one_byte_over_64_kb_is_too_large_before_it_is_parsed() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_json_object(b"{" * (MAX_BODY_BYTES + 1))


def test_decode_returns_the_object() -> None:
    assert decode_json_object(b'{"start": "2026-12-01T14:00:00Z"}') == {"start": "2026-12-01T14:00:00Z"}


def test_invalid_request_message_names_every_field() -> None:
    error = InvalidRequest([FieldProblem("start", "is in the past"), FieldProblem("patient.phone", "is required")])

    assert str(error) == "start: is in the past; patient.phone: is required"


# --- valid bodies --------------------------------------------------------------------------------------------


def test_valid_body_with_z_offset_and_defaults() -> None:
    parsed = parse_new_appointment(encode(body()), NOW)

    assert parsed == NewAppointment(
        patient=PatientDetails("Ana Pérez", "+14155550100", "ana@example.com", None, "en"),
        start=START,
        duration_minutes=30,
        provider=None,
        location=None,
        external_id=None,
    )
    assert parsed.start.utcoffset() == timedelta(0)


def test_valid_body_with_local_offset_keeps_the_instant() -> None:
    raw = encode(
        body(
            patient=patient(timezone="America/New_York", language="es-MX", email="ana@example.com"),
            start="2026-12-01T09:00:00-05:00",
            duration_minutes=45,
            provider="  Dr. Okafor  ",
            location="Suite 200, 14 Elm Street",
            external_id="ehr-88121",
        )
    )

    parsed = parse_new_appointment(raw, NOW)

    assert parsed.start == START
    assert parsed.start.utcoffset() == timedelta(hours=-5)
    assert parsed.patient == PatientDetails("Ana Pérez", "+14155550100", "ana@example.com", "America/New_York", "es-MX")
    assert (parsed.duration_minutes, parsed.provider, parsed.location, parsed.external_id) == (
        45,
        "Dr. Okafor",
        "Suite 200, 14 Elm Street",
        "ehr-88121",
    )


def test_email_is_normalised() -> None:
    parsed = parse_new_appointment(encode(body(patient=patient(phone=None, email=" Ana.Perez@Example.COM "))), NOW)

    assert parsed.patient.email == "Ana.Perez@example.com"
    assert parsed.patient.phone is None


def test_email_only_patient_is_accepted() -> None:
    parsed = parse_new_appointment(encode(body(patient={"name": "Ana", "email": "ana@example.com"})), NOW)

    assert (parsed.patient.phone, parsed.patient.email) == (None, "ana@example.com")


@pytest.mark.parametrize("minutes", [1, 1440])
def test_duration_bounds_are_accepted(minutes: int) -> None:
    assert parse_new_appointment(encode(body(duration_minutes=minutes)), NOW).duration_minutes == minutes


def test_start_one_second_after_now_is_accepted() -> None:
    parsed = parse_new_appointment(encode(body(start="2026-11-26T18:00:01Z")), NOW)

    assert parsed.start == NOW + timedelta(seconds=1)


# --- patient -------------------------------------------------------------------------------------------------


def test_missing_patient_is_named() -> None:
    assert problems_of(encode(body(patient=None))) == [FieldProblem("patient", "is required")]


def test_patient_that_is_not_an_object_is_named() -> None:
    assert problems_of(encode(body(patient="Ana Pérez"))) == [FieldProblem("patient", "must be an object")]


@pytest.mark.parametrize(("name", "words"), [(None, "is required"), ("   ", "must not be empty"), (7, "string")])
def test_patient_needs_a_name(name: Any, words: str) -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(name=name)))))

    assert problem.field == "patient.name"
    assert words in problem.problem


@pytest.mark.parametrize("phone", ["+1 415 555 0123", "+1-415-555-0123", "+1 (415) 555-0123", "tel:+14155550123"])
def test_phone_in_any_international_format_is_kept_in_e164(phone: str) -> None:
    parsed = parse_new_appointment(encode(body(patient=patient(phone=phone))), NOW)

    assert parsed.patient.phone == "+14155550123"


def test_phone_without_country_code_and_no_clinic_country_is_rejected() -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(phone="4155550123")))))

    assert problem == FieldProblem(
        "patient.phone", "is not a valid phone number; write it with its country code, e.g. +14155550100"
    )


def test_phone_without_country_code_is_read_in_the_clinic_country() -> None:
    parsed = parse_new_appointment(encode(body(patient=patient(phone="(415) 555-0123"))), NOW, region="US")

    assert parsed.patient.phone == "+14155550123"


@pytest.mark.parametrize("phone", ["+0155550123", "+1 415 555"])
def test_phone_phonenumbers_cannot_read_is_rejected(phone: str) -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(phone=phone)))))

    assert problem == FieldProblem("patient.phone", "is not a valid phone number")


def test_phone_of_e164_shape_that_is_no_real_number_is_rejected() -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(phone="+10000000000")))))

    assert problem == FieldProblem("patient.phone", "is not a valid phone number")


def test_phone_longer_than_any_number_is_rejected() -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(phone="+1415555010012345")))))

    assert problem == FieldProblem("patient.phone", "is not a valid phone number")


@pytest.mark.parametrize("email", ["ana", "ana@", "ana@@example.com", "ana example@example.com"])
def test_invalid_email_is_rejected(email: str) -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(email=email)))))

    assert problem == FieldProblem("patient.email", "is not a valid email address")


def test_patient_without_phone_or_email_is_rejected() -> None:
    problem = only_problem(problems_of(encode(body(patient={"name": "Ana"}))))

    assert problem.field == "patient"
    assert "phone or an email" in problem.problem


@pytest.mark.parametrize("contact", [{"phone": "   "}, {"email": "  "}])
def test_patient_whose_only_contact_is_blank_is_rejected(contact: dict[str, str]) -> None:
    problems = problems_of(encode(body(patient={"name": "Ana", **contact})))

    assert [p.field for p in problems] == ["patient"]


def test_unknown_time_zone_is_rejected() -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(timezone="Mars/Olympus")))))

    assert problem.field == "patient.timezone"
    assert "IANA" in problem.problem


@pytest.mark.parametrize("language", ["english", "e", "en_US", "EN", "en-", "12"])
def test_invalid_language_tag_is_rejected(language: str) -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(language=language)))))

    assert problem.field == "patient.language"
    assert "language tag" in problem.problem


def test_unknown_patient_field_is_named_with_its_path() -> None:
    problem = only_problem(problems_of(encode(body(patient=patient(date_of_birth="1980-02-03")))))

    assert problem == FieldProblem("patient.date_of_birth", "is not a known field")


# --- start ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "words"),
    [
        ("2026-12-01T09:00:00", "UTC offset"),
        ("2026-12-01", "needs a time and an offset, e.g. 2026-12-01T10:00:00-05:00"),
        ("2026-11-25T09:00:00-05:00", "past"),
        ("2026-11-26T18:00:00Z", "past"),  # exactly now
        ("2026-11-26T13:00:00-05:00", "past"),  # now, written in New York time
        ("next Tuesday", "ISO 8601"),
        ("2026-02-30T09:00:00Z", "ISO 8601"),
        (1796130000, "string"),
        ("", "must not be empty"),
    ],
)
def test_bad_start_is_named(start: Any, words: str) -> None:
    problem = only_problem(problems_of(encode(body(start=start))))

    assert problem.field == "start"
    assert words in problem.problem


def test_missing_start_is_named() -> None:
    assert problems_of(encode(body(start=None))) == [FieldProblem("start", "is required")]


# --- other fields --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [0, 1441, -30, True, "30", 30.5, 30.0])
def test_duration_must_be_whole_minutes_from_1_to_1440(minutes: Any) -> None:
    problem = only_problem(problems_of(encode(body(duration_minutes=minutes))))

    assert problem == FieldProblem("duration_minutes", "must be a whole number of minutes from 1 to 1440")


def test_unknown_top_level_field_is_named() -> None:
    assert problems_of(encode(body(notes="bring insurance card"))) == [FieldProblem("notes", "is not a known field")]


def test_overlong_text_is_rejected() -> None:
    problem = only_problem(problems_of(encode(body(provider="x" * 201))))

    assert problem == FieldProblem("provider", "must be at most 200 characters")


def test_every_problem_is_reported_at_once() -> None:
    # GIVEN a body with something wrong in five places
    raw = encode(
        {
            "patient": {"name": "Ana", "phone": "4155550123", "timezone": "Mars/Olympus"},
            "start": "2026-11-01T09:00:00Z",
            "duration_minutes": 0,
            "colour": "blue",
        }
    )

    # WHEN it is parsed
    problems = problems_of(raw)

    # THEN every field is named in one rejection
    assert [p.field for p in problems] == ["colour", "patient.phone", "patient.timezone", "start", "duration_minutes"]
    assert "country code" in problems[1].problem
    assert "IANA" in problems[2].problem
    assert "past" in problems[3].problem


# --- parse_appointment_change --------------------------------------------------------------------------------


def test_empty_change_is_rejected_and_lists_what_can_change() -> None:
    problem = only_problem(change_problems_of(b"{}"))

    assert problem.field == "body"
    assert "duration_minutes, location, provider, start" in problem.problem


def test_change_body_must_be_a_json_object() -> None:
    assert [p.field for p in change_problems_of(b"[]")] == ["body"]


def test_change_of_start_only() -> None:
    change = parse_appointment_change(b'{"start": "2026-12-02T09:30:00-05:00"}', NOW)

    assert change == AppointmentChange(
        start=datetime(2026, 12, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5))),
        duration_minutes=None,
        provider=None,
        location=None,
        present=frozenset({"start"}),
    )


@pytest.mark.parametrize("removal", [b'{"location": null}', b'{"location": ""}', b'{"location": "   "}'])
def test_location_present_without_a_value_removes_it(removal: bytes) -> None:
    change = parse_appointment_change(removal, NOW)

    assert change.location is None
    assert change.present == frozenset({"location"})


def test_location_absent_leaves_it_alone() -> None:
    change = parse_appointment_change(b'{"provider": "Dr. Okafor"}', NOW)

    assert (change.provider, change.location) == ("Dr. Okafor", None)
    assert change.present == frozenset({"provider"})
    assert "location" not in change.present


def test_new_location_is_set() -> None:
    change = parse_appointment_change(b'{"location": " Suite 300 ", "duration_minutes": 60}', NOW)

    assert (change.location, change.duration_minutes) == ("Suite 300", 60)
    assert change.present == frozenset({"location", "duration_minutes"})


def test_start_cannot_be_removed() -> None:
    assert change_problems_of(b'{"start": null}') == [FieldProblem("start", "is required")]


def test_duration_cannot_be_removed() -> None:
    problem = only_problem(change_problems_of(b'{"duration_minutes": null}'))

    assert problem.field == "duration_minutes"


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b'{"start": "2026-11-20T09:00:00Z"}', "start", "past"),
        (b'{"start": "2026-12-02T09:30:00"}', "start", "UTC offset"),
        (b'{"duration_minutes": 1441}', "duration_minutes", "1 to 1440"),
        (b'{"patient": {"name": "Bo"}}', "patient", "not a known field"),
    ],
)
def test_bad_change_names_the_field(raw: bytes, field: str, words: str) -> None:
    problem = only_problem(change_problems_of(raw))

    assert problem.field == field
    assert words in problem.problem


def test_change_over_64_kb_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_appointment_change(encode({"provider": "x" * MAX_BODY_BYTES}), NOW)
