"""The Scheduler emulator against schedules stored in moto with the real boto3 API.

Every expected instant is computed by hand in the test (time zone offsets and DST dates of 2026 spelled out).
The emulator is given a frozen simulated clock: moto stamps CreationDate with real time, and these tests must
give the same answer whenever they run.
"""

from __future__ import annotations

import json
import logging
import pickle
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from infra.local.clock import SimulatedClock
from infra.local.scheduler_emulator import Firing, SchedulerEmulator

GROUP = "carecue-local"
FIRE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:carecue-fire"
ROLE_ARN = "arn:aws:iam::123456789012:role/carecue-scheduler"
JAN_1 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # a Thursday
BERLIN = ZoneInfo("Europe/Berlin")


NO_RETRIES = {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 3600}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def scheduler(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name=GROUP)
        yield client


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(start=JAN_1, frozen=True)


class Target:
    """Stands in for the fire Lambda: records each event, and can act like a handler that arms timers."""

    def __init__(self, behaviour: Callable[[str, Any], Any] | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._behaviour = behaviour

    def __call__(self, target_arn: str, event: Any) -> Any:
        self.calls.append((target_arn, event))
        if self._behaviour is not None:
            return self._behaviour(target_arn, event)
        return {"ok": True}


def arm(
    client: Any,
    name: str,
    expression: str,
    *,
    timezone: str | None = None,
    payload: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    after: str = "NONE",
    state: str = "ENABLED",
    group: str = GROUP,
    retry: dict[str, int] | None = None,
    dead_letter_arn: str | None = None,
) -> str:
    target: dict[str, Any] = {"Arn": FIRE_ARN, "RoleArn": ROLE_ARN}
    if retry is not None:
        target["RetryPolicy"] = retry
    if dead_letter_arn is not None:
        target["DeadLetterConfig"] = {"Arn": dead_letter_arn}
    target["Input"] = payload if payload is not None else json.dumps({"reminder": name})
    request: dict[str, Any] = {
        "Name": name,
        "GroupName": group,
        "ScheduleExpression": expression,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": target,
        "ActionAfterCompletion": after,
        "State": state,
    }
    if timezone is not None:
        request["ScheduleExpressionTimezone"] = timezone
    if start is not None:
        request["StartDate"] = start
    if end is not None:
        request["EndDate"] = end
    return str(client.create_schedule(**request)["ScheduleArn"])


def emulator_for(client: Any, clock: SimulatedClock, target: Callable[[str, Any], Any]) -> SchedulerEmulator:
    return SchedulerEmulator(client, GROUP, target, now=clock.now)


def fired(firings: list[Firing]) -> list[tuple[str, datetime]]:
    return [(firing.schedule_name, firing.scheduled_time) for firing in firings]


def exists(client: Any, name: str) -> bool:
    try:
        client.get_schedule(Name=name, GroupName=GROUP)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


# --- order, time zones, placeholders -------------------------------------------------------------------


def test_fires_in_time_order_across_schedules_and_time_zones(scheduler: Any, clock: SimulatedClock) -> None:
    # GIVEN four reminders for the same morning, armed in four zones (all on standard time in January)
    arm(scheduler, "new-york", "at(2026-01-10T03:30:00)", timezone="America/New_York")  # UTC-5: 08:30Z
    arm(scheduler, "utc", "at(2026-01-10T08:15:00)")  # no zone: UTC
    arm(scheduler, "berlin", "at(2026-01-10T09:00:00)", timezone="Europe/Berlin")  # UTC+1: 08:00Z
    arm(scheduler, "tokyo", "at(2026-01-10T17:00:00)", timezone="Asia/Tokyo")  # UTC+9: 08:00Z
    target = Target()
    emulator = emulator_for(scheduler, clock, target)
    expected = [
        ("berlin", utc(2026, 1, 10, 8, 0)),
        ("tokyo", utc(2026, 1, 10, 8, 0)),  # same instant: by name
        ("utc", utc(2026, 1, 10, 8, 15)),
        ("new-york", utc(2026, 1, 10, 8, 30)),
    ]

    # WHEN the clock reaches 08:30Z
    assert emulator.due(utc(2026, 1, 10, 8, 30)) == [(when, name) for name, when in expected]
    firings = emulator.fire_due(utc(2026, 1, 10, 8, 30), on_time=clock.set)

    # THEN each fired once, in time order, with its own event
    assert fired(firings) == expected
    assert [event for _, event in target.calls] == [{"reminder": name} for name, _ in expected]
    assert all(firing.target_arn == FIRE_ARN and firing.result == {"ok": True} for firing in firings)
    assert all(firing.error is None for firing in firings)
    assert clock.now() == utc(2026, 1, 10, 8, 30)


def test_nothing_fires_before_its_time(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "dentist", "at(2026-01-10T09:00:00)")
    emulator = emulator_for(scheduler, clock, Target())

    assert emulator.fire_due(utc(2026, 1, 10, 8, 59) + timedelta(seconds=59)) == []
    assert emulator.due(utc(2026, 1, 10, 8, 59)) == []


@pytest.mark.parametrize(
    ("expression", "instant"),
    [
        ("at(2026-12-01T09:00:00)", utc(2026, 12, 1, 14, 0)),  # EST, UTC-5
        ("at(2026-07-01T09:00:00)", utc(2026, 7, 1, 13, 0)),  # EDT, UTC-4
    ],
)
def test_at_in_new_york_fires_at_the_utc_instant_it_names(
    scheduler: Any, clock: SimulatedClock, expression: str, instant: datetime
) -> None:
    arm(scheduler, "checkup", expression, timezone="America/New_York")
    emulator = emulator_for(scheduler, clock, Target())

    assert emulator.fire_due(instant - timedelta(seconds=1)) == []
    assert fired(emulator.fire_due(instant)) == [("checkup", instant)]


def test_placeholders_are_filled_before_the_input_is_parsed(scheduler: Any, clock: SimulatedClock) -> None:
    payload = json.dumps(
        {
            "reminder_id": "r-1",
            "scheduled_time": "<aws.scheduler.scheduled-time>",
            "execution_id": "<aws.scheduler.execution-id>",
            "schedule_arn": "<aws.scheduler.schedule-arn>",
            "attempt": "<aws.scheduler.attempt-number>",
        }
    )
    arn = arm(scheduler, "r-1", "at(2026-12-01T09:00:00)", payload=payload)
    arm(scheduler, "r-2", "at(2026-12-01T09:05:00)", payload=payload)
    target = Target()

    firings = emulator_for(scheduler, clock, target).fire_due(utc(2026, 12, 1, 9, 5))

    first, second = (firing.event for firing in firings)
    assert first["reminder_id"] == "r-1"
    assert first["scheduled_time"] == "2026-12-01T09:00:00Z"
    assert second["scheduled_time"] == "2026-12-01T09:05:00Z"
    assert first["schedule_arn"] == arn
    assert arn.endswith(f":schedule/{GROUP}/r-1")
    assert first["attempt"] == "1"
    assert uuid.UUID(first["execution_id"]).version == 4
    assert first["execution_id"] != second["execution_id"]
    assert target.calls[0] == (FIRE_ARN, first)


def test_an_input_that_is_not_json_is_passed_as_text(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "plain", "at(2026-12-01T09:00:00)", payload="due <aws.scheduler.scheduled-time>")

    (firing,) = emulator_for(scheduler, clock, Target()).fire_due(utc(2026, 12, 1, 9, 0))

    assert firing.event == "due 2026-12-01T09:00:00Z"


# --- one-time schedules: completion, updates, chains ---------------------------------------------------


def test_delete_after_completion_removes_the_schedule(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "once", "at(2026-02-01T10:00:00)", after="DELETE")
    emulator = emulator_for(scheduler, clock, Target())

    assert fired(emulator.fire_due(utc(2026, 2, 1, 10, 0))) == [("once", utc(2026, 2, 1, 10, 0))]

    assert not exists(scheduler, "once")
    assert emulator.fire_due(utc(2026, 3, 1)) == []


def test_none_after_completion_keeps_the_schedule_but_fires_once(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "kept", "at(2026-02-01T10:00:00)", after="NONE")
    target = Target()
    emulator = emulator_for(scheduler, clock, target)

    assert fired(emulator.fire_due(utc(2026, 2, 1, 10, 0))) == [("kept", utc(2026, 2, 1, 10, 0))]
    assert emulator.fire_due(utc(2026, 2, 1, 11, 0)) == []
    assert emulator.due(utc(2026, 3, 1)) == []

    assert exists(scheduler, "kept")
    assert len(target.calls) == 1


def test_an_updated_at_fires_again_at_its_new_time(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "moved", "at(2026-02-01T10:00:00)")
    emulator = emulator_for(scheduler, clock, Target())
    assert fired(emulator.fire_due(utc(2026, 2, 1, 10, 0), on_time=clock.set)) == [("moved", utc(2026, 2, 1, 10, 0))]

    # The update leaves out State, as the API allows; moto then stores none, and the schedule stays ENABLED.
    scheduler.update_schedule(
        Name="moved",
        GroupName=GROUP,
        ScheduleExpression="at(2026-02-03T10:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": FIRE_ARN, "RoleArn": ROLE_ARN, "Input": "{}"},
    )

    assert emulator.fire_due(utc(2026, 2, 3, 9, 59), on_time=clock.set) == []
    assert fired(emulator.fire_due(utc(2026, 2, 3, 10, 0), on_time=clock.set)) == [("moved", utc(2026, 2, 3, 10, 0))]


