"""Dose timing from FHIR R4 `Timing` examples written from the specification: what a patient would be reminded
of, at which local times, from how many timers, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.errors import InvalidRequest
from chalicelib.plan.event_timing import DEFAULT_WHEN_TIMES
from chalicelib.regimens.timing import (
    cron_expressions,
    dose_times,
    doses_per_day,
    last_dose,
    stated_doses_per_day,
    timing_from_json,
    timing_json,
)
from chalicelib.regimens.timing_read import parse_timing

NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"


def local(moments: list[datetime], zone: str) -> list[str]:
    return [f"{m.astimezone(ZoneInfo(zone)):%a %d %b %H:%M}" for m in moments]


def at(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def test_bid_at_given_times_is_one_cron_and_stays_at_0800_and_2000_across_spring_forward() -> None:
    # "1 tablet twice daily at 8 and 20" (Timing.repeat.frequency 2 per 1 d with timeOfDay)
    timing = parse_timing(
        {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00", "20:00:00"]}}, "timing"
    )
    assert cron_expressions(timing) == ("cron(0 8,20 * * ? *)",)
    doses = dose_times(timing, NEW_YORK, at("2026-03-07T00:00", NEW_YORK), limit=4)
    assert local(doses, NEW_YORK) == ["Sat 07 Mar 08:00", "Sat 07 Mar 20:00", "Sun 08 Mar 08:00", "Sun 08 Mar 20:00"]
    # 13:00Z before the change, 12:00Z after it: the wall clock holds, the UTC instant moves
    assert [d.hour for d in doses] == [13, 1, 12, 0]


def test_when_codes_use_clinic_times_and_fall_back_keeps_the_local_time() -> None:
    clinic_times = {**DEFAULT_WHEN_TIMES, "MORN": time(7, 30), "HS": time(22, 30)}
    timing = parse_timing({"repeat": {"when": ["MORN", "HS"]}}, "timing", clinic_times)
    assert cron_expressions(timing) == ("cron(30 7,22 * * ? *)",)
    doses = dose_times(timing, BERLIN, at("2026-10-24T12:00", BERLIN), limit=4)
    assert local(doses, BERLIN) == ["Sat 24 Oct 22:30", "Sun 25 Oct 07:30", "Sun 25 Oct 22:30", "Mon 26 Oct 07:30"]
    assert doses[1] - doses[0] == timedelta(hours=10)  # the night the clocks go back is an hour longer


def test_meal_code_means_all_three_meals_and_times_with_different_minutes_need_one_cron_each() -> None:
    timing = parse_timing({"repeat": {"when": ["C"]}}, "timing")
    assert timing.times == (time(8, 0), time(12, 30), time(18, 30))
    assert cron_expressions(timing) == ("cron(0 8 * * ? *)", "cron(30 12,18 * * ? *)")


def test_every_8_hours_is_three_clock_times_a_day_from_the_morning() -> None:
    timing = parse_timing({"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}, "timing")
    assert timing.times == (time(0, 0), time(8, 0), time(16, 0))
    assert cron_expressions(timing) == ("cron(0 0,8,16 * * ? *)",)


def test_every_36_hours_chains_one_time_timers_in_elapsed_time_across_dst() -> None:
    timing = parse_timing({"repeat": {"frequency": 1, "period": 36, "periodUnit": "h"}}, "timing")
    assert cron_expressions(timing) is None
    doses = dose_times(timing, NEW_YORK, at("2026-03-06T20:00", NEW_YORK), limit=3)
    assert [d - doses[0] for d in doses] == [timedelta(0), timedelta(hours=36), timedelta(hours=72)]
    assert local(doses, NEW_YORK) == ["Fri 06 Mar 20:00", "Sun 08 Mar 09:00", "Mon 09 Mar 21:00"]


def test_every_two_days_from_the_start_chains_because_cron_restarts_each_month() -> None:
    timing = parse_timing({"repeat": {"frequency": 1, "period": 2, "periodUnit": "d", "timeOfDay": ["09:00"]}}, "t")
    assert cron_expressions(timing) is None
    doses = dose_times(timing, NEW_YORK, at("2027-01-30T00:00", NEW_YORK), limit=3)
    assert local(doses, NEW_YORK) == ["Sat 30 Jan 09:00", "Mon 01 Feb 09:00", "Wed 03 Feb 09:00"]


def test_weekdays_only_is_one_cron_with_a_day_list() -> None:
    timing = parse_timing(
        {"repeat": {"dayOfWeek": ["mon", "tue", "wed", "thu", "fri"], "timeOfDay": ["08:00:00", "20:00:00"]}}, "t"
    )
    assert cron_expressions(timing) == ("cron(0 8,20 ? * MON,TUE,WED,THU,FRI *)",)
    doses = dose_times(timing, NEW_YORK, at("2026-12-04T12:00", NEW_YORK), limit=3)  # a Friday noon
    assert local(doses, NEW_YORK) == ["Fri 04 Dec 20:00", "Mon 07 Dec 08:00", "Mon 07 Dec 20:00"]


def test_weekly_on_a_named_day() -> None:
    timing = parse_timing({"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk", "dayOfWeek": ["sun"]}}, "t")
    assert cron_expressions(timing) == ("cron(0 8 ? * SUN *)",)


def test_count_and_duration_and_period_bound_the_doses() -> None:
    by_count = parse_timing({"repeat": {"frequency": 3, "period": 1, "periodUnit": "d", "count": 4}}, "t")
    start = at("2026-12-01T00:00", NEW_YORK)
    assert local(dose_times(by_count, NEW_YORK, start, limit=10), NEW_YORK) == [
        "Tue 01 Dec 08:00",
        "Tue 01 Dec 14:00",
        "Tue 01 Dec 20:00",
        "Wed 02 Dec 08:00",
    ]
    last = last_dose(by_count, NEW_YORK, start)
    assert last is not None and local([last], NEW_YORK) == ["Wed 02 Dec 08:00"]
    by_duration = parse_timing(
        {
            "repeat": {
                "when": ["MORN"],
                "boundsDuration": {"value": 3, "unit": "d", "system": "http://unitsofmeasure.org"},
            }
        },
        "t",
    )
    assert len(dose_times(by_duration, NEW_YORK, start, limit=10)) == 3
    by_period = parse_timing(
        {
            "repeat": {
                "when": ["EVE"],
                "boundsPeriod": {"start": "2026-12-01T00:00:00-05:00", "end": "2026-12-02T23:59:00-05:00"},
            }
        },
        "t",
    )
    assert local(dose_times(by_period, NEW_YORK, start, limit=10), NEW_YORK) == ["Tue 01 Dec 18:00", "Wed 02 Dec 18:00"]


def test_a_dose_time_in_the_spring_forward_gap_is_skipped_that_night_as_scheduler_does() -> None:
    timing = parse_timing({"repeat": {"timeOfDay": ["02:30:00"]}}, "t")
    doses = dose_times(timing, NEW_YORK, at("2026-03-07T00:00", NEW_YORK), limit=2)
    assert local(doses, NEW_YORK) == ["Sat 07 Mar 02:30", "Mon 09 Mar 02:30"]


@pytest.mark.parametrize(
    ("timing", "field"),
    [
        ({"repeat": {"when": ["MORN"], "boundsRange": {"low": {"value": 1}}}}, "timing.repeat.boundsRange"),
        ({"repeat": {"when": ["CM"], "offset": 30}}, "timing.repeat.offset"),
        ({"repeat": {"timeOfDay": ["08:00:00"], "offset": 30}}, "timing.repeat.offset"),
        ({"event": ["2026-12-01T08:00:00"], "repeat": {"when": ["MORN"]}}, "timing.event[0]"),
        ({"code": {"text": "Q5D"}}, "timing.code"),
        ({"modifierExtension": [{"url": "x"}], "repeat": {"when": ["MORN"]}}, "timing.modifierExtension"),
        ({"repeat": {"frequency": 1, "period": 15, "periodUnit": "min"}}, "timing.repeat.period"),
        ({"repeat": {"frequency": 1, "period": 30, "periodUnit": "s"}}, "timing.repeat.periodUnit"),
        ({"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo"}}, "timing.repeat.periodUnit"),
        ({"repeat": {"when": ["SUPPER"]}}, "timing.repeat.when[0]"),
        (
            {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00"]}},
            "timing.repeat.frequency",
        ),
        ({"repeat": {}}, "timing.repeat"),
    ],
)
def test_unsupported_or_contradictory_elements_are_named(timing: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_timing(timing, "timing")
    assert field in [p.field for p in refused.value.problems]


def test_the_stored_form_reads_back_the_same() -> None:
    timing = parse_timing(
        {
            "repeat": {
                "when": ["MORN"],
                "dayOfWeek": ["mon"],
                "boundsPeriod": {"start": "2026-12-01T00:00:00Z"},
                "count": 5,
            }
        },
        "t",
    )
    assert timing_from_json(timing_json(timing)) == timing
    assert timing.bounds.start == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "per_day"),
    [
        ("1 tablet twice daily", 2),
        ("Take 1 tab BID with food", 2),
        ("t.i.d.", 3),
        ("one capsule every 8 hours", 3),
        ("q6h", 4),
        ("once daily at bedtime", 1),
        ("every 36 hours", 24 / 36),
        ("as needed for pain", None),
    ],
)
def test_what_a_free_text_says_about_doses_a_day(text: str, per_day: float | None) -> None:
    assert stated_doses_per_day(text) == per_day


def test_doses_a_day_of_a_structured_timing() -> None:
    assert doses_per_day(parse_timing({"repeat": {"when": ["MORN", "HS"]}}, "t")) == 2
    weekdays = parse_timing({"repeat": {"when": ["MORN"], "dayOfWeek": ["mon", "thu"]}}, "t")
    assert doses_per_day(weekdays) == 2 / 7
