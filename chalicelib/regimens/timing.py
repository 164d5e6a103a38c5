"""Dose timing: the subset of HL7 FHIR R4 `Timing` CareCue reads, its expansion into dose instants in the
patient's zone, and whether EventBridge Scheduler can fire it from cron expressions or needs chained
one-time schedules. Pure: no AWS, no clock.

Supported in `Timing.repeat`: frequency, period, periodUnit (h, d, wk), timeOfDay, when (the codes below, at
clinic-configurable local times), dayOfWeek, and the bounds boundsPeriod, boundsDuration or count. Anything
else is refused by name, never ignored.

Two shapes of pattern:
- wall clock: local times of day, on some weekdays, every day (or every N days from the start). "1 per 8 h"
  counts as wall clock too (08:00, 16:00, 00:00) because 8 divides the day: a patient takes it at the same
  clock times all year. Daily and weekly wall-clock patterns fit cron: one expression per distinct minute
  (`cron(0 8,20 * * ? *)`), in the patient's zone, so 08:00 stays 08:00 across DST.
- elapsed: every N hours where N does not divide a day (36 h), or every N days from a start: cron's day
  fields restart every month, so these chain one-time schedules, each fire arming the next.

DST: a wall time inside a spring-forward gap is skipped that day (that is what Scheduler does with a cron
occurrence there, and the expansion must say what will fire); a repeated wall time fires once, the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.errors import FieldProblem, InvalidRequest
from chalicelib.planning.local_clock import exists_locally

# FHIR `EventTiming` codes and where CareCue puts them on the clock unless the clinic says otherwise.
DEFAULT_WHEN_TIMES: Mapping[str, time] = {
    "WAKE": time(7, 0),
    "MORN": time(8, 0),
    "MORN.early": time(7, 0),
    "MORN.late": time(10, 0),
    "NOON": time(12, 0),
    "AFT": time(14, 0),
    "AFT.early": time(13, 0),
    "AFT.late": time(16, 0),
    "EVE": time(18, 0),
    "EVE.early": time(17, 0),
    "EVE.late": time(20, 0),
    "NIGHT": time(21, 0),
    "PHS": time(21, 30),
    "HS": time(22, 0),
    "ACM": time(7, 30),
    "CM": time(8, 0),
    "PCM": time(8, 30),
    "ACD": time(12, 0),
    "CD": time(12, 30),
    "PCD": time(13, 0),
    "ACV": time(18, 0),
    "CV": time(18, 30),
    "PCV": time(19, 0),
}
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
SUPPORTED_REPEAT = frozenset(
    {"frequency", "period", "periodUnit", "timeOfDay", "when", "dayOfWeek", "boundsPeriod", "boundsDuration", "count"}
)
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "wk": timedelta(weeks=1)}
_DURATION_UNIT = {
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "wk": timedelta(weeks=1),
}
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::00)?$")
MAX_DOSES_PER_DAY = 12
MAX_COUNT = 2000


@dataclass(frozen=True)
class Bounds:
    start: datetime | None = None  # aware; None: when the regimen is created
    end: datetime | None = None  # aware, inclusive
    duration: timedelta | None = None  # from the start
    count: int | None = None  # doses in all

    def end_from(self, start: datetime) -> datetime | None:
        if self.end is not None:
            return self.end
        if self.duration is not None:
            return start + self.duration
        return None


@dataclass(frozen=True)
class DoseTiming:
    """One dosage instruction's timing, normalised."""

    times: tuple[time, ...] = ()  # wall-clock pattern: local times of day, sorted
    weekdays: frozenset[int] = frozenset(range(7))  # 0 = Monday
    every_days: int = 1  # wall-clock pattern on every Nth day from the start day
    every: timedelta | None = None  # elapsed pattern: a dose every this long from the start
    bounds: Bounds = field(default_factory=Bounds)

    @property
    def chained(self) -> bool:
        return self.every is not None or self.every_days > 1


# --- parsing -----------------------------------------------------------------------------------------------


def parse_timing(value: Any, where: str, when_times: Mapping[str, time] = DEFAULT_WHEN_TIMES) -> DoseTiming:
    """A FHIR `Timing` object as a DoseTiming; every problem is named by its path under `where`."""
    problems: list[FieldProblem] = []
    timing = collect_timing(value, where, when_times, problems)
    if problems or timing is None:
        raise InvalidRequest(problems or [FieldProblem(where, "is not a supported timing")])
    return timing


