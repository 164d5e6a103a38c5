"""A clinic's medication settings, kept in its policy under `medication`: where the FHIR `when` codes fall on the
clock, the shortest interval between doses, whether a medication's name may appear in an SMS, and the snooze,
follow-up, caregiver and refill windows. Validated like the rest of the policy (every wrong field named) by
`chalicelib.clinics.bodies.MedicationBody`; read back from the stored policy here, without pydantic."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from msgspec import Struct, field

from chalicelib.core.fields import read_clock
from chalicelib.plan.event_timing import DEFAULT_WHEN_TIMES

# name: (default, lowest, highest), the bounds `chalicelib.clinics.bodies.MedicationBody` validates.
_NUMBERS = {
    "snooze_minutes": (15, 5, 120),
    "follow_up_minutes": (30, 10, 180),
    "caregiver_minutes": (60, 15, 360),
    "refill_days": (3, 1, 14),
    "min_interval_minutes": (60, 15, 1440),
}
_STORED = {"when_times", "names_in_sms", *_NUMBERS}


class MedicationSettings(Struct, frozen=True):
    when_times: Mapping[str, time] = field(default_factory=lambda: dict(DEFAULT_WHEN_TIMES))
    names_in_sms: bool = False  # "your 8:00 AM medicine" unless the clinic opts in
    snooze: timedelta = timedelta(minutes=15)
    follow_up: timedelta = timedelta(minutes=30)  # one follow-up when a dose is not acknowledged by then
    caregiver_after: timedelta = timedelta(minutes=60)  # the caregiver is told (if set) when still not taken
    refill_days: int = 3  # a refill reminder this many days before the supply runs out
    min_interval: timedelta = timedelta(hours=1)  # doses closer than this are refused (FHIR periodUnit min, h)


DEFAULT_MEDICATION = MedicationSettings()


def medication_from_json(value: Any) -> MedicationSettings:
    """Stored medication settings (the form `medication_json` writes, validated by
    `chalicelib.clinics.bodies.MedicationBody` before they were stored); anything else raises ValueError or
    TypeError, and the caller uses the defaults. A part missing takes its default."""
    if value is None:
        return DEFAULT_MEDICATION
    if not isinstance(value, dict) or set(value) - _STORED:
        raise ValueError("medication")
    when_times = dict(DEFAULT_WHEN_TIMES)
    for code, clock in dict(value.get("when_times", {})).items():
        at = read_clock(clock) if isinstance(clock, str) else None
        if code not in DEFAULT_WHEN_TIMES or at is None:
            raise ValueError("when_times")
        when_times[code] = at
    names = value.get("names_in_sms", False)
    if not isinstance(names, bool):
        raise TypeError("names_in_sms")
    number = {name: _number(value, name, *bounds) for name, bounds in _NUMBERS.items()}
    if number["caregiver_minutes"] <= number["follow_up_minutes"]:
        raise ValueError("caregiver_minutes")
    return MedicationSettings(
        when_times,
        names,
        timedelta(minutes=number["snooze_minutes"]),
        timedelta(minutes=number["follow_up_minutes"]),
        timedelta(minutes=number["caregiver_minutes"]),
        number["refill_days"],
        timedelta(minutes=number["min_interval_minutes"]),
    )


def _number(value: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    number = value.get(name, default)
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise ValueError(name)
    return number


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
