"""FHIR R4 `Timing` elements beyond the basic repeat, as `timing_read` reads them: GTS codes, `when` with
`offset`, ranges (frequencyMax, periodMax, countMax), dates and partial dateTimes read in the patient's zone,
`event`, minute periods against the clinic's minimum, and the timings that give no dose time at all."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.errors import FieldProblem, InvalidRequest
from chalicelib.plan.event_timing import DEFAULT_WHEN_TIMES
from chalicelib.regimens.timing import (
    DoseTiming,
    cron_expressions,
    dose_times,
    in_zone,
)
from chalicelib.regimens.timing_read import Notes, collect_timing, parse_timing

NEW_YORK = "America/New_York"
TOKYO = "Asia/Tokyo"


def local(moments: list[datetime], zone: str) -> list[str]:
    return [f"{m.astimezone(ZoneInfo(zone)):%a %d %b %H:%M}" for m in moments]


def read(timing: object) -> tuple[DoseTiming | None, Notes, list[FieldProblem]]:
    notes: Notes = []
    problems: list[FieldProblem] = []
    found = collect_timing(timing, "t", DEFAULT_WHEN_TIMES, problems, notes=notes)
    return found, notes, problems


@pytest.mark.parametrize(
    ("code", "crons"),
    [
        ("QD", ("cron(0 8 * * ? *)",)),
        ("BID", ("cron(0 8,20 * * ? *)",)),
        ("TID", ("cron(0 8,14,20 * * ? *)",)),
        ("QID", ("cron(0 8,12,16,20 * * ? *)",)),
        ("AM", ("cron(0 8 * * ? *)",)),
        ("PM", ("cron(0 18 * * ? *)",)),
        ("Q4H", ("cron(0 0,4,8,12,16,20 * * ? *)",)),
        ("Q6H", ("cron(0 2,8,14,20 * * ? *)",)),
        ("Q8H", ("cron(0 0,8,16 * * ? *)",)),
        ("QOD", None),  # every other day from the start: chained
    ],
)
def test_a_gts_code_alone_is_read_as_its_repeat(code: str, crons: tuple[str, ...] | None) -> None:
    coding = {"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": code}
    timing = parse_timing({"code": {"coding": [coding]}}, "t")
    assert cron_expressions(timing) == crons


def test_an_unknown_code_alone_is_refused_by_path() -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_timing({"code": {"coding": [{"code": "Q5D"}], "text": "every five days"}}, "t")
    assert [p.field for p in refused.value.problems] == ["t.code"]


def test_offset_counts_before_the_meal_for_ac_codes_and_after_the_event_otherwise() -> None:
    before = parse_timing({"repeat": {"when": ["ACM"], "offset": 10}}, "t")
    after = parse_timing({"repeat": {"when": ["PCV", "WAKE"], "offset": 30}}, "t")
    assert cron_expressions(before) == ("cron(50 7 * * ? *)",)  # 10 minutes before breakfast at 08:00
    # 30 minutes after supper (the meal, CV, at 18:30) and 30 minutes after waking (07:00)
    assert cron_expressions(after) == ("cron(0 19 * * ? *)", "cron(30 7 * * ? *)")


def test_ranges_follow_the_bound_with_fewer_doses_and_say_so() -> None:
    timing, notes, problems = read(
        {"repeat": {"frequency": 1, "frequencyMax": 2, "period": 1, "periodUnit": "d", "count": 3, "countMax": 5}}
    )
    assert problems == [] and timing is not None
    assert cron_expressions(timing) == ("cron(0 8 * * ? *)",) and timing.bounds.count == 3
    assert dict(notes) == {
        "t.repeat.frequencyMax": "1 to 2: reminders follow 1, the fewer doses",
        "t.repeat.countMax": "3 to 5 doses: reminders stop after 3",
    }


def test_bare_dates_are_whole_days_in_the_patients_zone() -> None:
    timing = parse_timing({"repeat": {"when": ["HS"], "boundsPeriod": {"start": "2027-01", "end": "2027-01-03"}}}, "t")
    tokyo = in_zone(timing, TOKYO)
    assert tokyo.bounds.start == datetime(2027, 1, 1, tzinfo=ZoneInfo(TOKYO))
    assert tokyo.bounds.end == datetime(2027, 1, 3, 23, 59, tzinfo=ZoneInfo(TOKYO))
    assert tokyo.bounds.start is not None
    doses = dose_times(tokyo, TOKYO, tokyo.bounds.start, limit=10)
    assert local(doses, TOKYO) == ["Fri 01 Jan 22:00", "Sat 02 Jan 22:00", "Sun 03 Jan 22:00"]
    # A year alone ends on its last day
    whole_year = parse_timing({"repeat": {"when": ["HS"], "boundsPeriod": {"start": "2027", "end": "2027"}}}, "t")
    assert whole_year.bounds.end == datetime(2027, 12, 31, 23, 59)


def test_an_event_with_a_repeat_starts_the_pattern_at_its_local_time() -> None:
    timing = in_zone(
        parse_timing(
            {"event": ["2027-02-01T22:00:00+11:00"], "repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}, "t"
        ),
        NEW_YORK,
    )
    # 22:00 in Sydney is 06:00 in New York: doses at 06:00 and 18:00 from that first one
    assert cron_expressions(timing) == ("cron(0 6,18 * * ? *)",)
    assert timing.bounds.start is not None
    assert local(dose_times(timing, NEW_YORK, timing.bounds.start, limit=3), NEW_YORK) == [
        "Mon 01 Feb 06:00",
        "Mon 01 Feb 18:00",
        "Tue 02 Feb 06:00",
    ]


def test_events_alone_are_explicit_doses_that_chain() -> None:
    timing = in_zone(parse_timing({"event": ["2027-02-02T09:00:00-05:00", "2027-02-01T09:00:00-05:00"]}, "t"), NEW_YORK)
    assert cron_expressions(timing) is None
    assert timing.bounds.start is not None
    after = datetime(2027, 2, 1, 15, 0, tzinfo=ZoneInfo("UTC"))
    assert local(dose_times(timing, NEW_YORK, timing.bounds.start, after=after), NEW_YORK) == ["Tue 02 Feb 09:00"]


def test_minute_periods_are_held_to_the_clinics_minimum_interval() -> None:
    every_100 = {"repeat": {"frequency": 1, "period": 100, "periodUnit": "min"}}
    assert parse_timing(every_100, "t").every == timedelta(minutes=100)  # drifts over days: elapsed time
    with pytest.raises(InvalidRequest) as refused:
        parse_timing(every_100, "t", min_interval=timedelta(hours=2))
    assert [(p.field, p.problem) for p in refused.value.problems] == [
        ("t.repeat.period", "doses must be at least 120 minutes apart, on whole minutes")
    ]


@pytest.mark.parametrize(
    ("timing", "note"),
    [
        ({"repeat": {"duration": 33.33, "durationUnit": "h"}}, "gives how long one administration lasts"),
        ({"repeat": {"count": 1}}, "gives a count but no dose time"),
        ({}, "gives no dose time (no event, repeat or code)"),
    ],
)
def test_a_timing_without_dose_times_is_a_note_in_a_medication_request_and_refused_elsewhere(
    timing: dict[str, object], note: str
) -> None:
    found, notes, problems = read(timing)
    assert (found, problems) == (None, [])
    [(_, said)] = notes
    assert said.startswith(note) and said.endswith("no reminder is armed for this instruction")
    with pytest.raises(InvalidRequest):
        parse_timing(timing, "t")


def test_duration_of_one_administration_does_not_move_the_doses_and_is_noted() -> None:
    timing, notes, _ = read(
        {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "duration": 2, "durationUnit": "h"}}
    )
    assert timing is not None and cron_expressions(timing) == ("cron(0 8 * * ? *)",)
    assert [field for field, _ in notes] == ["t.repeat.duration"]