def test_an_at_moved_later_before_it_fired_fires_only_at_the_new_time(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "moved", "at(2026-02-01T10:00:00)")
    emulator = emulator_for(scheduler, clock, Target())
    scheduler.update_schedule(
        Name="moved",
        GroupName=GROUP,
        ScheduleExpression="at(2026-02-02T10:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": FIRE_ARN, "RoleArn": ROLE_ARN, "Input": "{}"},
        State="ENABLED",
    )

    assert fired(emulator.fire_due(utc(2026, 2, 5))) == [("moved", utc(2026, 2, 2, 10, 0))]


def test_a_schedule_armed_by_an_invocation_fires_in_the_same_call(scheduler: Any, clock: SimulatedClock) -> None:
    # GIVEN a handler that, like a dose chain, arms the next link 36 hours after each one fires
    def arm_next_link(target_arn: str, event: Any) -> str:
        link = int(event["link"])
        fire_at = datetime.fromisoformat(event["at"]) + timedelta(hours=36)
        arm(
            scheduler,
            f"dose-{link + 1}",
            f"at({fire_at:%Y-%m-%dT%H:%M:%S})",
            payload=json.dumps({"link": link + 1, "at": "<aws.scheduler.scheduled-time>"}),
            after="DELETE",
        )
        return f"armed dose-{link + 1}"

    arm(
        scheduler,
        "dose-1",
        "at(2026-03-01T08:00:00)",
        payload=json.dumps({"link": 1, "at": "<aws.scheduler.scheduled-time>"}),
        after="DELETE",
    )
    seen_times: list[datetime] = []

    def on_time(moment: datetime) -> None:
        seen_times.append(moment)
        clock.set(moment)

    # WHEN three days pass
    firings = emulator_for(scheduler, clock, Target(arm_next_link)).fire_due(utc(2026, 3, 4, 8, 0), on_time)

    # THEN the links armed along the way fired in the same call, and the one beyond it waits
    assert fired(firings) == [
        ("dose-1", utc(2026, 3, 1, 8, 0)),
        ("dose-2", utc(2026, 3, 2, 20, 0)),
        ("dose-3", utc(2026, 3, 4, 8, 0)),
    ]
    assert [firing.result for firing in firings] == ["armed dose-2", "armed dose-3", "armed dose-4"]
    assert seen_times == [utc(2026, 3, 1, 8, 0), utc(2026, 3, 2, 20, 0), utc(2026, 3, 4, 8, 0)]
    assert [exists(scheduler, f"dose-{n}") for n in (1, 2, 3, 4)] == [False, False, False, True]


