"""The pure half of reminder timers (`chalicelib.arm.timers`): the schedule's name and the input the
fire function receives."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from msgspec.structs import replace

from chalicelib.arm.envelope import OwnerType
from chalicelib.arm.timers import SCHEDULED_TIME, Timer, schedule_name
from chalicelib.fire.dispatch import DeliveryRequest
from chalicelib.fire.fire import parse_reminder_event

TIMER = Timer(
    clinic_id="clinic-riverside",
    owner_id="appt_5f2c9e01a7b3d4c6",
    reminder_id="reminder-24h.sms",
    version=3,
    fire_at=datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
    owner_type=OwnerType.APPOINTMENT,
)


def test_schedule_name_is_owner_dot_reminder() -> None:
    assert schedule_name("appt_5f2c9e01a7b3d4c6", "reminder-2h.email") == "appt_5f2c9e01a7b3d4c6.reminder-2h.email"
    assert TIMER.name == "appt_5f2c9e01a7b3d4c6.reminder-24h.sms"


def test_schedule_name_of_exactly_64_characters_is_accepted() -> None:
    owner = "a" * 47
    name = schedule_name(owner, "reminder-24h.sms")  # 47 + 1 + 16

    assert len(name) == 64


def test_schedule_name_over_64_characters_is_rejected() -> None:
    with pytest.raises(ValueError, match="1-64 characters"):
        schedule_name("a" * 48, "reminder-24h.sms")


@pytest.mark.parametrize(
    ("owner_id", "reminder_id"),
    [
        ("clinic/appt-1", "reminder-24h.sms"),
        ("appt 1", "reminder-24h.sms"),
        ("appt-1", "reminder:24h"),
        ("appt-é", "reminder-24h.sms"),
    ],
)
def test_schedule_name_outside_schedulers_alphabet_is_rejected(owner_id: str, reminder_id: str) -> None:
    with pytest.raises(ValueError, match=r"\[0-9A-Za-z_.-\]"):
        schedule_name(owner_id, reminder_id)


def test_schedule_name_with_a_trailing_newline_is_rejected() -> None:
    with pytest.raises(ValueError):
        schedule_name("appt-1", "reminder-24h.sms\n")


def test_timer_input_carries_only_ids_version_and_the_scheduler_placeholder() -> None:
    text = TIMER.input()

    assert json.loads(text) == {
        "kind": "reminder",
        "owner_type": "appointment",
        "clinic_id": "clinic-riverside",
        "owner_id": "appt_5f2c9e01a7b3d4c6",
        "reminder_id": "reminder-24h.sms",
        "version": 3,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    # Scheduler substitutes the placeholder textually, so it must appear unescaped in the input.
    assert '"scheduled_time":"<aws.scheduler.scheduled-time>"' in text
    assert SCHEDULED_TIME == "<aws.scheduler.scheduled-time>"


def test_timer_input_as_filled_in_by_scheduler_is_read_back_by_the_fire_function() -> None:
    # GIVEN the input Scheduler delivers when the timer is due
    delivered = TIMER.input().replace(SCHEDULED_TIME, "2026-11-30T14:00:00Z")

    # WHEN the fire function reads it
    request = parse_reminder_event(json.loads(delivered))

    # THEN it asks for exactly this reminder occurrence
    assert request == DeliveryRequest(
        clinic_id="clinic-riverside",
        owner_id="appt_5f2c9e01a7b3d4c6",
        reminder_id="reminder-24h.sms",
        version=3,
        occurrence=datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
        owner_type=OwnerType.APPOINTMENT,
    )


def test_an_appointment_timer_names_its_patient_and_the_fire_function_reads_it() -> None:
    timer = Timer(
        "clinic-riverside",
        "apt_5f2c9e01a7b3d4c6",
        "reminder-24h.sms",
        3,
        TIMER.fire_at,
        patient_id="pat_1",
        owner_type=OwnerType.APPOINTMENT,
    )
    delivered = json.loads(timer.input().replace(SCHEDULED_TIME, "2026-11-30T14:00:00Z"))

    assert list(delivered) == [
        "kind",
        "owner_type",
        "clinic_id",
        "owner_id",
        "reminder_id",
        "version",
        "patient_id",
        "scheduled_time",
    ]
    assert parse_reminder_event(delivered).patient_id == "pat_1"
    assert parse_reminder_event({k: v for k, v in delivered.items() if k != "patient_id"}).patient_id is None


@pytest.mark.parametrize("patient_id", ["", 7, ["pat_1"]])
def test_a_patient_id_that_is_not_a_non_empty_string_is_rejected(patient_id: object) -> None:
    from chalicelib.fire.fire import BadTimerEvent

    event = json.loads(TIMER.input().replace(SCHEDULED_TIME, "2026-11-30T14:00:00Z"))
    with pytest.raises(BadTimerEvent, match="patient_id"):
        parse_reminder_event({**event, "patient_id": patient_id})


def test_an_appointment_timer_names_its_planned_contact_and_the_fire_function_reads_it() -> None:
    timer = replace(TIMER, patient_id="pat_1", contact="+14155550100")
    delivered = json.loads(timer.input().replace(SCHEDULED_TIME, "2026-11-30T14:00:00Z"))

    assert delivered["contact"] == "+14155550100"
    assert parse_reminder_event(delivered).contact == "+14155550100"
    # A timer armed before it was carried (or by a path that does not know the address) reads without it.
    assert parse_reminder_event({k: v for k, v in delivered.items() if k != "contact"}).contact is None


@pytest.mark.parametrize("contact", ["", 7, ["+14155550100"]])
def test_a_contact_that_is_not_a_non_empty_string_is_rejected_without_naming_it(contact: object) -> None:
    from chalicelib.fire.fire import BadTimerEvent

    event = json.loads(TIMER.input().replace(SCHEDULED_TIME, "2026-11-30T14:00:00Z"))
    with pytest.raises(BadTimerEvent, match="contact") as refused:
        parse_reminder_event({**event, "contact": contact})
    assert "+1415" not in str(refused.value)
