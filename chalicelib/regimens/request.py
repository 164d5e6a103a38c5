"""Validation of regimen requests: CareCue's own JSON, or (in `chalicelib.regimens.fhir`) a FHIR R4
MedicationRequest taken as is. Every problem is named by its field. In CareCue's own JSON an unknown field is
refused by name; what the two forms share (instructions, caregiver, supply, the notes on free texts) is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from chalicelib.core.errors import FieldProblem, InvalidRequest
from chalicelib.core.fields import Fields, decode_json_object
from chalicelib.core.words import RegimenStatus
from chalicelib.patients.details import PatientDetails, parse_patient
from chalicelib.regimens.timing import DoseTiming, doses_per_day, stated_doses_per_day
from chalicelib.regimens.timing_read import DEFAULT_MIN_INTERVAL, Notes, collect_timing

_OWN_FIELDS = {
    "patient_id",
    "patient",
    "medication",
    "dose",
    "timing",
    "instructions",
    "caregiver",
    "supply",
    "external_id",
}
_INSTRUCTION_FIELDS = {"sequence", "text", "patientInstruction", "timing"}
_CAREGIVER_FIELDS = {"first_name", "phone", "email"}
MAX_INSTRUCTIONS = 10


@dataclass(frozen=True)
class Caregiver:
    first_name: str  # the patient's first name, as the caregiver's message will say it
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class NewRegimen:
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
    body = decode_json_object(raw_body)
    fields = Fields(body, region=region)
    if body.get("resourceType") == "MedicationRequest":
        # Imported here: the FHIR reader builds on this module's shared parts.
        from chalicelib.regimens.fhir import parse_medication_request

        return parse_medication_request(body, fields, when_times, min_interval)
    fields.reject_unknown(_OWN_FIELDS)
    patient_id, patient = _who(body, fields)
    medication = fields.text("medication", required=True)
    dose_text = fields.text("dose")
    if "timing" in body and "instructions" in body:
        fields.problem("instructions", "cannot be given with timing")
    raw_instructions: Any = body.get("instructions")
    if raw_instructions is None:
        raw_instructions = [{"timing": body.get("timing")}] if "timing" in body else None
        where = "timing"
    else:
        where = "instructions"
    read = _instructions(raw_instructions, where, fields, when_times, min_interval)
    instructions = [timing for _, _, timing in read]
    caregiver = caregiver_of(body.get("caregiver"), fields)
    supply = supply_of(body.get("supply"), fields)
    external_id = fields.text("external_id")
    fields.raise_if_any()
    assert medication is not None
    notes: Notes = []
    if where != "timing":
        notes = disagreements(read)
    if dose_text is not None and len(instructions) == 1:
        notes += _disagreement("dose", dose_text, instructions[0])
    return NewRegimen(
        patient_id,
        patient,
        medication,
        dose_text,
        instructions,
        caregiver,
        supply,
        tuple(notes),
        external_id,
        paths=tuple(path for path, _, _ in read),
        sequences=tuple(None for _ in read),
    )


def _who(body: dict[str, Any], fields: Fields) -> tuple[str | None, PatientDetails | None]:
    if "patient_id" in body:
        if "patient" in body:
            fields.problem("patient", "cannot be given with patient_id")
        return fields.text("patient_id", required=True), None
    return None, parse_patient(body.get("patient"), fields)


def _instructions(
    raw: Any, where: str, fields: Fields, when_times: Mapping[str, time], min_interval: timedelta
) -> list[tuple[str, Any, DoseTiming]]:
    """(path, raw instruction, timing) of each instruction of CareCue's own JSON."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_INSTRUCTIONS:
        fields.problem(where, f"is required: a timing, or a list of 1 to {MAX_INSTRUCTIONS} dosage instructions")
        return []
    found: list[tuple[str, Any, DoseTiming]] = []
    for index, item in enumerate(raw):
        path = where if where == "timing" else f"{where}[{index}]"
        if not isinstance(item, dict):
            fields.problem(path, "must be an object")
            continue
        if where != "timing":
            for name in sorted(set(item) - _INSTRUCTION_FIELDS):
                fields.problems.append(FieldProblem(f"{path}.{name}", "is not supported by CareCue"))
        problems: list[FieldProblem] = []
        timing = collect_timing(
            item.get("timing"),
            path if where == "timing" else f"{path}.timing",
            when_times,
            problems,
            min_interval=min_interval,
        )
        fields.problems.extend(problems)
        if timing is not None and not problems:
            found.append((path, item, timing))
    return found


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
    if value is None:
        return None
    if not isinstance(value, dict):
        parent.problem("caregiver", "must be an object")
        return None
    fields = parent.nested(value, "caregiver.")
    fields.reject_unknown(_CAREGIVER_FIELDS)
    first = fields.text("first_name", required=True, max_length=40)
    phone = fields.phone("phone")
    email = fields.email("email")
    if phone is None and email is None and not fields.problems:
        fields.problem("phone", "or email is required to alert the caregiver")
    parent.problems.extend(fields.problems)
    if fields.problems or first is None:
        return None
    return Caregiver(first, phone, email)


def supply_of(value: Any, fields: Fields) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        fields.problem("supply", "must be a whole number of doses from 1 to 10000")
        return None
    return value


def parse_status_change(raw_body: bytes | None) -> RegimenStatus:
    body = decode_json_object(raw_body)
    fields = Fields(body)
    fields.reject_unknown({"status"})
    status = fields.text("status", required=True)
    if status is not None and status not in tuple(RegimenStatus):
        fields.problem("status", "must be paused, active or stopped")
    fields.raise_if_any()
    assert status is not None
    return RegimenStatus(status)


__all__ = ["InvalidRequest", "NewRegimen", "parse_new_regimen", "parse_status_change"]