def collect_timing(
    value: Any, where: str, when_times: Mapping[str, time], problems: list[FieldProblem]
) -> DoseTiming | None:
    """As `parse_timing`, adding problems to `problems` (so a request names all of them at once)."""
    if not isinstance(value, dict):
        problems.append(FieldProblem(where, "must be a FHIR Timing object with a repeat element"))
        return None
    for name in sorted(set(value) - {"repeat"}):
        problems.append(FieldProblem(f"{where}.{name}", "is not supported by CareCue"))
    repeat = value.get("repeat")
    where = f"{where}.repeat"
    if not isinstance(repeat, dict):
        problems.append(FieldProblem(where, "is required and must be an object"))
        return None
    for name in sorted(set(repeat) - SUPPORTED_REPEAT):
        problems.append(FieldProblem(f"{where}.{name}", "is not supported by CareCue"))
    frequency = _whole(repeat, "frequency", where, 1, MAX_DOSES_PER_DAY, problems)
    period = _positive(repeat, "period", where, problems)
    unit = repeat.get("periodUnit")
    if unit is not None and unit not in _UNIT:
        problems.append(FieldProblem(f"{where}.periodUnit", "must be h, d or wk (s, min, mo and a are not supported)"))
        unit = None
    if period is not None and unit is None and "periodUnit" not in repeat:
        problems.append(FieldProblem(f"{where}.periodUnit", "is required with period"))
    times = _times(repeat, where, when_times, problems)
    weekdays = _weekdays(repeat, where, problems)
    bounds = _bounds(repeat, where, problems)
    if problems:
        return None
    return _shape(frequency or 1, period, unit, times, weekdays, bounds, where, problems)


def _shape(
    frequency: int,
    period: float | None,
    unit: str | None,
    times: tuple[time, ...],
    weekdays: frozenset[int] | None,
    bounds: Bounds,
    where: str,
    problems: list[FieldProblem],
) -> DoseTiming | None:
    span = _UNIT[unit] * period if period is not None and unit is not None else None
    if span is None:
        if not times:
            problems.append(FieldProblem(where, "needs timeOfDay, when, or frequency with period and periodUnit"))
            return None
        return DoseTiming(times, weekdays or frozenset(range(7)), 1, None, bounds)
    if unit == "h" or span < timedelta(days=1):
        interval = span / frequency
        if interval < timedelta(hours=1) or interval.total_seconds() % 60:
            problems.append(FieldProblem(f"{where}.period", "doses must be at least an hour apart, on whole minutes"))
            return None
        if interval > timedelta(days=1) or timedelta(days=1) % interval:
            if weekdays is not None or len(times) > 1:
                problems.append(FieldProblem(f"{where}.dayOfWeek", "cannot restrict an interval that drifts over days"))
                return None
            return DoseTiming((), frozenset(range(7)), 1, interval, bounds)
        first = times[0] if times else time(8, 0)
        anchor = datetime.combine(date(2000, 1, 1), first)
        count = timedelta(days=1) // interval
        spread = tuple(sorted({(anchor + k * interval).time() for k in range(count)}))
        return DoseTiming(spread, weekdays or frozenset(range(7)), 1, None, bounds)
    if span % timedelta(days=1):
        problems.append(FieldProblem(f"{where}.period", "must be whole days when it is a day or longer"))
        return None
    days = span // timedelta(days=1)
    if days == 1:
        if not times:
            if frequency not in DEFAULT_TIMES_PER_DAY:
                problems.append(FieldProblem(f"{where}.timeOfDay", f"is required for {frequency} doses a day"))
                return None
            times = DEFAULT_TIMES_PER_DAY[frequency]
        elif frequency not in (1, len(times)):
            problems.append(
                FieldProblem(f"{where}.frequency", f"is {frequency} a day but {len(times)} times of day are given")
            )
            return None
        return DoseTiming(times, weekdays or frozenset(range(7)), 1, None, bounds)
    if days == 7 and weekdays is not None:
        if frequency != len(weekdays):
            problems.append(
                FieldProblem(f"{where}.frequency", f"is {frequency} a week but {len(weekdays)} days are given")
            )
            return None
        return DoseTiming(times or (time(8, 0),), weekdays, 1, None, bounds)
    if frequency != 1 or weekdays is not None:
        problems.append(FieldProblem(f"{where}.frequency", "must be 1 when the period is longer than a day"))
        return None
    if len(times) > 1:
        problems.append(FieldProblem(f"{where}.timeOfDay", "takes one time when the period is longer than a day"))
        return None
    return DoseTiming(times or (time(8, 0),), frozenset(range(7)), days, None, bounds)


def _whole(
    data: dict[str, Any], name: str, where: str, low: int, high: int, problems: list[FieldProblem]
) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(FieldProblem(f"{where}.{name}", f"must be a whole number from {low} to {high}"))
        return None
    return value


