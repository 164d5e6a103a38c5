"""The words of dose messages: pure. They name the dose time in the patient's zone and, by default, not the
medication ("your 8:00 AM medicine"); a clinic may opt in to names. A caregiver hears the patient's first name
and the dose time only. Plain GSM-7 text, so an SMS stays one or two segments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.messages.templates import Message


class DoseKind(StrEnum):
    DOSE = "dose"
    SNOOZE = "dose_snooze"
    FOLLOW_UP = "dose_follow_up"
    CAREGIVER = "caregiver_alert"
    REFILL = "refill"


@dataclass(frozen=True)
class DoseFacts:
    clinic_name: str
    local_due: datetime
    medication: str | None  # None unless the clinic puts names in messages
    dose_text: str | None
    link: str | None
    snooze_minutes: int
    first_name: str | None = None
    days_left: int | None = None


def clock_text(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def dose_message(kind: DoseKind, facts: DoseFacts) -> Message:
    at = clock_text(facts.local_due)
    what = f"your {at} medicine"
    if facts.medication:
        what = f"your {at} {facts.medication}" + (f" ({facts.dose_text})" if facts.dose_text else "")
    tap = f" or tap {facts.link}" if facts.link else ""
    if kind in (DoseKind.DOSE, DoseKind.SNOOZE):
        body = (
            f"{facts.clinic_name}: time for {what}. Reply 1 when taken{tap}. "
            f"Reply SNOOZE to be reminded in {facts.snooze_minutes} min."
        )
        return Message("Medication reminder", body)
    if kind is DoseKind.FOLLOW_UP:
        return Message("Medication reminder", f"{facts.clinic_name}: have you taken {what}? Reply 1 when taken{tap}.")
    if kind is DoseKind.CAREGIVER:
        name = facts.first_name or "Your family member"
        day = f"{facts.local_due:%a} {facts.local_due.day} {facts.local_due:%b}"
        body = f"{facts.clinic_name}: {name} has not confirmed the {at} dose on {day}."
        return Message("Dose not confirmed", body)
    days = facts.days_left if facts.days_left is not None else 0
    body = f"{facts.clinic_name}: your medicine runs out in about {days} days. Please ask for a refill."
    return Message("Refill reminder", body)
