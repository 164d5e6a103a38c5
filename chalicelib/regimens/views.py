"""The JSON shapes of `/v1/regimens`: TypedDicts the regimen service's views return (mypy checks them; the
OpenAPI document's response schemas are generated from them)."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class TimerView(TypedDict):
    """A dose timer: its name, and when just armed its Scheduler expression and zone."""

    name: str
    expression: NotRequired[str]
    timezone: NotRequired[str]


class CaregiverView(TypedDict):
    first_name: str | None
    phone: str | None
    email: str | None


class RegimenNote(TypedDict):
    field: str
    note: str


class RegimenView(TypedDict):
    """A regimen: its instructions (FHIR Timing, with how they are scheduled), timers and next doses (local)."""

    id: str
    patient_id: str
    medication: str
    dose: str | None
    status: str
    version: int
    timezone: str
    instructions: list[dict[str, Any]]
    timers: list[TimerView]
    next_doses: list[str]
    caregiver: CaregiverView | None
    supply: int | None
    notes: NotRequired[list[RegimenNote]]


class DoseView(TypedDict):
    due: str
    status: str
    taken_at: str | None
    taken_via: str | None


class AdherenceView(TypedDict):
    """`GET /v1/regimens/{id}/adherence`: each dose due in the window; `taken_percent` null with none counted."""

    regimen_id: str
    doses: list[DoseView]
    taken_percent: float | None