def test_a_schedule_re_armed_under_its_own_name_is_not_deleted(
    scheduler: Any, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    def re_arm(target_arn: str, event: Any) -> None:
        if event["n"] == 1:
            scheduler.update_schedule(
                Name="snooze",
                GroupName=GROUP,
                ScheduleExpression="at(2026-03-01T08:10:00)",
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={"Arn": FIRE_ARN, "RoleArn": ROLE_ARN, "Input": json.dumps({"n": 2})},
                State="ENABLED",
            )

    arm(scheduler, "snooze", "at(2026-03-01T08:00:00)", payload=json.dumps({"n": 1}), after="DELETE")
    emulator = emulator_for(scheduler, clock, Target(re_arm))

    with caplog.at_level(logging.WARNING):
        firings = emulator.fire_due(utc(2026, 3, 1, 8, 5))

    assert fired(firings) == [("snooze", utc(2026, 3, 1, 8, 0))]
    assert exists(scheduler, "snooze")
    assert "changed during its own invocation" in caplog.text
    assert fired(emulator.fire_due(utc(2026, 3, 1, 8, 10))) == [("snooze", utc(2026, 3, 1, 8, 10))]
    assert not exists(scheduler, "snooze")


def test_on_time_receives_each_firing_instant_in_order(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "c", "at(2026-01-02T12:00:00)")
    arm(scheduler, "a", "at(2026-01-02T10:00:00)")
    arm(scheduler, "b", "at(2026-01-02T11:00:00)")
    calls: list[tuple[str, Any]] = []
    target = Target(lambda arn, event: calls.append(("invoke", event["reminder"])))

    def on_time(moment: datetime) -> None:
        calls.append(("on_time", moment))

    emulator_for(scheduler, clock, target).fire_due(utc(2026, 1, 3), on_time)

    assert calls == [
        ("on_time", utc(2026, 1, 2, 10, 0)),
        ("invoke", "a"),
        ("on_time", utc(2026, 1, 2, 11, 0)),
        ("invoke", "b"),
        ("on_time", utc(2026, 1, 2, 12, 0)),
        ("invoke", "c"),
    ]


def test_a_timer_armed_in_the_past_fires_late_without_moving_time_back(scheduler: Any, clock: SimulatedClock) -> None:
    clock.set(utc(2026, 1, 5, 12, 0))
    arm(scheduler, "late", "at(2026-01-05T11:00:00)")

    firings = emulator_for(scheduler, clock, Target()).fire_due(utc(2026, 1, 5, 12, 0), on_time=clock.set)

    assert fired(firings) == [("late", utc(2026, 1, 5, 11, 0))]
    assert firings[0].event == {"reminder": "late"}
    assert clock.now() == utc(2026, 1, 5, 12, 0)


# --- cron, rate, time zones and DST ---------------------------------------------------------------------


def test_cron_at_8_in_berlin_stays_at_8_across_both_dst_changes_of_2026(scheduler: Any, clock: SimulatedClock) -> None:
    # GIVEN a daily 08:00 Berlin dose reminder armed on 27 March 2026
    clock.set(utc(2026, 3, 27))
    arm(scheduler, "morning-dose", "cron(0 8 * * ? *)", timezone="Europe/Berlin")
    emulator = emulator_for(scheduler, clock, Target())

    # WHEN seven months pass
    firings = emulator.fire_due(utc(2026, 10, 27), on_time=clock.set)

    # THEN it fired every day at 08:00 Berlin time: 07:00Z on CET (UTC+1), 06:00Z on CEST (UTC+2).
    # Summer time starts on 29 March at 01:00Z and ends on 25 October at 01:00Z.
    times = [firing.scheduled_time for firing in firings]
    assert times[:4] == [utc(2026, 3, 27, 7), utc(2026, 3, 28, 7), utc(2026, 3, 29, 6), utc(2026, 3, 30, 6)]
    assert times[-4:] == [utc(2026, 10, 23, 6), utc(2026, 10, 24, 6), utc(2026, 10, 25, 7), utc(2026, 10, 26, 7)]
    # 27-31 March, April to September, 1-26 October
    assert len(times) == 5 + 30 + 31 + 30 + 31 + 31 + 30 + 26
    assert {(t.astimezone(BERLIN).hour, t.astimezone(BERLIN).minute) for t in times} == {(8, 0)}
    assert len({t.astimezone(BERLIN).date() for t in times}) == len(times)
    assert times == sorted(times)


def test_cron_inside_the_spring_gap_is_skipped(scheduler: Any, clock: SimulatedClock) -> None:
    clock.set(utc(2026, 3, 27))
    arm(scheduler, "night", "cron(30 2 * * ? *)", timezone="Europe/Berlin")

    firings = emulator_for(scheduler, clock, Target()).fire_due(utc(2026, 3, 31), on_time=clock.set)

    # 02:30 on 29 March does not exist in Berlin (01:59:59 CET is followed by 03:00 CEST)
    assert [f.scheduled_time for f in firings] == [
        utc(2026, 3, 27, 1, 30),  # CET
        utc(2026, 3, 28, 1, 30),  # CET
        utc(2026, 3, 30, 0, 30),  # CEST
    ]


def test_cron_inside_the_autumn_overlap_fires_once_at_the_first_instance(scheduler: Any, clock: SimulatedClock) -> None:
    clock.set(utc(2026, 10, 23, 12))
    arm(scheduler, "night", "cron(30 2 * * ? *)", timezone="Europe/Berlin")

    firings = emulator_for(scheduler, clock, Target()).fire_due(utc(2026, 10, 27), on_time=clock.set)

    # 02:30 on 25 October happens twice (00:30Z on CEST, 01:30Z on CET); it fires at the first
    assert [f.scheduled_time for f in firings] == [
        utc(2026, 10, 24, 0, 30),  # CEST
        utc(2026, 10, 25, 0, 30),  # CEST, the first of the two 02:30s
        utc(2026, 10, 26, 1, 30),  # CET
    ]


def test_an_every_15_minutes_cron_runs_once_per_wall_time_in_the_autumn_overlap(
    scheduler: Any, clock: SimulatedClock
) -> None:
    clock.set(utc(2026, 10, 24))
    arm(scheduler, "quarterly", "cron(0/15 2 25 10 ? 2026)", timezone="Europe/Berlin")

    firings = emulator_for(scheduler, clock, Target()).fire_due(utc(2026, 10, 26))

    assert [f.scheduled_time for f in firings] == [
        utc(2026, 10, 25, 0, 0),
        utc(2026, 10, 25, 0, 15),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 0, 45),
    ]


