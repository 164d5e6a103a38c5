"""The one envelope of every timer's Input (`chalicelib.arm.envelope`): what each kind of timer writes
reads back as its typed event, what older timers carried still reads, and anything malformed is one error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.arm.envelope import (
    SCHEDULED_TIME,
    BadTimerEvent,
    DoseTimerEvent,
    OwnerType,
    ReminderTimerEvent,
    TimerKind,
    WatchTimerEvent,
    dose_input,
    parse_timer_event,
    reminder_input,
    to_input,
    watch_input,
)
from chalicelib.arm.timers import Timer

DUE = "2027-03-14T12:30:00Z"
AT = datetime(2027, 3, 14, 12, 30, tzinfo=UTC)


def delivered(envelope: dict[str, Any] | str) -> Any:
    """What Scheduler hands the fire function: the stored Input with its placeholder filled in, textually."""
    text = envelope if isinstance(envelope, str) else to_input(envelope)
    assert f'"scheduled_time":"{SCHEDULED_TIME}"' in text  # unescaped, or Scheduler would not find it
    return json.loads(text.replace(SCHEDULED_TIME, DUE))


def test_an_appointment_reminder_round_trips() -> None:
    timer = Timer("cln_1", "apt_1", "reminder-2h.sms", 4, AT, patient_id="pat_1", owner_type=OwnerType.APPOINTMENT)

    event = parse_timer_event(delivered(timer.input()))

    assert event == ReminderTimerEvent("cln_1", OwnerType.APPOINTMENT, "apt_1", "reminder-2h.sms", 4, AT, "pat_1")
    assert event.kind is TimerKind.REMINDER


def test_a_regimen_reminder_carries_its_dose_time_instead_of_hiding_it_in_the_id() -> None:
    dose = datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
    timer = Timer("cln_1", "rgm_1", "follow-202703141200.sms", 2, AT, owner_type=OwnerType.REGIMEN, dose_time=dose)
    text = timer.input()

    assert json.loads(text)["dose_time"] == "2027-03-14T12:00:00Z"
    assert parse_timer_event(delivered(text)) == ReminderTimerEvent(
        "cln_1", OwnerType.REGIMEN, "rgm_1", "follow-202703141200.sms", 2, AT, dose_time=dose
    )


def test_a_dose_timer_round_trips() -> None:
    envelope = dose_input("cln_1", "rgm_1", 1, 3)

    assert envelope == {
        "kind": "dose",
        "owner_type": "regimen",
        "clinic_id": "cln_1",
        "owner_id": "rgm_1",
        "instruction": 1,
        "version": 3,
        "scheduled_time": SCHEDULED_TIME,
    }
    event = parse_timer_event(delivered(envelope))
    assert event == DoseTimerEvent("cln_1", "rgm_1", 1, 3, AT)
    assert (event.kind, event.owner_type) == (TimerKind.DOSE, OwnerType.REGIMEN)


def test_a_watch_timer_round_trips() -> None:
    envelope = watch_input("cln_1", "Dr. Rivera")

    assert envelope == {
        "kind": "watch",
        "owner_type": "provider_day",
        "clinic_id": "cln_1",
        "owner_id": "Dr. Rivera",
        "scheduled_time": SCHEDULED_TIME,
    }
    event = parse_timer_event(delivered(envelope))
    assert event == WatchTimerEvent("cln_1", "Dr. Rivera", AT)
    assert (event.kind, event.owner_type) == (TimerKind.WATCH, OwnerType.PROVIDER_DAY)


# What timers armed before the envelope carried, as they are still stored in Scheduler (read for one release).
OLD_APPOINTMENT_REMINDER = {
    "clinic_id": "cln_1",
    "owner_id": "apt_5f2c9e01a7b3d4c6",
    "reminder_id": "reminder-24h.sms",
    "version": 1,
    "patient_id": "pat_1",
    "scheduled_time": DUE,
}
OLD_FOLLOW_UP = {
    "clinic_id": "cln_1",
    "owner_id": "rgm_1",
    "reminder_id": "follow-202703141200.sms",
    "version": 1,
    "scheduled_time": DUE,
}
OLD_DOSE = {"kind": "dose", "clinic_id": "cln_1", "regimen_id": "rgm_1", "instruction": 0, "version": 1}
OLD_WATCH = {"kind": "wait-watch", "clinic_id": "cln_1", "provider": "Dr. Rivera"}


def test_an_old_reminder_is_a_reminder_that_leaves_its_owner_to_the_stored_reminder() -> None:
    # The owner type is not guessed from the id: the stored reminder's decides, as it always did.
    assert parse_timer_event(OLD_APPOINTMENT_REMINDER) == ReminderTimerEvent(
        "cln_1", None, "apt_5f2c9e01a7b3d4c6", "reminder-24h.sms", 1, AT, "pat_1"
    )
    assert parse_timer_event(OLD_FOLLOW_UP) == ReminderTimerEvent(
        "cln_1", None, "rgm_1", "follow-202703141200.sms", 1, AT
    )


def test_an_old_dose_and_an_old_watch_read_as_today() -> None:
    # The dose's Input as regimens.service wrote it (json.dumps' default separators) before the envelope.
    old_dose_input = json.dumps({**OLD_DOSE, "scheduled_time": SCHEDULED_TIME})

    assert parse_timer_event(json.loads(old_dose_input.replace(SCHEDULED_TIME, DUE))) == DoseTimerEvent(
        "cln_1", "rgm_1", 0, 1, AT
    )
    assert parse_timer_event({**OLD_WATCH, "scheduled_time": DUE}) == WatchTimerEvent("cln_1", "Dr. Rivera", AT)


def test_a_dose_time_in_another_zone_is_the_same_instant_in_utc() -> None:
    event = parse_timer_event(
        {**delivered(dose_input("cln_1", "rgm_1", 0, 1)), "scheduled_time": "2027-03-14T08:30-04:00"}
    )

    assert isinstance(event, DoseTimerEvent)
    assert event.scheduled_time == AT and event.scheduled_time.tzinfo is UTC


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in event.items() if name != key}


REMINDER = delivered(reminder_input("cln_1", OwnerType.APPOINTMENT, "apt_1", "reminder-2h.sms", 1))
DOSE = delivered(dose_input("cln_1", "rgm_1", 0, 1))
WATCH = delivered(watch_input("cln_1", "Dr. Rivera"))


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (None, "not an object"),
        ([REMINDER], "not an object"),
        ({**REMINDER, "kind": "remind"}, "kind is not a timer kind"),
        ({**REMINDER, "kind": ["reminder"]}, "kind is not a timer kind"),
        (_without(REMINDER, "owner_type"), "owner_type"),
        ({**REMINDER, "owner_type": "provider_day"}, "owner_type is not one a reminder timer has"),
        (_without(REMINDER, "reminder_id"), "reminder_id"),
        ({**REMINDER, "version": "1"}, "version must be an integer"),
        ({**REMINDER, "dose_time": "2027-03-14T12:00"}, "dose_time needs a zone"),
        ({**REMINDER, "scheduled_time": SCHEDULED_TIME}, "scheduled_time is not an ISO 8601 instant"),
        ({**DOSE, "owner_type": "appointment"}, "owner_type is not one a dose timer has"),
        (_without(DOSE, "owner_id"), "owner_id"),
        ({**DOSE, "instruction": "0"}, "whole-number instruction"),
        ({**DOSE, "version": True}, "whole-number instruction and version"),
        ({**DOSE, "scheduled_time": "2027-03-14T12:30:00"}, "scheduled_time needs a zone"),
        ({**WATCH, "owner_type": "regimen"}, "owner_type is not one a watch timer has"),
        ({**WATCH, "owner_id": ""}, "owner_id must be a non-empty string"),
        (_without(WATCH, "scheduled_time"), "scheduled_time"),
        ({**OLD_DOSE, "scheduled_time": DUE, "instruction": None}, "whole-number instruction"),
        ({**OLD_DOSE, "scheduled_time": DUE, "regimen_id": 7}, "regimen_id must be a non-empty string"),
        ({**OLD_WATCH, "scheduled_time": "x", "provider": 3}, "provider must be a non-empty string"),
        (_without(OLD_FOLLOW_UP, "clinic_id"), "clinic_id"),
    ],
)
def test_a_malformed_event_of_any_kind_is_one_error_saying_why(event: Any, why: str) -> None:
    with pytest.raises(BadTimerEvent, match=why):
        parse_timer_event(event)
