"""CareCue's own regimen JSON as models of the validation kit (`chalicelib.core.validation`): what
`POST /v1/regimens` (when the body is no FHIR MedicationRequest) and `PATCH /v1/regimens/{id}` accept, every
problem named by its field, and the API's JSON Schema of both (`chalicelib.schemas`). A dose timing is a
FHIR Timing and is read by `chalicelib.regimens.timing_read`, whose problems join the model's under the
timing's path. pydantic models: imported by the routes only, never on the fire path. A new field: declare it
on the model, then carry it into `NewRegimen` (`request.py`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Annotated, Any, ClassVar

from msgspec import field
from pydantic import BeforeValidator, Field, InstanceOf, ValidationError, ValidationInfo, WithJsonSchema
from pydantic_core import InitErrorDetails

from chalicelib.core.validation import (
    Body,
    Context,
    Email,
    Loc,
    Phone,
    RequiredText,
    Text,
    problem,
    text_rule,
    whole_number,
)
from chalicelib.core.words import RegimenStatus
from chalicelib.patients.bodies import PatientBody
from chalicelib.plan.event_timing import DEFAULT_WHEN_TIMES
from chalicelib.regimens.request import MAX_INSTRUCTIONS, SUPPLY_PROBLEM, Caregiver
from chalicelib.regimens.timing import DoseTiming
from chalicelib.regimens.timing_read import DEFAULT_MIN_INTERVAL, collect_timing

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class RegimenContext(Context, frozen=True):
    """The clinic's medication settings a timing is read with: where the `when` codes fall, the least interval."""

    when_times: Mapping[str, time] = field(default_factory=lambda: dict(DEFAULT_WHEN_TIMES))
    min_interval: timedelta = DEFAULT_MIN_INTERVAL


def _loc(path: str) -> Loc:
    """ ".repeat.bounds[0]" as ("repeat", "bounds", 0): a timing reader's path under the field's own."""
    return tuple(name if name else int(index) for name, index in _PART.findall(path))


def _timing(value: Any, info: ValidationInfo) -> DoseTiming:
    context = info.context if isinstance(info.context, RegimenContext) else RegimenContext()
    problems: list[Any] = []
    timing = collect_timing(value, "", context.when_times, problems, min_interval=context.min_interval)
    if problems or timing is None:
        details: list[InitErrorDetails] = [
            {"type": problem(p.problem), "loc": _loc(p.field), "input": None} for p in problems
        ]
        raise ValidationError.from_exception_data("timing", details)
    return timing


Timing = Annotated[
    InstanceOf[DoseTiming],
    BeforeValidator(_timing),
    WithJsonSchema(
        {
            "type": "object",
            "description": "a FHIR R4 Timing (event, repeat, code), read as FHIR defines it",
        }
    ),
]
FreeText = Annotated[Any, WithJsonSchema({"type": "string"})]


class InstructionBody(Body):
    """One dosage instruction: its timing, and free texts compared with it (the timing wins; a note says so)."""

    unknown_problem: ClassVar[str | None] = "is not supported by CareCue"
    missing_problem: ClassVar[str] = "must be a FHIR Timing object with a repeat element"
    sequence: Annotated[Any, WithJsonSchema({"type": "integer"})] = None
    text: FreeText = None
    patientInstruction: FreeText = None  # noqa: N815  # FHIR's name
    timing: Timing


class CaregiverBody(Body):
    """Who is told when a dose is still not taken: the patient's first name as they will read it, and a contact."""

    first_name: Annotated[Annotated[str, Field(max_length=40)], BeforeValidator(text_rule(40, required=True))]
    phone: Phone = None
    email: Email = None

    @classmethod
    def cross_problems(cls, data: dict[str, Any], failed: set[str]) -> list[tuple[Loc, str]]:
        blank = all(not (isinstance(data.get(name), str) and data[name].strip()) for name in ("phone", "email"))
        if blank and not failed:
            return [(("phone",), "or email is required to alert the caregiver")]
        return []

    def caregiver(self) -> Caregiver:
        return Caregiver(self.first_name, self.phone, self.email)


def _instruction_list(value: Any) -> Any:
    if value is not None and (not isinstance(value, list) or not value or len(value) > MAX_INSTRUCTIONS):
        raise problem(f"is required: a timing, or a list of 1 to {MAX_INSTRUCTIONS} dosage instructions")
    return value


def _supply(value: Any) -> int | None:
    return None if value is None else whole_number(1, 10_000, SUPPLY_PROBLEM)(value)


class NewRegimenBody(Body):
    """`POST /v1/regimens` in CareCue's own JSON: a patient (by id, or by contact details), a medication, and
    either one `timing` or up to ten `instructions`."""

    patient_id: RequiredText = None  # type: ignore[assignment]  # absent: `patient` instead; null: "is required"
    patient: PatientBody | None = None
    medication: RequiredText
    dose: Text = None
    timing: Timing | None = None
    instructions: Annotated[
        Annotated[list[InstructionBody], Field(min_length=1, max_length=MAX_INSTRUCTIONS)] | None,
        BeforeValidator(_instruction_list),
    ] = None
    caregiver: CaregiverBody | None = None
    supply: Annotated[Annotated[int, Field(ge=1, le=10_000)] | None, BeforeValidator(_supply)] = None
    external_id: Text = None

    @classmethod
    def cross_problems(cls, data: dict[str, Any], failed: set[str]) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        if "patient_id" in data and "patient" in data:
            problems.append((("patient",), "cannot be given with patient_id"))
        elif "patient_id" not in data and data.get("patient") is None and "patient" not in failed:
            problems.append((("patient",), "is required"))
        if "timing" in data and "instructions" in data:
            problems.append((("instructions",), "cannot be given with timing"))
        elif data.get("timing") is None and data.get("instructions") is None:
            message = f"is required: a timing, or a list of 1 to {MAX_INSTRUCTIONS} dosage instructions"
            problems.append((("instructions",), message))
        return problems


def _status(value: Any) -> RegimenStatus:
    if not isinstance(value, str) or value.strip() not in tuple(RegimenStatus):
        raise problem("is required" if value is None else "must be paused, active or stopped")
    return RegimenStatus(value.strip())


class RegimenStatusBody(Body):
    """`PATCH /v1/regimens/{id}`: pause, resume or stop."""

    status: Annotated[RegimenStatus, BeforeValidator(_status)]