@pytest.mark.parametrize(
    ("expression", "instant"),
    [
        ("at(2026-03-29T02:30:00)", utc(2026, 3, 29, 1, 30)),  # no such wall time: CET offset, = 03:30 CEST
        ("at(2026-10-25T02:30:00)", utc(2026, 10, 25, 0, 30)),  # twice: the first, on CEST
    ],
)
def test_at_inside_a_dst_change_still_fires_once(
    scheduler: Any, clock: SimulatedClock, expression: str, instant: datetime
) -> None:
    arm(scheduler, "edge", expression, timezone="Europe/Berlin")

    assert fired(emulator_for(scheduler, clock, Target()).fire_due(utc(2026, 12, 1))) == [("edge", instant)]


@pytest.mark.parametrize(
    ("expression", "first_three"),
    [
        # 1 January 2026 is a Thursday
        ("cron(0 8 ? * MON-FRI *)", [utc(2026, 1, 1, 8), utc(2026, 1, 2, 8), utc(2026, 1, 5, 8)]),
        ("cron(0 8 ? * 2-6 *)", [utc(2026, 1, 1, 8), utc(2026, 1, 2, 8), utc(2026, 1, 5, 8)]),
        ("cron(0 8 ? * 1 *)", [utc(2026, 1, 4, 8), utc(2026, 1, 11, 8), utc(2026, 1, 18, 8)]),  # Sundays
        ("cron(0 8 ? * 7 *)", [utc(2026, 1, 3, 8), utc(2026, 1, 10, 8), utc(2026, 1, 17, 8)]),  # Saturdays
        ("cron(0 8 ? * SUN,WED *)", [utc(2026, 1, 4, 8), utc(2026, 1, 7, 8), utc(2026, 1, 11, 8)]),
        ("cron(0 8 ? * FRI-MON *)", [utc(2026, 1, 2, 8), utc(2026, 1, 3, 8), utc(2026, 1, 4, 8)]),
        ("cron(0 8 ? * 6L *)", [utc(2026, 1, 30, 8), utc(2026, 2, 27, 8), utc(2026, 3, 27, 8)]),  # last Friday
        ("cron(0 8 ? * 3#2 *)", [utc(2026, 1, 13, 8), utc(2026, 2, 10, 8), utc(2026, 3, 10, 8)]),  # 2nd Tuesday
        ("cron(0 8 ? * L *)", [utc(2026, 1, 3, 8), utc(2026, 1, 10, 8), utc(2026, 1, 17, 8)]),  # L alone: SAT
        ("cron(0 8 L * ? *)", [utc(2026, 1, 31, 8), utc(2026, 2, 28, 8), utc(2026, 3, 31, 8)]),
        # 15 February 2026 is a Sunday: the nearest weekday is Monday the 16th
        ("cron(0 8 15W * ? *)", [utc(2026, 1, 15, 8), utc(2026, 2, 16, 8), utc(2026, 3, 16, 8)]),
        ("cron(0/30 9 1 JAN ? 2026)", [utc(2026, 1, 1, 9), utc(2026, 1, 1, 9, 30)]),
        ("cron(0 8 1 * ? 2027)", [utc(2027, 1, 1, 8), utc(2027, 2, 1, 8), utc(2027, 3, 1, 8)]),
        ("cron(15 6,18 ? * * *)", [utc(2026, 1, 1, 6, 15), utc(2026, 1, 1, 18, 15), utc(2026, 1, 2, 6, 15)]),
    ],
)
def test_aws_cron_fields_mean_what_aws_says(
    scheduler: Any, clock: SimulatedClock, expression: str, first_three: list[datetime]
) -> None:
    arm(scheduler, "cron", expression)

    due = emulator_for(scheduler, clock, Target()).due(utc(2027, 3, 2))

    assert [when for when, _ in due[:3]] == first_three