def _positive(data: dict[str, Any], name: str, where: str, problems: list[FieldProblem]) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 366:
        problems.append(FieldProblem(f"{where}.{name}", "must be a number above 0"))
        return None
    return float(value)


def _times(
    repeat: dict[str, Any], where: str, when_times: Mapping[str, time], problems: list[FieldProblem]
) -> tuple[time, ...]:
    found: set[time] = set()
    of_day = repeat.get("timeOfDay", [])
    if not isinstance(of_day, list):
        problems.append(FieldProblem(f"{where}.timeOfDay", "must be a list of times such as 08:00:00"))
        of_day = []
    for index, item in enumerate(of_day):
        match = _TIME_OF_DAY.match(item) if isinstance(item, str) else None
        if match is None:
            problems.append(FieldProblem(f"{where}.timeOfDay[{index}]", "must be a time such as 08:00:00"))
            continue
        found.add(time(int(match[1]), int(match[2])))
    codes = repeat.get("when", [])
    if not isinstance(codes, list):
        problems.append(FieldProblem(f"{where}.when", "must be a list of EventTiming codes"))
        codes = []
    for index, code in enumerate(codes):
        expanded = MEAL_CODES.get(code, (code,)) if isinstance(code, str) else (None,)
        for each in expanded:
            if each is None or each not in when_times:
                problems.append(FieldProblem(f"{where}.when[{index}]", f"{code!r} is not a supported EventTiming code"))
                break
            found.add(when_times[each])
    if len(found) > MAX_DOSES_PER_DAY:
        problems.append(FieldProblem(f"{where}.timeOfDay", f"gives more than {MAX_DOSES_PER_DAY} doses a day"))
    return tuple(sorted(found))


def _weekdays(repeat: dict[str, Any], where: str, problems: list[FieldProblem]) -> frozenset[int] | None:
    value = repeat.get("dayOfWeek")
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(d, str) and d in WEEKDAYS for d in value):
        problems.append(FieldProblem(f"{where}.dayOfWeek", "must be a list of mon, tue, wed, thu, fri, sat, sun"))
        return None
    return frozenset(WEEKDAYS.index(d) for d in value)


def _bounds(repeat: dict[str, Any], where: str, problems: list[FieldProblem]) -> Bounds:
    given = [name for name in ("boundsPeriod", "boundsDuration") if name in repeat]
    if len(given) > 1:
        problems.append(FieldProblem(f"{where}.boundsDuration", "cannot be given with boundsPeriod"))
        return Bounds()
    count = _whole(repeat, "count", where, 1, MAX_COUNT, problems)
    if "boundsPeriod" in repeat:
        period = repeat["boundsPeriod"]
        if not isinstance(period, dict) or set(period) - {"start", "end"}:
            problems.append(FieldProblem(f"{where}.boundsPeriod", "must be an object with start and/or end"))
            return Bounds(count=count)
        start = _instant(period.get("start"), f"{where}.boundsPeriod.start", problems)
        end = _instant(period.get("end"), f"{where}.boundsPeriod.end", problems)
        if start is not None and end is not None and end <= start:
            problems.append(FieldProblem(f"{where}.boundsPeriod.end", "must be after start"))
        return Bounds(start=start, end=end, count=count)
    if "boundsDuration" in repeat:
        duration = repeat["boundsDuration"]
        if not isinstance(duration, dict):
            problems.append(FieldProblem(f"{where}.boundsDuration", "must be a Duration with value and unit"))
            return Bounds(count=count)
        value, unit = duration.get("value"), duration.get("unit", duration.get("code"))
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or unit not in _DURATION_UNIT:
            problems.append(FieldProblem(f"{where}.boundsDuration", "needs a positive value and unit min, h, d or wk"))
            return Bounds(count=count)
        return Bounds(duration=_DURATION_UNIT[unit] * value, count=count)
    return Bounds(count=count)


def _instant(value: Any, where: str, problems: list[FieldProblem]) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problems.append(
            FieldProblem(where, "must be a FHIR dateTime with a UTC offset, e.g. 2027-03-01T00:00:00-05:00")
        )
        return None
    return moment


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
    )


# --- free text -----------------------------------------------------------------------------------------------

_STATED_PER_DAY = (
    (re.compile(r"\b(four times (a|per|each) day|q\.?i\.?d\.?)(\W|$)", re.I), 4.0),
    (re.compile(r"\b(three times (a|per|each) day|thrice daily|t\.?i\.?d\.?)(\W|$)", re.I), 3.0),
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
    if timing.every is not None:
        return timedelta(days=1) / timing.every
    return len(timing.times) * len(timing.weekdays) / 7 / timing.every_days
