"""Validation of regimen requests: CareCue's own JSON or a FHIR R4 MedicationRequest taken as is. Every problem
is named by its field; an element CareCue does not support is refused by name, never ignored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from chalicelib.appointments.request import (
    PatientDetails,
    _Fields,
    _parse_patient,
    decode_json_object,
)
from chalicelib.errors import FieldProblem, InvalidRequest
from chalicelib.regimens.timing import DoseTiming, collect_timing, doses_per_day, stated_doses_per_day

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
_FHIR_FIELDS = {
    "resourceType",
    "id",
    "status",
    "intent",
    "subject",
    "medicationCodeableConcept",
    "dosageInstruction",
    "authoredOn",
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
    # Where a free text disagrees with the structured timing: (field, what it says). The timing wins.
    notes: tuple[tuple[str, str], ...] = ()
    # The caller's own id (or the MedicationRequest's `id`): sending the same regimen again creates it once.
    external_id: str | None = None


def parse_new_regimen(raw_body: bytes | None, when_times: Mapping[str, time]) -> NewRegimen:
    body = decode_json_object(raw_body)
    fields = _Fields(body)
    if body.get("resourceType") == "MedicationRequest":
        return _medication_request(body, fields, when_times)
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
    instructions = _instructions(raw_instructions, where, fields, when_times)
    caregiver = _caregiver(body.get("caregiver"), fields)
    supply = _supply(body.get("supply"), fields)
    external_id = fields.text("external_id")
    fields.raise_if_any()
    assert medication is not None
    notes = _disagreements(raw_instructions, where, instructions)
    if dose_text is not None and len(instructions) == 1:
        notes += _disagreement("dose", dose_text, instructions[0])
    return NewRegimen(
        patient_id, patient, medication, dose_text, instructions, caregiver, supply, tuple(notes), external_id
    )


def _medication_request(body: dict[str, Any], fields: _Fields, when_times: Mapping[str, time]) -> NewRegimen:
    fields.reject_unknown(_FHIR_FIELDS | {"patient", "caregiver", "supply"})
    patient_id: str | None = None
    patient: PatientDetails | None = None
    subject = body.get("subject")
    if subject is not None:
        reference = subject.get("reference") if isinstance(subject, dict) else None
        if not isinstance(reference, str) or not reference.startswith("Patient/") or "patient" in body:
            fields.problem("subject.reference", "must be Patient/{patient id of this clinic}")
        else:
            patient_id = reference.removeprefix("Patient/")
    else:
        patient = _parse_patient(body.get("patient"), fields)
    concept = body.get("medicationCodeableConcept")
    medication = concept.get("text") if isinstance(concept, dict) else None
    if not isinstance(medication, str) or not medication.strip():
        fields.problem("medicationCodeableConcept.text", "is required (the medication's display name)")
        medication = None
    raw = body.get("dosageInstruction")
    instructions = _instructions(raw, "dosageInstruction", fields, when_times)
    texts = [i.get("text") for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
    dose_text = next((t for t in texts if isinstance(t, str) and t.strip()), None)
    caregiver = _caregiver(body.get("caregiver"), fields)
    supply = _supply(body.get("supply"), fields)
    fields.raise_if_any()
    assert medication is not None
    notes = tuple(_disagreements(raw, "dosageInstruction", instructions))
    request_id = body.get("id") if isinstance(body.get("id"), str) and body.get("id") else None
    return NewRegimen(
        patient_id, patient, medication.strip()[:200], dose_text, instructions, caregiver, supply, notes, request_id
    )


def _who(body: dict[str, Any], fields: _Fields) -> tuple[str | None, PatientDetails | None]:
    if "patient_id" in body:
        if "patient" in body:
            fields.problem("patient", "cannot be given with patient_id")
        return fields.text("patient_id", required=True), None
    return None, _parse_patient(body.get("patient"), fields)


def _instructions(raw: Any, where: str, fields: _Fields, when_times: Mapping[str, time]) -> list[DoseTiming]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_INSTRUCTIONS:
        fields.problem(where, f"is required: a timing, or a list of 1 to {MAX_INSTRUCTIONS} dosage instructions")
        return []
    found: list[DoseTiming] = []
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
            item.get("timing"), path if where == "timing" else f"{path}.timing", when_times, problems
        )
        fields.problems.extend(problems)
        if timing is not None and not problems:
            found.append(timing)
    return found


def _disagreements(raw: Any, where: str, instructions: list[DoseTiming]) -> list[tuple[str, str]]:
    notes: list[tuple[str, str]] = []
    if where == "timing" or not isinstance(raw, list):
        return notes
    for index, (item, timing) in enumerate(zip(raw, instructions, strict=False)):
        for name in ("text", "patientInstruction"):
            text = item.get(name) if isinstance(item, dict) else None
            if isinstance(text, str):
                notes += _disagreement(f"{where}[{index}].{name}", text, timing)
    return notes


def _disagreement(field: str, text: str, timing: DoseTiming) -> list[tuple[str, str]]:
    stated, structured = stated_doses_per_day(text), doses_per_day(timing)
    if stated is None or abs(stated - structured) < 0.01:
        return []
    return [(field, f"says {stated:g} doses a day; the structured timing ({structured:g} a day) is followed")]


def _caregiver(value: Any, parent: _Fields) -> Caregiver | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        parent.problem("caregiver", "must be an object")
        return None
    fields = _Fields(value, prefix="caregiver.")
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


def _supply(value: Any, fields: _Fields) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        fields.problem("supply", "must be a whole number of doses from 1 to 10000")
        return None
    return value


def parse_status_change(raw_body: bytes | None) -> str:
    body = decode_json_object(raw_body)
    fields = _Fields(body)
    fields.reject_unknown({"status"})
    status = fields.text("status", required=True)
    if status is not None and status not in ("paused", "active", "stopped"):
        fields.problem("status", "must be paused, active or stopped")
    fields.raise_if_any()
    assert status is not None
    return status


__all__ = ["InvalidRequest", "NewRegimen", "parse_new_regimen", "parse_status_change"]