@pytest.mark.parametrize(("aws_day", "name"), list(enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)))
def test_day_of_week_numbers_and_names_count_from_sunday(
    scheduler: Any, clock: SimulatedClock, aws_day: int, name: str
) -> None:
    arm(scheduler, "by-number", f"cron(0 8 ? * {aws_day} *)")
    arm(scheduler, "by-name", f"cron(0 8 ? * {name} *)")

    due = emulator_for(scheduler, clock, Target()).due(utc(2026, 3, 1))

    by_number = [when for when, schedule in due if schedule == "by-number"]
    assert by_number == [when for when, schedule in due if schedule == "by-name"]
    assert len(by_number) == 8 or len(by_number) == 9
    # isoweekday: Monday 1 ... Sunday 7; AWS: Sunday 1 ... Saturday 7
    assert {when.isoweekday() % 7 + 1 for when in by_number} == {aws_day}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    zone=st.sampled_from(
        ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata", "UTC"]
    ),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.sampled_from([0, 15, 30, 45]),
)
def test_a_daily_cron_fires_at_its_wall_time_once_on_every_day_that_has_it(
    aws_env: None, zone: str, hour: int, minute: int
) -> None:
    tz = ZoneInfo(zone)
    clock = SimulatedClock(start=JAN_1, frozen=True)
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name=GROUP)
        arm(client, "daily", f"cron({minute} {hour} * * ? *)", timezone=zone)
        times = [when for when, _ in emulator_for(client, clock, Target()).due(utc(2027, 1, 1))]

    local = [when.astimezone(tz) for when in times]
    assert all((moment.hour, moment.minute) == (hour, minute) for moment in local)
    assert len({moment.date() for moment in local}) == len(local)
    # A day lacks the time only inside a spring-forward gap: at most one day a year per zone.
    assert 364 <= len(local) <= 366
    assert times == sorted(times)


def test_rate_starts_when_armed_and_repeats(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "reconciler", "rate(2 hours)")
    arm(scheduler, "tick", "rate(1 minute)")
    emulator = emulator_for(scheduler, clock, Target())

    firings = emulator.fire_due(utc(2026, 1, 1, 4, 0), on_time=clock.set)

    assert [f.scheduled_time for f in firings if f.schedule_name == "reconciler"] == [
        utc(2026, 1, 1, 0),
        utc(2026, 1, 1, 2),
        utc(2026, 1, 1, 4),
    ]
    assert len([f for f in firings if f.schedule_name == "tick"]) == 4 * 60 + 1
    assert emulator.fire_due(utc(2026, 1, 1, 4, 0)) == []


def test_rate_in_days_is_24_hours_even_across_dst(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "daily", "rate(1 day)", timezone="Europe/Berlin", start=utc(2026, 3, 28, 7))

    due = emulator_for(scheduler, clock, Target()).due(utc(2026, 3, 30, 7))

    assert [when for when, _ in due] == [utc(2026, 3, 28, 7), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]


def test_start_and_end_dates_bound_a_rate_schedule(scheduler: Any, clock: SimulatedClock) -> None:
    arm(
        scheduler,
        "course",
        "rate(1 day)",
        start=utc(2026, 2, 1, 9),
        end=utc(2026, 2, 4, 9),
        after="DELETE",
    )
    emulator = emulator_for(scheduler, clock, Target())

    assert emulator.fire_due(utc(2026, 2, 1, 8, 59), on_time=clock.set) == []
    assert [f.scheduled_time for f in emulator.fire_due(utc(2026, 2, 2, 12), on_time=clock.set)] == [
        utc(2026, 2, 1, 9),
        utc(2026, 2, 2, 9),
    ]
    assert exists(scheduler, "course")  # not finished yet

    # both ends inclusive; completed, it deletes itself
    assert [f.scheduled_time for f in emulator.fire_due(utc(2026, 3, 1), on_time=clock.set)] == [
        utc(2026, 2, 3, 9),
        utc(2026, 2, 4, 9),
    ]
    assert not exists(scheduler, "course")


def test_start_and_end_dates_bound_a_cron_schedule(scheduler: Any, clock: SimulatedClock) -> None:
    # moto refuses a StartDate more than 5 minutes before the real now when the expression contains "*",
    # so this daily-at-noon cron is spelled without one.
    arm(
        scheduler,
        "regimen",
        "cron(0 12 1-31 1-12 ? 2026)",
        start=utc(2026, 2, 10, 12),
        end=utc(2026, 2, 12, 12),
    )

    due = emulator_for(scheduler, clock, Target()).due(utc(2026, 12, 31))

    assert [when for when, _ in due] == [utc(2026, 2, 10, 12), utc(2026, 2, 11, 12), utc(2026, 2, 12, 12)]


