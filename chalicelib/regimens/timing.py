"""Dose timing: the normalised form of one dosage instruction's timing (`DoseTiming`), its expansion into dose
instants in the patient's zone, and whether EventBridge Scheduler can fire it from cron expressions or needs
chained one-time schedules. Pure: no AWS, no clock. Reading a FHIR `Timing` into this form is
`chalicelib.regimens.timing_read`.

Two shapes of pattern:
- wall clock: local times of day, on some weekdays, every day (or every N days from the start). "1 per 8 h"
  counts as wall clock too (08:00, 16:00, 00:00) because 8 divides the day: a patient takes it at the same
  clock times all year. Daily and weekly wall-clock patterns fit cron: one expression per distinct minute
  (`cron(0 8,20 * * ? *)`), in the patient's zone, so 08:00 stays 08:00 across DST.
- elapsed: every N hours where N does not divide a day (36 h), or every N days from a start, or a list of
  explicit dose instants (FHIR `Timing.event`): cron's day fields restart every month, so these chain one-time
  schedules, each fire arming the next.

Floating times: a FHIR date or partial dateTime (2015, 2015-01, 2015-01-15) has no offset; it is kept naive
(a wall time) until `in_zone` reads it in the patient's zone. `anchor` marks times of day spread from the first
dose (a `Timing.event`) rather than from 08:00: `in_zone` moves them to the first dose's local time.

DST: a wall time inside a spring-forward gap is skipped that day (that is what Scheduler does with a cron
occurrence there, and the expansion must say what will fire); a repeated wall time fires once, the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib.plan.local_clock import exists_locally

# "With a meal", "before a meal", "after a meal" without saying which: all three meals.
MEAL_CODES = {"C": ("CM", "CD", "CV"), "AC": ("ACM", "ACD", "ACV"), "PC": ("PCM", "PCD", "PCV")}
# N doses a day with no times given: spread over the waking day.
DEFAULT_TIMES_PER_DAY: Mapping[int, tuple[time, ...]] = {
    1: (time(8, 0),),
    2: (time(8, 0), time(20, 0)),
    3: (time(8, 0), time(14, 0), time(20, 0)),
    4: (time(8, 0), time(12, 0), time(16, 0), time(20, 0)),
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CRON_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


class Bounds(Struct, frozen=True):
    start: datetime | None = None  # aware (naive: a wall time until `in_zone`); None: when the regimen is created
    end: datetime | None = None  # as start, inclusive
    duration: timedelta | None = None  # from the start
    count: int | None = None  # doses in all

    def end_from(self, start: datetime) -> datetime | None:
        if self.end is not None:
            return self.end
        if self.duration is not None:
            return start + self.duration
        return None


class DoseTiming(Struct, frozen=True):
    """One dosage instruction's timing, normalised."""

    times: tuple[time, ...] = ()  # wall-clock pattern: local times of day, sorted
    weekdays: frozenset[int] = frozenset(range(7))  # 0 = Monday
    every_days: int = 1  # wall-clock pattern on every Nth day from the start day
    every: timedelta | None = None  # elapsed pattern: a dose every this long from the start
    bounds: Bounds = field(default_factory=Bounds)
    events: tuple[datetime, ...] = ()  # explicit dose instants (FHIR Timing.event without a repeat), sorted
    anchor: bool = False  # `times` are offsets from midnight, to move to the first dose's local time

    @property
    def chained(self) -> bool:
        return self.every is not None or self.every_days > 1 or bool(self.events)


def in_zone(timing: DoseTiming, zone: str) -> DoseTiming:
    """The timing with its floating (naive) instants read as wall times in `zone`, and times spread from its
    first dose moved to that dose's local time of day."""
    tz = ZoneInfo(zone)

    def aware(moment: datetime | None) -> datetime | None:
        return None if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=tz)

    start = aware(timing.bounds.start) or timing.bounds.start
    end = aware(timing.bounds.end) or timing.bounds.end
    events = tuple(sorted(aware(e) or e for e in timing.events))
    times = timing.times
    if timing.anchor and start is not None:
        local = start.astimezone(tz)
        shift = timedelta(hours=local.hour, minutes=local.minute)
        times = tuple(sorted({(datetime.combine(date(2000, 1, 1), at) + shift).time() for at in times}))
    return replace(
        timing, times=times, events=events, bounds=replace(timing.bounds, start=start, end=end), anchor=False
    )


# --- expansion ---------------------------------------------------------------------------------------------


def dose_times(
    timing: DoseTiming, zone: str, start: datetime, *, after: datetime | None = None, limit: int = 5
) -> list[datetime]:
    """Up to `limit` dose instants (UTC) from `start` within the bounds, those before `after` left out.

    `start` is when the instruction begins (its boundsPeriod.start, else the regimen's creation); a `count`
    counts from there, so doses before `after` still use up the count."""
    end = timing.bounds.end_from(start)
    remaining = timing.bounds.count
    found: list[datetime] = []
    for moment in _all_doses(timing, zone, start):
        if end is not None and moment > end:
            break
        if remaining is not None:
            if remaining == 0:
                break
            remaining -= 1
        if after is None or moment >= after:
            found.append(moment)
            if len(found) >= limit:
                break
    return found


