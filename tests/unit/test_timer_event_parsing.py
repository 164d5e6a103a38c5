"""Reading the event EventBridge Scheduler hands the fire function for a reminder (`chalicelib.fire.fire`).

EVENT is the shape reminder timers carried before the envelope (no `kind`, no `owner_type`): timers armed
then are still in Scheduler, and are read for one release (`chalicelib.arm.envelope`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.fire.dispatch import DeliveryRequest
from chalicelib.fire.fire import BadTimerEvent, parse_reminder_event

EVENT = {
    "clinic_id": "clinic-riverside",
    "owner_id": "appt_5f2c9e01a7b3d4c6",
    "reminder_id": "reminder-2h.email",
    "version": 2,
    "scheduled_time": "2026-12-01T12:00:00Z",
}


def test_good_event_becomes_a_delivery_request() -> None:
    request = parse_reminder_event(dict(EVENT))

    assert request == DeliveryRequest(
        clinic_id="clinic-riverside",
        owner_id="appt_5f2c9e01a7b3d4c6",
        reminder_id="reminder-2h.email",
        version=2,
        occurrence=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    )
    assert request.reminder_key == "appt_5f2c9e01a7b3d4c6/reminder-2h.email"


def test_scheduled_time_with_an_offset_is_the_same_occurrence() -> None:
    request = parse_reminder_event({**EVENT, "scheduled_time": "2026-12-01T07:00:00-05:00"})

    assert request.occurrence == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert request.occurrence.utcoffset() == timedelta(hours=-5)
    assert request.occurrence.tzinfo == timezone(timedelta(hours=-5))


@pytest.mark.parametrize("key", sorted(EVENT))
def test_event_missing_a_key_is_bad(key: str) -> None:
    event = {name: value for name, value in EVENT.items() if name != key}

    with pytest.raises(BadTimerEvent, match=key):
        parse_reminder_event(event)


@pytest.mark.parametrize(
    "changes",
    [
        {"scheduled_time": "2026-12-01T12:00:00"},  # naive
        {"scheduled_time": "<aws.scheduler.scheduled-time>"},  # placeholder never filled in
        {"scheduled_time": "soon"},
        {"version": True},
        {"version": "2"},
        {"version": 2.0},
        {"version": None},
    ],
)
def test_event_with_a_bad_value_is_bad(changes: dict[str, Any]) -> None:
    with pytest.raises(BadTimerEvent):
        parse_reminder_event({**EVENT, **changes})


def test_naive_time_and_bool_version_say_why() -> None:
    with pytest.raises(BadTimerEvent, match="needs a zone"):
        parse_reminder_event({**EVENT, "scheduled_time": "2026-12-01T12:00:00"})
    with pytest.raises(BadTimerEvent, match="version must be an integer"):
        parse_reminder_event({**EVENT, "version": True})


@pytest.mark.parametrize("event", [None, "clinic-riverside", ["clinic-riverside"], 7])
def test_event_that_is_not_an_object_is_bad(event: Any) -> None:
    with pytest.raises(BadTimerEvent, match="not an object"):
        parse_reminder_event(event)


def test_bad_timer_event_is_a_value_error() -> None:
    # The fire handler treats it as permanent: logged and dropped, not retried.
    assert issubclass(BadTimerEvent, ValueError)