def test_a_recurring_schedule_does_not_fire_for_times_before_it_was_armed(
    scheduler: Any, clock: SimulatedClock
) -> None:
    clock.set(utc(2026, 5, 10, 12))
    arm(scheduler, "noon", "cron(0 12 * * ? *)")
    emulator = emulator_for(scheduler, clock, Target())

    firings = emulator.fire_due(utc(2026, 5, 11, 12), on_time=clock.set)

    assert [f.scheduled_time for f in firings] == [utc(2026, 5, 10, 12), utc(2026, 5, 11, 12)]


# --- what is ignored, what goes wrong ---------------------------------------------------------------------


def test_disabled_schedules_and_other_groups_are_ignored(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "paused", "at(2026-01-02T10:00:00)", state="DISABLED")
    scheduler.create_schedule_group(Name="someone-else")
    arm(scheduler, "elsewhere", "at(2026-01-02T10:00:00)", group="someone-else")
    arm(scheduler, "elsewhere-default", "at(2026-01-02T10:00:00)", group="default")
    target = Target()
    emulator = emulator_for(scheduler, clock, target)

    assert emulator.due(utc(2026, 1, 3)) == []
    assert emulator.fire_due(utc(2026, 1, 3)) == []
    assert target.calls == []

    scheduler.update_schedule(
        Name="paused",
        GroupName=GROUP,
        ScheduleExpression="at(2026-01-02T10:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": FIRE_ARN, "RoleArn": ROLE_ARN, "Input": "{}"},
        State="ENABLED",
    )
    assert fired(emulator.fire_due(utc(2026, 1, 3))) == [("paused", utc(2026, 1, 2, 10))]


def test_a_failing_invocation_is_recorded_and_the_others_still_fire(
    scheduler: Any, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    class ChannelDown(Exception):
        pass

    def fail_for_b(target_arn: str, event: Any) -> str:
        if event["reminder"] == "b":
            raise ChannelDown("SMS provider unreachable")
        return "sent"

    for name, hour in (("a", 9), ("b", 10), ("c", 11)):
        arm(scheduler, name, f"at(2026-01-02T{hour:02d}:00:00)", retry=NO_RETRIES)

    with caplog.at_level(logging.WARNING):
        firings = emulator_for(scheduler, clock, Target(fail_for_b)).fire_due(utc(2026, 1, 3))

    assert [(f.schedule_name, f.result, f.error) for f in firings] == [
        ("a", "sent", None),
        ("b", None, "ChannelDown"),
        ("c", "sent", None),
    ]
    assert "invocation failed name=b" in caplog.text


def test_invalid_expressions_are_logged_once_and_skipped(
    scheduler: Any, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    invalid = {
        "no-such-month": ("at(2026-13-01T09:00:00)", None),
        "both-days": ("cron(0 8 * * * *)", None),
        "five-fields": ("cron(0 8 * * ?)", None),
        "day-step": ("cron(0 8 ? * 1/2 *)", None),
        "unix-sunday": ("cron(0 8 ? * 0 *)", None),
        "words": ("every day at 8", None),
        "no-rate-value": ("rate(0 minutes)", None),
        "weeks": ("rate(1 week)", None),
        "hash-extension": ("cron(H 8 * * ? *)", None),
        "last-weekday": ("cron(0 8 LW * ? *)", None),
        "mars": ("at(2026-01-02T09:00:00)", "Mars/Olympus_Mons"),
    }
    for name, (expression, timezone) in invalid.items():
        arm(scheduler, name, expression, timezone=timezone)
    arm(scheduler, "fine", "at(2026-01-02T09:00:00)")
    emulator = emulator_for(scheduler, clock, Target())

    with caplog.at_level(logging.WARNING):
        assert fired(emulator.fire_due(utc(2027, 1, 1))) == [("fine", utc(2026, 1, 2, 9))]
        assert emulator.fire_due(utc(2027, 1, 2)) == []

    for name in invalid:
        assert caplog.text.count(f"skipping invalid schedule name={name} ") == 1, name


def test_a_schedule_that_re_arms_itself_for_ever_is_stopped(scheduler: Any, clock: SimulatedClock) -> None:
    def again_in_a_minute(target_arn: str, event: Any) -> None:
        fire_at = datetime.fromisoformat(event["at"]) + timedelta(minutes=1)
        scheduler.update_schedule(
            Name="runaway",
            GroupName=GROUP,
            ScheduleExpression=f"at({fire_at:%Y-%m-%dT%H:%M:%S})",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": FIRE_ARN,
                "RoleArn": ROLE_ARN,
                "Input": json.dumps({"at": "<aws.scheduler.scheduled-time>"}),
            },
            State="ENABLED",
        )

    arm(scheduler, "runaway", "at(2026-01-02T09:00:00)", payload=json.dumps({"at": "<aws.scheduler.scheduled-time>"}))
    emulator = SchedulerEmulator(scheduler, GROUP, Target(again_in_a_minute), now=clock.now, max_firings_per_call=5)

    with pytest.raises(RuntimeError, match="runaway"):
        emulator.fire_due(utc(2026, 1, 3))


def test_without_a_clock_recurring_schedules_start_at_moto_creation_date(scheduler: Any) -> None:
    # moto stamps CreationDate with real time; read it back rather than assume what "now" is.
    arm(scheduler, "reconciler", "rate(1 hour)")
    created = scheduler.get_schedule(Name="reconciler", GroupName=GROUP)["CreationDate"].astimezone(UTC)

    due = SchedulerEmulator(scheduler, GROUP, Target()).due(created + timedelta(hours=2))

    assert [when for when, _ in due] == [created, created + timedelta(hours=1), created + timedelta(hours=2)]


def test_due_can_list_just_the_next_occurrence_of_each_schedule(scheduler: Any, clock: SimulatedClock) -> None:
    arm(scheduler, "daily", "cron(0 8 * * ? *)", timezone="Europe/Berlin")
    arm(scheduler, "once", "at(2026-01-01T12:00:00)")

    due = emulator_for(scheduler, clock, Target()).due(datetime(9999, 1, 1, tzinfo=UTC), per_schedule=1)

    assert due == [(utc(2026, 1, 1, 7), "daily"), (utc(2026, 1, 1, 12), "once")]


def test_an_interrupted_call_stops_between_two_firings_and_the_rest_fire_on_the_next(
    scheduler: Any, clock: SimulatedClock
) -> None:
    # GIVEN three reminders due, and a stop asked for while the first is being fired (the local stack's SIGTERM)
    for hour in (8, 9, 10):
        arm(scheduler, f"r{hour}", f"at(2026-01-10T{hour:02d}:00:00)")
    stop = {"asked": False, "on_next_firing": True}

    def fire(arn: str, event: Any) -> None:
        stop["asked"] = stop["on_next_firing"]

    emulator = SchedulerEmulator(scheduler, GROUP, Target(fire), now=clock.now, interrupted=lambda: stop["asked"])

    # WHEN the clock is moved past all three
    first = emulator.fire_due(utc(2026, 1, 10, 12, 0), on_time=clock.set)

    # THEN only the first fired; the others are still pending and fire, once each, when asked again
    assert fired(first) == [("r8", utc(2026, 1, 10, 8, 0))]
    assert emulator.due(utc(2026, 1, 10, 12, 0)) == [(utc(2026, 1, 10, 9, 0), "r9"), (utc(2026, 1, 10, 10, 0), "r10")]
    stop.update(asked=False, on_next_firing=False)
    rest = emulator.fire_due(utc(2026, 1, 10, 12, 0), on_time=clock.set)
    assert fired(rest) == [("r9", utc(2026, 1, 10, 9, 0)), ("r10", utc(2026, 1, 10, 10, 0))]


# --- retries and the dead-letter queue ----------------------------------------------------------------------

DLQ_NAME = "carecue-local-reminders-dlq"
DLQ_ARN = f"arn:aws:sqs:us-east-1:123456789012:{DLQ_NAME}"


class FireFunctionDown(Exception):
    pass


def failing(times: int) -> Callable[[str, Any], Any]:
    """A target that raises on its first `times` invocations and then answers "sent"."""
    calls = {"n": 0}

    def behaviour(target_arn: str, event: Any) -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise FireFunctionDown("throttled")
        return "sent"

    return behaviour


@pytest.fixture
def sqs(scheduler: Any) -> Any:
    client = boto3.client("sqs", region_name="us-east-1")
    client.create_queue(QueueName=DLQ_NAME)
    return client


def dead_letters(sqs: Any) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=DLQ_NAME)["QueueUrl"]
    return list(
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
    )


