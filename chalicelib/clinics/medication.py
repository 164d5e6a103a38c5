"""A clinic's medication settings, kept in its policy under `medication`: where the FHIR `when` codes fall on the
clock, the shortest interval between doses, whether a medication's name may appear in an SMS, and the snooze,
follow-up, caregiver and refill windows. Validated like the rest of the policy (every wrong field named)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from chalicelib.core.errors import FieldProblem
from chalicelib.plan.event_timing import DEFAULT_WHEN_TIMES

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MINUTES = {"snooze_minutes": (15, 5, 120), "follow_up_minutes": (30, 10, 180), "caregiver_minutes": (60, 15, 360)}


@dataclass(frozen=True)
class MedicationSettings:
    when_times: Mapping[str, time] = field(default_factory=lambda: dict(DEFAULT_WHEN_TIMES))
    names_in_sms: bool = False  # "your 8:00 AM medicine" unless the clinic opts in
    snooze: timedelta = timedelta(minutes=15)
    follow_up: timedelta = timedelta(minutes=30)  # one follow-up when a dose is not acknowledged by then
    caregiver_after: timedelta = timedelta(minutes=60)  # the caregiver is told (if set) when still not taken
    refill_days: int = 3  # a refill reminder this many days before the supply runs out
    min_interval: timedelta = timedelta(hours=1)  # doses closer than this are refused (FHIR periodUnit min, h)


DEFAULT_MEDICATION = MedicationSettings()


def parse_medication(value: Any, problems: list[FieldProblem]) -> MedicationSettings:
    if value is None:
        return DEFAULT_MEDICATION
    if not isinstance(value, dict):
        problems.append(FieldProblem("medication", "must be an object"))
        return DEFAULT_MEDICATION
    known = {"when_times", "names_in_sms", "refill_days", "min_interval_minutes", *_MINUTES}
    for name in sorted(set(value) - known):
        problems.append(FieldProblem(f"medication.{name}", "is not a medication setting"))
    when_times = dict(DEFAULT_WHEN_TIMES)
    given = value.get("when_times", {})
    if not isinstance(given, dict):
        problems.append(FieldProblem("medication.when_times", "must map EventTiming codes to HH:MM"))
        given = {}
    for code, clock in given.items():
        match = _CLOCK.match(clock) if isinstance(clock, str) else None
        if code not in DEFAULT_WHEN_TIMES or match is None:
            problems.append(FieldProblem(f"medication.when_times.{code}", "must be a known EventTiming code at HH:MM"))
            continue
        when_times[code] = time(int(match[1]), int(match[2]))
    names = value.get("names_in_sms", False)
    if not isinstance(names, bool):
        problems.append(FieldProblem("medication.names_in_sms", "must be true or false"))
        names = False
    minutes: dict[str, int] = {}
    for name, (default, low, high) in _MINUTES.items():
        given_minutes = value.get(name, default)
        if isinstance(given_minutes, bool) or not isinstance(given_minutes, int) or not low <= given_minutes <= high:
            problems.append(FieldProblem(f"medication.{name}", f"must be a whole number from {low} to {high}"))
            given_minutes = default
        minutes[name] = given_minutes
    if minutes["caregiver_minutes"] <= minutes["follow_up_minutes"]:
        problems.append(FieldProblem("medication.caregiver_minutes", "must be after the follow-up"))
    refill = value.get("refill_days", 3)
    if isinstance(refill, bool) or not isinstance(refill, int) or not 1 <= refill <= 14:
        problems.append(FieldProblem("medication.refill_days", "must be a whole number from 1 to 14"))
        refill = 3
    interval = value.get("min_interval_minutes", 60)
    if isinstance(interval, bool) or not isinstance(interval, int) or not 15 <= interval <= 1440:
        problems.append(FieldProblem("medication.min_interval_minutes", "must be a whole number from 15 to 1440"))
        interval = 60
    return MedicationSettings(
        when_times,
        names,
        timedelta(minutes=minutes["snooze_minutes"]),
        timedelta(minutes=minutes["follow_up_minutes"]),
        timedelta(minutes=minutes["caregiver_minutes"]),
        refill,
        timedelta(minutes=interval),
    )


def medication_json(settings: MedicationSettings) -> dict[str, Any]:
    return {
        "when_times": {code: f"{at:%H:%M}" for code, at in settings.when_times.items()},
        "names_in_sms": settings.names_in_sms,
        "snooze_minutes": int(settings.snooze.total_seconds() // 60),
        "follow_up_minutes": int(settings.follow_up.total_seconds() // 60),
        "caregiver_minutes": int(settings.caregiver_after.total_seconds() // 60),
        "refill_days": settings.refill_days,
        "min_interval_minutes": int(settings.min_interval.total_seconds() // 60),
    }
