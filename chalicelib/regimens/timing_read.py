"""Reading an HL7 FHIR R4 `Timing` element into a `DoseTiming`: which elements CareCue honours, which it notes
and ignores, and which it refuses by path (never a 500, never silently ignored when it would move a dose).

Honoured: `event` (explicit dose instants; with a `repeat`, the first event is the first dose and the pattern
runs from it), `code` alone (the v3 GTS abbreviations QD, BID, TID, QID, AM, PM, BED, QOD, Q1H-Q8H, Q12H, WK;
with a `repeat` the repeat is what counts), and in `repeat`: frequency, period, periodUnit (min, h, d, wk),
timeOfDay, when with offset (minutes before an AC* code's meal, after any other code), dayOfWeek, boundsPeriod,
boundsDuration, count.

Choices, written down because FHIR leaves them open:
- A range (frequency..frequencyMax, period..periodMax, count..countMax) uses the bound that gives fewer doses
  (frequency, periodMax, count) and says so in a note: a reminder never prompts more doses than the prescriber's
  most conservative reading.
- `duration`/`durationMax` are how long one administration lasts (an infusion over 2 hours): they do not move
  dose times, so they are accepted and noted.
- N times a week with no dayOfWeek: spread Mon/Thu, Mon/Wed/Fri, ... and noted.
- A dose interval under the clinic's minimum (`min_interval`, an hour unless the clinic sets another) is refused
  at `repeat.period`; s, mo and a are refused at `repeat.periodUnit`; boundsRange at its path.
- Dates and partial dateTimes (2015, 2015-01, 2015-01-15) are floating: the start of that day (month, year) for
  a start or an event, the end of it for an end, read in the patient's zone later (`timing.in_zone`).
- With `notes` given (a FHIR MedicationRequest), a timing that gives no dose time at all (only a duration, only a
  count, nothing) arms nothing for its line and says so; without, it is refused as before.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from chalicelib.core.errors import FieldProblem, InvalidRequest
from chalicelib.plan.event_timing import DEFAULT_WHEN_TIMES
from chalicelib.regimens.timing import (
    DEFAULT_TIMES_PER_DAY,
    MEAL_CODES,
    WEEKDAYS,
    Bounds,
    DoseTiming,
)

Notes = list[tuple[str, str]]

DEFAULT_MIN_INTERVAL = timedelta(hours=1)
_TIMING_FIELDS = frozenset({"event", "repeat", "code", "id", "extension"})
SUPPORTED_REPEAT = frozenset(
    {
        "frequency",
        "frequencyMax",
        "period",
        "periodMax",
        "periodUnit",
        "timeOfDay",
        "when",
        "offset",
        "dayOfWeek",
        "boundsPeriod",
        "boundsDuration",
        "count",
        "countMax",
        "duration",
        "durationMax",
        "durationUnit",
        "id",
        "extension",
    }
)
_UNIT = {"min": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "wk": timedelta(weeks=1)}
_DURATION_UNIT = {
    **_UNIT,
    "minute": timedelta(minutes=1),
    "minutes": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "hours": timedelta(hours=1),
    "day": timedelta(days=1),
    "days": timedelta(days=1),
    "week": timedelta(weeks=1),
    "weeks": timedelta(weeks=1),
}
# HL7 v3 GTSAbbreviation codes, as the repeat each one stands for.
GTS_CODES: Mapping[str, dict[str, Any]] = {
    "QD": {"frequency": 1, "period": 1, "periodUnit": "d"},
    "BID": {"frequency": 2, "period": 1, "periodUnit": "d"},
    "TID": {"frequency": 3, "period": 1, "periodUnit": "d"},
    "QID": {"frequency": 4, "period": 1, "periodUnit": "d"},
    "AM": {"when": ["MORN"]},
    "PM": {"when": ["EVE"]},
    "BED": {"when": ["HS"]},
    "QOD": {"frequency": 1, "period": 2, "periodUnit": "d"},
    "WK": {"frequency": 1, "period": 1, "periodUnit": "wk"},
    **{f"Q{n}H": {"frequency": 1, "period": n, "periodUnit": "h"} for n in (1, 2, 3, 4, 6, 8, 12)},
}
# N times a week with no dayOfWeek: days as evenly apart as a week allows.
DEFAULT_WEEKDAYS: Mapping[int, frozenset[int]] = {
    2: frozenset({0, 3}),
    3: frozenset({0, 2, 4}),
    4: frozenset({0, 1, 3, 4}),
    5: frozenset(range(5)),
    6: frozenset(range(6)),
    7: frozenset(range(7)),
}
# The meal an AC*/PC* code is before or after: an offset counts from the meal itself.
_MEAL_OF = {"ACM": "CM", "ACD": "CD", "ACV": "CV", "PCM": "CM", "PCD": "CD", "PCV": "CV"}
_NO_OFFSET = frozenset({"C", "CM", "CD", "CV"})  # FHIR tim-9: no offset "with" a meal
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::00)?$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$")
MAX_DOSES_PER_DAY = 12
MAX_COUNT = 2000
MAX_EVENTS = 100
MAX_SPAN = timedelta(days=3660)  # the longest duration read: ten years
# Dates outside these years are typing errors, and far enough out they overflow a datetime in a zone.
YEARS = range(1900, 2201)


def parse_timing(
    value: Any,
    where: str,
    when_times: Mapping[str, time] = DEFAULT_WHEN_TIMES,
    *,
    min_interval: timedelta = DEFAULT_MIN_INTERVAL,
) -> DoseTiming:
    """A FHIR `Timing` object as a DoseTiming; every problem is named by its path under `where`."""
    problems: list[FieldProblem] = []
    timing = collect_timing(value, where, when_times, problems, min_interval=min_interval)
    if problems or timing is None:
        raise InvalidRequest(problems or [FieldProblem(where, "is not a supported timing")])
    return timing


def collect_timing(
    value: Any,
    where: str,
    when_times: Mapping[str, time],
    problems: list[FieldProblem],
    *,
    notes: Notes | None = None,
    min_interval: timedelta = DEFAULT_MIN_INTERVAL,
) -> DoseTiming | None:
    """As `parse_timing`, adding problems to `problems` (so a request names all of them at once). With `notes`,
    a timing without any dose time is None with a note saying so, not a problem."""
    if not isinstance(value, dict):
        problems.append(FieldProblem(where, "must be a FHIR Timing object with a repeat element"))
        return None
    for name in sorted(set(value) - _TIMING_FIELDS):
        problems.append(FieldProblem(f"{where}.{name}", "is not supported by CareCue"))
    events = _events(value.get("event"), f"{where}.event", problems)
    repeat = value.get("repeat")
    repeat_where = f"{where}.repeat"
    if repeat is None and "code" in value:
        repeat = _code_repeat(value["code"], f"{where}.code", problems)
        repeat_where = f"{where}.code"
        if repeat is None:
            return None
    if repeat is None:
        if events:
            return DoseTiming(events=tuple(events), bounds=Bounds(start=events[0], count=len(events)))
        return _nothing(where, "gives no dose time (no event, repeat or code)", problems, notes)
    if not isinstance(repeat, dict):
        problems.append(FieldProblem(repeat_where, "must be an object"))
        return None
    if repeat_where == f"{where}.repeat":
        return _repeat(repeat, repeat_where, events, when_times, problems, notes, min_interval)
    # A code's repeat is not in the request: what is said about it is said about the code.
    found: list[FieldProblem] = []
    said: Notes = []
    timing = _repeat(repeat, repeat_where, events, when_times, found, said, min_interval)
    problems.extend(FieldProblem(repeat_where, p.problem) for p in found)
    if notes is not None:
        notes.extend((repeat_where, note) for _, note in said)
    return timing


def _repeat(
    repeat: dict[str, Any],
    where: str,
    events: list[datetime],
    when_times: Mapping[str, time],
    problems: list[FieldProblem],
    notes: Notes | None,
    min_interval: timedelta,
) -> DoseTiming | None:
    for name in sorted(set(repeat) - SUPPORTED_REPEAT):
        problem = "is not supported by CareCue"
        if name == "boundsRange":
            problem = "is not supported (a range of lengths): give boundsDuration or boundsPeriod"
        problems.append(FieldProblem(f"{where}.{name}", problem))
    said: Notes = []
    frequency = _whole(repeat, "frequency", where, 1, MAX_DOSES_PER_DAY, problems)
    frequency_max = _whole(repeat, "frequencyMax", where, 1, MAX_DOSES_PER_DAY, problems)
    if frequency_max is not None and frequency_max > (frequency or 1):
        said.append(
            (
                f"{where}.frequencyMax",
                f"{frequency or 1} to {frequency_max}: reminders follow {frequency or 1}, the fewer doses",
            )
        )
    period = _positive(repeat, "period", where, problems)
    period_max = _positive(repeat, "periodMax", where, problems)
    unit = repeat.get("periodUnit")
    if unit is not None and (not isinstance(unit, str) or unit not in _UNIT):
        problems.append(FieldProblem(f"{where}.periodUnit", "must be min, h, d or wk (s, mo and a are not supported)"))
        unit = None
    if period is not None and unit is None and "periodUnit" not in repeat:
        problems.append(FieldProblem(f"{where}.periodUnit", "is required with period"))
    if period is not None and period_max is not None and period_max > period:
        said.append(
            (
                f"{where}.periodMax",
                f"every {period:g} to {period_max:g} {unit}: reminders every {period_max:g} {unit}, the fewer doses",
            )
        )
        period = period_max
    times = _times(repeat, where, when_times, problems)
    weekdays = _weekdays(repeat, where, problems)
    bounds = _bounds(repeat, where, problems)
    count_max = _whole(repeat, "countMax", where, 1, MAX_COUNT, problems)
    if count_max is not None and bounds.count is not None and count_max > bounds.count:
        said.append((f"{where}.countMax", f"{bounds.count} to {count_max} doses: reminders stop after {bounds.count}"))
    if problems:
        return None
    if period is None and frequency is None and not times and not events:
        what = (
            "a count"
            if "count" in repeat
            else "how long one administration lasts"
            if "duration" in repeat
            else "nothing"
        )
        return _nothing(
            where, f"gives {what} but no dose time (frequency with period, timeOfDay, when or event)", problems, notes
        )
    if "duration" in repeat:
        said.append((f"{where}.duration", "is how long one administration lasts: it does not move the dose times"))
    anchor = bool(events) and not times
    if events:
        bounds = Bounds(events[0], bounds.end, bounds.duration, bounds.count)
        if len(events) > 1:
            said.append((f"{where[: -len('.repeat')]}.event", "with a repeat: the first event starts the pattern"))
    timing = _shape(frequency or 1, period, unit, times, weekdays, bounds, anchor, where, problems, said, min_interval)
    if notes is not None and timing is not None:
        notes.extend(said)
    return timing


def _nothing(where: str, why: str, problems: list[FieldProblem], notes: Notes | None) -> DoseTiming | None:
    if notes is None:
        problems.append(FieldProblem(where, "needs timeOfDay, when, or frequency with period and periodUnit"))
    else:
        notes.append((where, f"{why}: no reminder is armed for this instruction"))
    return None


def _code_repeat(code: Any, where: str, problems: list[FieldProblem]) -> dict[str, Any] | None:
    """The repeat a `Timing.code` stands for, from its codings (or its text) that are GTS abbreviations."""
    candidates: list[Any] = []
    if isinstance(code, dict):
        codings = code.get("coding")
        if isinstance(codings, list):
            candidates += [c.get("code") for c in codings if isinstance(c, dict)]
        candidates.append(code.get("text"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip().upper() in GTS_CODES:
            return dict(GTS_CODES[candidate.strip().upper()])
    problems.append(
        FieldProblem(where, f"is not a supported timing code (one of {', '.join(GTS_CODES)}); give a repeat instead")
    )
    return None


def _shape(
    frequency: int,
    period: float | None,
    unit: str | None,
    times: tuple[time, ...],
    weekdays: frozenset[int] | None,
    bounds: Bounds,
    anchor: bool,
    where: str,
    problems: list[FieldProblem],
    notes: Notes,
    min_interval: timedelta,
) -> DoseTiming | None:
    span = _UNIT[unit] * period if period is not None and unit is not None else None
    midnight = time(0, 0)
    if span is None:
        if not times:
            problems.append(FieldProblem(where, "needs timeOfDay, when, or frequency with period and periodUnit"))
            return None
        return DoseTiming(times, weekdays or frozenset(range(7)), 1, None, bounds)
    if unit in ("min", "h") or span < timedelta(days=1):
        interval = span / frequency
        if interval < min_interval or interval.total_seconds() % 60:
            minimum = int(min_interval.total_seconds() // 60)
            problems.append(
                FieldProblem(f"{where}.period", f"doses must be at least {minimum} minutes apart, on whole minutes")
            )
            return None
        if interval > timedelta(days=1) or timedelta(days=1) % interval:
            if weekdays is not None or len(times) > 1:
                problems.append(FieldProblem(f"{where}.dayOfWeek", "cannot restrict an interval that drifts over days"))
                return None
            return DoseTiming((), frozenset(range(7)), 1, interval, bounds)
        first = midnight if anchor else times[0] if times else time(8, 0)
        start_of_spread = datetime.combine(date(2000, 1, 1), first)
        count = timedelta(days=1) // interval
        spread = tuple(sorted({(start_of_spread + k * interval).time() for k in range(count)}))
        return DoseTiming(spread, weekdays or frozenset(range(7)), 1, None, bounds, anchor=anchor)
    if span % timedelta(days=1):
        problems.append(FieldProblem(f"{where}.period", "must be whole days when it is a day or longer"))
        return None
    days = span // timedelta(days=1)
    if days == 1:
        if not times and anchor:
            times = tuple(
                sorted(
                    {
                        (datetime.combine(date(2000, 1, 1), midnight) + k * timedelta(days=1) / frequency).time()
                        for k in range(frequency)
                    }
                )
            )
        elif not times:
            if frequency not in DEFAULT_TIMES_PER_DAY:
                problems.append(FieldProblem(f"{where}.timeOfDay", f"is required for {frequency} doses a day"))
                return None
            times = DEFAULT_TIMES_PER_DAY[frequency]
        elif frequency not in (1, len(times)):
            problems.append(
                FieldProblem(f"{where}.frequency", f"is {frequency} a day but {len(times)} times of day are given")
            )
            return None
        return DoseTiming(times, weekdays or frozenset(range(7)), 1, None, bounds, anchor=anchor)
    if days == 7 and weekdays is None and frequency in DEFAULT_WEEKDAYS:
        weekdays = DEFAULT_WEEKDAYS[frequency]
        named = ", ".join(WEEKDAYS[d] for d in sorted(weekdays))
        notes.append((f"{where}.dayOfWeek", f"not given for {frequency} times a week: reminders on {named}"))
    if days == 7 and weekdays is not None:
        if frequency != len(weekdays):
            problems.append(
                FieldProblem(f"{where}.frequency", f"is {frequency} a week but {len(weekdays)} days are given")
            )
            return None
        return DoseTiming(times or ((midnight,) if anchor else (time(8, 0),)), weekdays, 1, None, bounds, anchor=anchor)
    if frequency != 1 or weekdays is not None:
        problems.append(FieldProblem(f"{where}.frequency", "must be 1 when the period is longer than a day"))
        return None
    if len(times) > 1:
        problems.append(FieldProblem(f"{where}.timeOfDay", "takes one time when the period is longer than a day"))
        return None
    first_time = times or ((midnight,) if anchor else (time(8, 0),))
    return DoseTiming(first_time, frozenset(range(7)), days, None, bounds, anchor=anchor)


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
    offset = _offset(repeat, codes, where, problems)
    for index, code in enumerate(codes):
        expanded = MEAL_CODES.get(code, (code,)) if isinstance(code, str) else (None,)
        for each in expanded:
            if each is None or each not in when_times:
                problems.append(FieldProblem(f"{where}.when[{index}]", f"{code!r} is not a supported EventTiming code"))
                break
            found.add(_when_time(each, offset, when_times))
    if len(found) > MAX_DOSES_PER_DAY:
        problems.append(FieldProblem(f"{where}.timeOfDay", f"gives more than {MAX_DOSES_PER_DAY} doses a day"))
    return tuple(sorted(found))


def _offset(repeat: dict[str, Any], codes: list[Any], where: str, problems: list[FieldProblem]) -> int | None:
    value = repeat.get("offset")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 720:
        problems.append(FieldProblem(f"{where}.offset", "must be a whole number of minutes from 0 to 720"))
        return None
    if not codes:
        problems.append(FieldProblem(f"{where}.offset", "needs when: the event it counts from"))
        return None
    if any(isinstance(code, str) and code in _NO_OFFSET for code in codes):
        problems.append(FieldProblem(f"{where}.offset", "cannot be given with when C, CM, CD or CV (FHIR tim-9)"))
        return None
    return value


def _when_time(code: str, offset: int | None, when_times: Mapping[str, time]) -> time:
    """Where a `when` code falls: the clinic's time for it, or with an offset, that many minutes before the meal
    of an AC* code and after the meal of a PC* code or after any other event (FHIR: after unless the code says)."""
    if offset is None:
        return when_times[code]
    meal = _MEAL_OF.get(code)
    base = when_times[meal] if meal is not None else when_times[code]
    sign = -1 if code.startswith("AC") else 1
    return (datetime.combine(date(2000, 1, 1), base) + sign * timedelta(minutes=offset)).time()


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
        if not isinstance(period, dict) or set(period) - {"start", "end", "id", "extension"}:
            problems.append(FieldProblem(f"{where}.boundsPeriod", "must be an object with start and/or end"))
            return Bounds(count=count)
        start = fhir_datetime(period.get("start"), f"{where}.boundsPeriod.start", problems)
        end = fhir_datetime(period.get("end"), f"{where}.boundsPeriod.end", problems, end=True)
        if start is not None and end is not None and _comparable(start, end) and end <= start:
            problems.append(FieldProblem(f"{where}.boundsPeriod.end", "must be after start"))
        return Bounds(start=start, end=end, count=count)
    if "boundsDuration" in repeat:
        duration = repeat["boundsDuration"]
        length = duration_of(duration)
        if length is None:
            problems.append(FieldProblem(f"{where}.boundsDuration", "needs a positive value and unit min, h, d or wk"))
            return Bounds(count=count)
        return Bounds(duration=length, count=count)
    return Bounds(count=count)


def duration_of(value: Any) -> timedelta | None:
    """A FHIR Duration (UCUM `code` first, then `unit`) as a timedelta; None when it is not one CareCue reads."""
    if not isinstance(value, dict):
        return None
    amount = value.get("value")
    units = [u for u in (value.get("code"), value.get("unit")) if isinstance(u, str)]
    unit = next((u for u in units if u in _DURATION_UNIT), None)
    if isinstance(amount, bool) or not isinstance(amount, int | float) or unit is None:
        return None
    seconds = _DURATION_UNIT[unit].total_seconds() * amount
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_SPAN.total_seconds():
        return None
    return timedelta(seconds=seconds)


def _comparable(a: datetime, b: datetime) -> bool:
    return (a.tzinfo is None) == (b.tzinfo is None)


def _events(value: Any, where: str, problems: list[FieldProblem]) -> list[datetime]:
    if value is None:
        return []
    if not isinstance(value, list) or not value or len(value) > MAX_EVENTS:
        problems.append(FieldProblem(where, f"must be a list of 1 to {MAX_EVENTS} FHIR dateTimes"))
        return []
    found = [fhir_datetime(item, f"{where}[{index}]", problems) for index, item in enumerate(value)]
    moments = [m for m in found if m is not None]
    if len(moments) != len(found):
        return []
    if not all(_comparable(moments[0], m) for m in moments):
        problems.append(FieldProblem(where, "must be all dates or all dateTimes with offsets"))
        return []
    return sorted(moments)


def fhir_datetime(value: Any, where: str, problems: list[FieldProblem], *, end: bool = False) -> datetime | None:
    """A FHIR date or dateTime. A date or partial date (2015, 2015-01, 2015-01-15) is a floating (naive) wall
    time: its first moment, or with `end` its last minute; a dateTime with a time of day needs its offset, as FHIR
    requires."""
    if value is None:
        return None
    partial = _PARTIAL_DATE.match(value) if isinstance(value, str) else None
    if partial is not None:
        year, month, day = int(partial[1]), partial[2], partial[3]
        if year not in YEARS:
            problems.append(FieldProblem(where, f"must be a year from {YEARS[0]} to {YEARS[-1]}"))
            return None
        try:
            if not end:
                return datetime(year, int(month or 1), int(day or 1))
            last_month = int(month or 12)
            last_day = date(year, last_month, int(day or calendar.monthrange(year, last_month)[1]))
        except ValueError:
            problems.append(FieldProblem(where, "is not a calendar date"))
            return None
        return datetime.combine(last_day, time(23, 59))
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and "T" in value else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problems.append(
            FieldProblem(
                where, "must be a FHIR date (2027-03-01) or dateTime with a UTC offset (2027-03-01T08:00:00-05:00)"
            )
        )
        return None
    if moment.year not in YEARS:
        problems.append(FieldProblem(where, f"must be a year from {YEARS[0]} to {YEARS[-1]}"))
        return None
    return moment