def reminder_timer_input() -> str:
    """The Input CareCue's own timers carry (the one envelope), placeholders unfilled, as moto stores it."""
    from chalicelib.arm.envelope import OwnerType
    from chalicelib.arm.timers import Timer

    timer = Timer("clinic-1", "appt-1", "reminder-24h.sms", 3, utc(2026, 1, 2, 10), owner_type=OwnerType.APPOINTMENT)
    return timer.input()


def test_a_failing_reminder_is_retried_with_backoff_then_dead_lettered_with_the_event_redrive_reads(
    scheduler: Any, sqs: Any, clock: SimulatedClock
) -> None:
    from chalicelib.arm.timers import RETRY_POLICY
    from chalicelib.fire.fire import parse_reminder_event

    # GIVEN a reminder armed as CareCue arms it (20 retries within an hour, a DLQ, deleted after completion)
    arm(
        scheduler,
        "appt-1.reminder-24h.sms",
        "at(2026-01-02T10:00:00)",
        payload=reminder_timer_input(),
        after="DELETE",
        retry=RETRY_POLICY,
        dead_letter_arn=DLQ_ARN,
    )
    emulator = SchedulerEmulator(scheduler, GROUP, Target(failing(99)), sqs_client=sqs, now=clock.now)

    # WHEN the fire function fails every time and the clock moves two hours on
    instants: list[datetime] = []
    firings = emulator.fire_due(utc(2026, 1, 2, 12), on_time=lambda at: (instants.append(at), clock.set(at)))

    # THEN it was tried at +0, +1, +3, +7, +15, +31 minutes (the next, +63, would be past the hour), numbered
    assert [(f.scheduled_time, f.attempt) for f in firings] == [(utc(2026, 1, 2, 10), n) for n in range(1, 7)]
    assert instants == [utc(2026, 1, 2, 10, minute) for minute in (0, 1, 3, 7, 15, 31)]
    assert [f.dead_lettered for f in firings] == [False] * 5 + [True]
    # the DLQ holds the event once: what the redrive parses, for the reminder's own occurrence
    [message] = dead_letters(sqs)
    request = parse_reminder_event(json.loads(message["Body"]))
    assert (request.owner_id, request.reminder_id, request.version) == ("appt-1", "reminder-24h.sms", 3)
    assert request.occurrence == utc(2026, 1, 2, 10)
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "FireFunctionDown"
    assert attributes["SCHEDULED_TIME"] == "2026-01-02T10:00:00Z"
    assert attributes["RETRY_ATTEMPTS"] == "5"
    # and the one-time schedule is gone, after its final attempt; nothing is left to fire
    assert not exists(scheduler, "appt-1.reminder-24h.sms")
    assert emulator.fire_due(utc(2026, 1, 3), on_time=clock.set) == []