def last_dose(timing: DoseTiming, zone: str, start: datetime) -> datetime | None:
    """The instruction's final dose, or None when it runs until stopped."""
    if timing.bounds.count is not None:
        doses = dose_times(timing, zone, start, limit=timing.bounds.count)
        return doses[-1] if doses else None
    end = timing.bounds.end_from(start)
    if end is None:
        return None
    last: datetime | None = None
    for moment in _all_doses(timing, zone, start):
        if moment > end:
            break
        last = moment
    return last


def _all_doses(timing: DoseTiming, zone: str, start: datetime) -> Iterator[datetime]:
    start = start.astimezone(UTC)
    if timing.events:
        yield from (moment for moment in sorted(e.astimezone(UTC) for e in timing.events) if moment >= start)
        return
    if timing.every is not None:
        moment = start.replace(second=0, microsecond=0)
        if moment < start:
            moment += timedelta(minutes=1)
        while True:
            yield moment
            moment += timing.every
    tz = ZoneInfo(zone)
    first_day = start.astimezone(tz).date()
    day = first_day
    # A pattern can have no dose for a while (a weekday filter); ten years of empty days means none at all.
    for _ in range(3660):
        if (day - first_day).days % timing.every_days == 0 and day.weekday() in timing.weekdays:
            for at in timing.times:
                wall = datetime.combine(day, at, tzinfo=tz)
                if not exists_locally(wall):
                    continue  # Scheduler skips a cron occurrence in a spring-forward gap
                moment = wall.astimezone(UTC)
                if moment >= start:
                    yield moment
        day += timedelta(days=1)


# --- timers ------------------------------------------------------------------------------------------------


def cron_expressions(timing: DoseTiming) -> tuple[str, ...] | None:
    """The AWS cron expressions (in the patient's zone) that fire exactly this pattern, one per distinct minute
    of its times; None when it needs chained one-time schedules."""
    if timing.chained:
        return None
    by_minute: dict[int, list[int]] = {}
    for at in timing.times:
        by_minute.setdefault(at.minute, []).append(at.hour)
    if timing.weekdays == frozenset(range(7)):
        days = "* * ?"
    else:
        days = "? * " + ",".join(_CRON_DAYS[d] for d in sorted(timing.weekdays))
    return tuple(
        f"cron({minute} {','.join(str(h) for h in sorted(hours))} {days} *)"
        for minute, hours in sorted(by_minute.items())
    )


def timing_json(timing: DoseTiming) -> dict[str, Any]:
    """How the API shows a normalised timing (and how it is stored on the regimen)."""
    return {
        "times_of_day": [f"{at:%H:%M}" for at in timing.times],
        "days_of_week": [WEEKDAYS[d] for d in sorted(timing.weekdays)],
        "every_days": timing.every_days,
        "every_minutes": None if timing.every is None else int(timing.every.total_seconds() // 60),
        "start": None if timing.bounds.start is None else timing.bounds.start.isoformat(),
        "end": None if timing.bounds.end is None else timing.bounds.end.isoformat(),
        "duration_minutes": None
        if timing.bounds.duration is None
        else int(timing.bounds.duration.total_seconds() // 60),
        "count": timing.bounds.count,
        "events": [moment.isoformat() for moment in timing.events],
    }


def timing_from_json(data: dict[str, Any]) -> DoseTiming:
    def instant(value: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    every = data.get("every_minutes")
    duration = data.get("duration_minutes")
    return DoseTiming(
        tuple(time.fromisoformat(t) for t in data["times_of_day"]),
        frozenset(WEEKDAYS.index(d) for d in data["days_of_week"]),
        int(data["every_days"]),
        None if every is None else timedelta(minutes=every),
        Bounds(
            instant(data.get("start")),
            instant(data.get("end")),
            None if duration is None else timedelta(minutes=duration),
            data.get("count"),
        ),
        tuple(datetime.fromisoformat(moment) for moment in data.get("events", [])),
    )


# --- free text -----------------------------------------------------------------------------------------------

_STATED_PER_DAY = (
    (re.compile(r"\b(four times (a|per|each) day|four times daily|q\.?i\.?d\.?)(\W|$)", re.I), 4.0),
    (re.compile(r"\b(three times (a|per|each) day|(three times|thrice) daily|t\.?i\.?d\.?)(\W|$)", re.I), 3.0),
    (re.compile(r"\b(twice (a|per|each) day|twice daily|two times (a|per) day|b\.?i\.?d\.?)(\W|$)", re.I), 2.0),
    (re.compile(r"\b(once (a|per|each) day|once daily|daily|q\.?d\.?)(\W|$)", re.I), 1.0),
)
_EVERY_HOURS = re.compile(r"\b(?:every (\d{1,2}) hours?|q(\d{1,2})h)\b", re.I)


def stated_doses_per_day(text: str) -> float | None:
    """How many doses a day a dosage instruction's free text says ("twice daily", "BID", "every 8 hours"), if
    it says so in one of these common forms; None otherwise. Only to point out a disagreement: the structured
    timing is what CareCue follows."""
    every = _EVERY_HOURS.search(text)
    if every:
        hours = int(every[1] or every[2])
        return 24 / hours if hours else None
    for pattern, per_day in _STATED_PER_DAY:
        if pattern.search(text):
            return per_day
    return None


def doses_per_day(timing: DoseTiming) -> float:
    """On average; 0 for a list of explicit dose instants (it has no daily rate)."""
    if timing.events:
        return 0.0
    if timing.every is not None:
        return timedelta(days=1) / timing.every
    return len(timing.times) * len(timing.weekdays) / 7 / timing.every_days
