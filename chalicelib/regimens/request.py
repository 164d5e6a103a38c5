"""Regimen requests: what a valid body becomes (`NewRegimen`, the value the service takes) and its readers.
CareCue's own JSON is validated by the models of `chalicelib.regimens.bodies`; a FHIR R4 MedicationRequest is
taken as is by `chalicelib.regimens.fhir`, which follows FHIR's structure with `Fields`. Every problem is named
by its field, in the one error envelope. What the two forms share (caregiver, supply, the notes on free texts)
is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from msgspec import Struct

from chalicelib.core.errors import InvalidRequest
from chalicelib.core.fields import Fields, decode_json_object
from chalicelib.core.words import RegimenStatus
from chalicelib.patients.details import PatientDetails
from chalicelib.regimens.timing import DoseTiming, doses_per_day, stated_doses_per_day
from chalicelib.regimens.timing_read import DEFAULT_MIN_INTERVAL, Notes

MAX_INSTRUCTIONS = 10
SUPPLY_PROBLEM = "must be a whole number of doses from 1 to 10000"


class Caregiver(Struct, frozen=True):
    first_name: str  # the patient's first name, as the caregiver's message will say it
    phone: str | None
    email: str | None


class NewRegimen(Struct, frozen=True):
    patient_id: str | None
    patient: PatientDetails | None
    medication: str
    dose_text: str | None
    instructions: list[DoseTiming]
    caregiver: Caregiver | None
    supply: int | None
    # What the caller should know: where a free text disagrees with the structured timing (the timing wins),
    # what a FHIR resource said that CareCue read in a particular way or does not arm. (field, note)
    notes: tuple[tuple[str, str], ...] = ()
    # The caller's own id (or the MedicationRequest's `id`): sending the same regimen again creates it once.
    external_id: str | None = None
    status: RegimenStatus = RegimenStatus.ACTIVE  # what the regimen is created as
    # The prescribing system's reference to the patient (a FHIR subject CareCue does not know as its own id).
    external_ref: str | None = None
    # Per instruction: the request path it came from, and its FHIR Dosage.sequence (same sequence: together).
    paths: tuple[str, ...] = ()
    sequences: tuple[int | None, ...] = ()

    def path_of(self, index: int) -> str:
        return self.paths[index] if index < len(self.paths) else f"instructions[{index}]"


def parse_new_regimen(
    raw_body: bytes | None,
    when_times: Mapping[str, time],
    min_interval: timedelta = DEFAULT_MIN_INTERVAL,
    *,
    region: str | None = None,
) -> NewRegimen:
    """CareCue's own JSON, validated by `chalicelib.regimens.bodies.NewRegimenBody`, or a FHIR MedicationRequest,
    read by `chalicelib.regimens.fhir`; both name every problem by its path."""
    # Imported here: the services (on the fire path) import this module for `NewRegimen`; pydantic is not on it.
    from chalicelib.core.validation import read_body
    from chalicelib.regimens.bodies import NewRegimenBody, RegimenContext

    body = decode_json_object(raw_body)
    if body.get("resourceType") == "MedicationRequest":
        from chalicelib.regimens.fhir import parse_medication_request

        return parse_medication_request(body, Fields(body, region=region), when_times, min_interval)
    context = RegimenContext(region=region, when_times=when_times, min_interval=min_interval)
    request = read_body(NewRegimenBody, body, context)
    if request.instructions is not None:
        read = [
            (f"instructions[{index}]", {"text": item.text, "patientInstruction": item.patientInstruction}, item.timing)
            for index, item in enumerate(request.instructions)
        ]
    else:
        assert request.timing is not None  # one of the two is required
        read = [("timing", {}, request.timing)]
    instructions = [timing for _, _, timing in read]
    notes: Notes = disagreements(read)
    if request.dose is not None and len(instructions) == 1:
        notes += _disagreement("dose", request.dose, instructions[0])
    return NewRegimen(
        request.patient_id,
        request.patient.details() if request.patient is not None and request.patient_id is None else None,
        request.medication,
        request.dose,
        instructions,
        request.caregiver.caregiver() if request.caregiver is not None else None,
        request.supply,
        tuple(notes),
        request.external_id,
        paths=tuple(path for path, _, _ in read),
        sequences=tuple(None for _ in read),
    )


def disagreements(lines: list[tuple[str, Any, DoseTiming]]) -> Notes:
    """Notes where an instruction's free text (text, patientInstruction) says another number of doses a day than
    its structured timing. `lines`: (path, the raw instruction, its timing)."""
    notes: Notes = []
    for path, item, timing in lines:
        for name in ("text", "patientInstruction"):
            text = item.get(name) if isinstance(item, dict) else None
            if isinstance(text, str):
                notes += _disagreement(f"{path}.{name}", text, timing)
    return notes


def _disagreement(field: str, text: str, timing: DoseTiming) -> Notes:
    if timing.events:
        return []  # explicit dose instants have no daily rate to compare with
    stated, structured = stated_doses_per_day(text), doses_per_day(timing)
    if timing.every is None and len(timing.weekdays) < 7:
        structured = len(timing.times) / timing.every_days  # "four times daily on Mondays": a day it is taken
    if stated is None or abs(stated - structured) < 0.01:
        return []
    return [(field, f"says {stated:g} doses a day; the structured timing ({structured:g} a day) is followed")]


def caregiver_of(value: Any, parent: Fields) -> Caregiver | None:
    """A FHIR body's `caregiver` (CareCue's extension), read by the same model as in CareCue's own JSON."""
    from chalicelib.core.validation import Context, problems_of
    from chalicelib.regimens.bodies import CaregiverBody

    if value is None:
        return None
    body, problems = problems_of(CaregiverBody, value, Context(region=parent.region), parent.path("caregiver."))
    parent.problems.extend(problems)
    return body.caregiver() if body is not None else None


def supply_of(value: Any, fields: Fields) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        fields.problem("supply", SUPPLY_PROBLEM)
        return None
    return value


def parse_status_change(raw_body: bytes | None) -> RegimenStatus:
    from chalicelib.core.validation import Context, read_json
    from chalicelib.regimens.bodies import RegimenStatusBody

    return read_json(RegimenStatusBody, raw_body, Context()).status


__all__ = ["InvalidRequest", "NewRegimen", "parse_new_regimen", "parse_status_change"]