def test_a_retry_that_succeeds_delivers_once_and_nothing_is_dead_lettered(
    scheduler: Any, sqs: Any, clock: SimulatedClock
) -> None:
    # GIVEN a one-time timer whose target fails twice, then works; its Input names the attempt and execution
    payload = json.dumps({"attempt": "<aws.scheduler.attempt-number>", "execution": "<aws.scheduler.execution-id>"})
    arm(scheduler, "once", "at(2026-01-02T10:00:00)", payload=payload, after="DELETE", dead_letter_arn=DLQ_ARN)
    emulator = SchedulerEmulator(scheduler, GROUP, Target(failing(2)), sqs_client=sqs, now=clock.now)

    # WHEN the clock reaches the first retry only, the schedule is still there (its final attempt is to come)
    first = emulator.fire_due(utc(2026, 1, 2, 10, 2), on_time=clock.set)
    assert [(f.attempt, f.error) for f in first] == [(1, "FireFunctionDown"), (2, "FireFunctionDown")]
    assert exists(scheduler, "once")
    assert emulator.due(utc(2026, 1, 2, 11)) == [(utc(2026, 1, 2, 10, 3), "once")]  # the retry, at 10:00 +1 +2

    # THEN the third attempt (10:03) succeeds; the schedule deletes itself; the DLQ stays empty
    rest = emulator.fire_due(utc(2026, 1, 2, 11), on_time=clock.set)
    assert [(f.attempt, f.result, f.dead_lettered) for f in rest] == [(3, "sent", False)]
    assert [f.event["attempt"] for f in first + rest] == ["1", "2", "3"]
    assert len({f.event["execution"] for f in first + rest}) == 1  # one event, tried three times
    assert not exists(scheduler, "once")
    assert dead_letters(sqs) == []


def test_maximum_retry_attempts_bounds_the_retries(scheduler: Any, sqs: Any, clock: SimulatedClock) -> None:
    arm(
        scheduler,
        "twice-more",
        "at(2026-01-02T10:00:00)",
        retry={"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 86_400},
        dead_letter_arn=DLQ_ARN,
    )
    emulator = SchedulerEmulator(scheduler, GROUP, Target(failing(99)), sqs_client=sqs, now=clock.now)

    firings = emulator.fire_due(utc(2026, 1, 3), on_time=clock.set)

    assert [(f.attempt, f.dead_lettered) for f in firings] == [(1, False), (2, False), (3, True)]
    assert [json.loads(m["Body"]) for m in dead_letters(sqs)] == [{"reminder": "twice-more"}]


def test_without_a_dead_letter_queue_an_exhausted_event_is_dropped_and_logged(
    scheduler: Any, sqs: Any, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    arm(scheduler, "lost", "at(2026-01-02T10:00:00)", retry=NO_RETRIES)
    emulator = SchedulerEmulator(scheduler, GROUP, Target(failing(99)), sqs_client=sqs, now=clock.now)

    with caplog.at_level(logging.WARNING):
        firings = emulator.fire_due(utc(2026, 1, 3), on_time=clock.set)

    assert [(f.attempt, f.dead_lettered) for f in firings] == [(1, True)]
    assert "no dead-letter queue, event dropped name=lost" in caplog.text
    assert dead_letters(sqs) == []


def test_a_pending_retry_survives_the_snapshot_of_the_emulators_memory(
    scheduler: Any, sqs: Any, clock: SimulatedClock
) -> None:
    from infra.local.persistence import Snapshot, dumps

    # GIVEN a timer whose first attempt failed, its retry due at 10:01, and the stack stopped at 10:00:30
    arm(scheduler, "r", "at(2026-01-02T10:00:00)", after="DELETE", dead_letter_arn=DLQ_ARN)
    before = SchedulerEmulator(scheduler, GROUP, Target(failing(1)), sqs_client=sqs, now=clock.now)
    assert [f.attempt for f in before.fire_due(datetime(2026, 1, 2, 10, 0, 30, tzinfo=UTC), on_time=clock.set)] == [1]
    saved = pickle.loads(dumps(Snapshot({}, before.memory(), [], clock.state())))  # noqa: S301 - our own bytes

    # WHEN a new emulator starts from the snapshot and the clock moves on
    target = Target(failing(0))
    after = SchedulerEmulator(scheduler, GROUP, target, sqs_client=sqs, now=clock.now)
    after.restore_memory(saved.scheduler)
    firings = after.fire_due(utc(2026, 1, 2, 11), on_time=clock.set)

    # THEN the retry is made, once, as attempt 2; the schedule is then deleted
    assert [(f.schedule_name, f.attempt, f.result) for f in firings] == [("r", 2, "sent")]
    assert len(target.calls) == 1
    assert not exists(scheduler, "r")
