"""A FHIR R4 MedicationRequest taken as it is, as a `NewRegimen`. Owns which of the resource's elements bear on
the reminders and how; every other standard element (identifier, intent, category, encounter, requester,
substitution, note, text, ...) is ignored, never an error. The timing of each dosage instruction is read by
`chalicelib.regimens.timing_read`. Every problem is a 400 naming its path; every choice below is a note in the
response where it applies.

- `status`: active arms the reminders; on-hold creates the regimen paused; stopped, completed, cancelled and
  entered-in-error store it stopped with nothing armed (so a re-post of the same `id` finds it); draft and unknown
  are refused: they are not an order to remind of. Absent (FHIR requires it, CareCue does not): active.
- `doNotPerform: true` and a `modifierExtension` are refused: they change what the order means.
- `subject`: `Patient/{id}` with a CareCue patient id is that patient. Any other reference is the prescribing
  system's own id for the patient: it is kept as the patient's `external_ref`, so a later request with the same
  reference finds the same patient; the first time, the body must carry `patient` (CareCue's contact details),
  else a 400 at subject.reference (resolved in the service, which reads the store).
- The medication's display name: medicationCodeableConcept.text, else a coding's display; for a
  medicationReference its display, else the contained Medication's code (text, then a coding's display), else
  its ingredients' names. None of these: 400. The name is health data: never logged.
- A dosage instruction taken as needed (asNeededBoolean true, asNeededCodeableConcept) arms nothing, nor does one
  without timing or whose timing gives no dose time; each says so. Instructions with the same `sequence` run
  together; a later sequence follows the one before (a taper).
- Supply for refill reminders (unless the body gives CareCue's `supply`): dispenseRequest.quantity when it
  counts units (tablets, capsules, ...), divided by the first instruction's doseQuantity in the same unit;
  else expectedSupplyDuration times the structured doses a day. A quantity in g or mL is not a dose count.
- `id` is the external id: posting the same resource again creates the regimen once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from chalicelib.core.errors import FieldProblem
from chalicelib.core.fields import Fields
from chalicelib.core.words import RegimenStatus
from chalicelib.patients.details import PatientDetails, parse_patient
from chalicelib.regimens.request import (
    MAX_INSTRUCTIONS,
    NewRegimen,
    caregiver_of,
    disagreements,
    supply_of,
)
from chalicelib.regimens.timing import DoseTiming, doses_per_day
from chalicelib.regimens.timing_read import Notes, collect_timing, duration_of

_STATUS = {
    "active": RegimenStatus.ACTIVE,
    "on-hold": RegimenStatus.PAUSED,
    "stopped": RegimenStatus.STOPPED,
    "completed": RegimenStatus.STOPPED,
    "cancelled": RegimenStatus.STOPPED,
    "entered-in-error": RegimenStatus.STOPPED,
}
# dispenseRequest.quantity units (UCUM code or unit text, lower case) that count doses rather than measure them.
_COUNT_UNITS = frozenset(
    {
        "tab",
        "tabs",
        "tablet",
        "tablets",
        "{tablet}",
        "{tbl}",
        "cap",
        "caps",
        "capsule",
        "capsules",
        "{capsule}",
        "supp",
        "suppository",
        "suppositories",
        "patch",
        "patches",
        "{patch}",
        "dose",
        "doses",
        "{dose}",
    }
)
MAX_NAME = 200

Line = tuple[str, int | None, Any, DoseTiming]  # path, sequence, the raw Dosage, its timing


def parse_medication_request(
    body: dict[str, Any], fields: Fields, when_times: Mapping[str, time], min_interval: timedelta
) -> NewRegimen:
    notes: Notes = []
    if "modifierExtension" in body:
        fields.problem("modifierExtension", "is not understood by CareCue and may change what the order means")
    if body.get("doNotPerform") is True:
        fields.problem("doNotPerform", "orders the medication not to be given: there is nothing to remind of")
    status = _status(body.get("status"), fields, notes)
    patient_id, external_ref, patient = _subject(body, fields)
    medication = _medication_name(body, fields)
    lines = _lines(body.get("dosageInstruction"), fields, when_times, min_interval, notes)
    raw = body.get("dosageInstruction")
    texts = [i.get("text") for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
    dose_text = next((t.strip()[:MAX_NAME] for t in texts if isinstance(t, str) and t.strip()), None)
    caregiver = caregiver_of(body.get("caregiver"), fields)
    supply = supply_of(body.get("supply"), fields)
    if supply is None and "supply" not in body:
        supply = _dispensed(body.get("dispenseRequest"), lines, notes)
    fields.raise_if_any()
    assert medication is not None
    notes += disagreements([(path, item, timing) for path, _, item, timing in lines])
    request_id = body.get("id") if isinstance(body.get("id"), str) and body.get("id") else None
    return NewRegimen(
        patient_id,
        patient,
        medication,
        dose_text,
        [timing for *_, timing in lines],
        caregiver,
        supply,
        tuple(notes),
        request_id,
        status=status,
        external_ref=external_ref,
        paths=tuple(path for path, *_ in lines),
        sequences=tuple(sequence for _, sequence, *_ in lines),
    )


def _status(value: Any, fields: Fields, notes: Notes) -> RegimenStatus:
    if value is None:
        return RegimenStatus.ACTIVE
    if not isinstance(value, str):
        fields.problem("status", f"must be one of {', '.join(_STATUS)}")
        return RegimenStatus.ACTIVE
    if value in ("draft", "unknown"):
        fields.problem("status", f"is {value}: only an active or on-hold order can be reminded of")
        return RegimenStatus.ACTIVE
    if value not in _STATUS:
        fields.problem("status", f"must be one of {', '.join(_STATUS)}")
        return RegimenStatus.ACTIVE
    if value == "on-hold":
        notes.append(("status", "on-hold: the regimen is created paused; resume it to arm its reminders"))
    elif _STATUS[value] == RegimenStatus.STOPPED:
        notes.append(("status", f"{value}: the regimen is stored stopped and no reminder is armed"))
    return _STATUS[value]


def _subject(body: dict[str, Any], fields: Fields) -> tuple[str | None, str | None, PatientDetails | None]:
    """(CareCue patient id to try, the prescribing system's reference, contact details given)."""
    subject = body.get("subject")
    details = parse_patient(body.get("patient"), fields) if "patient" in body or subject is None else None
    if subject is None:
        return None, None, details
    if not isinstance(subject, dict):
        fields.problem("subject", "must be a FHIR Reference to the Patient")
        return None, None, details
    reference = subject.get("reference")
    if reference is None and isinstance(subject.get("identifier"), dict):
        identifier = subject["identifier"]
        value, system = identifier.get("value"), identifier.get("system")
        if isinstance(value, str) and value.strip():
            return None, f"{system or ''}|{value.strip()}"[:200], details
    if not isinstance(reference, str) or not reference.strip():
        fields.problem("subject.reference", "is required: Patient/{id}")
        return None, None, details
    reference = reference.strip()[:200]
    if "/" in reference and reference.rsplit("/", 2)[-2] != "Patient":
        fields.problem("subject.reference", "must refer to a Patient (Patient/{id})")
        return None, None, details
    # Only a relative Patient/{id} can be CareCue's own id; an absolute URL or urn is the sender's.
    patient_id = reference.removeprefix("Patient/") if reference.startswith("Patient/") else None
    return patient_id, reference, details


def _medication_name(body: dict[str, Any], fields: Fields) -> str | None:
    concept = body.get("medicationCodeableConcept")
    reference = body.get("medicationReference")
    if concept is not None:
        name, where = _concept_name(concept), "medicationCodeableConcept"
    elif reference is not None:
        name, where = _referenced_name(reference, body.get("contained")), "medicationReference"
    else:
        fields.problem("medicationCodeableConcept", "or medicationReference is required")
        return None
    if name is None:
        fields.problem(where, "gives no display name (text, a coding's display, or a contained Medication's code)")
    return name


def _concept_name(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    names = [concept.get("text")]
    codings = concept.get("coding")
    if isinstance(codings, list):
        names += [c.get("display") for c in codings if isinstance(c, dict)]
    return next((n.strip()[:MAX_NAME] for n in names if isinstance(n, str) and n.strip()), None)


def _referenced_name(reference: Any, contained: Any) -> str | None:
    if not isinstance(reference, dict):
        return None
    display = reference.get("display")
    if isinstance(display, str) and display.strip():
        return display.strip()[:MAX_NAME]
    target = reference.get("reference")
    if not isinstance(target, str) or not target.startswith("#") or not isinstance(contained, list):
        return None
    medication = next(
        (
            r
            for r in contained
            if isinstance(r, dict) and r.get("resourceType") == "Medication" and r.get("id") == target[1:]
        ),
        None,
    )
    if medication is None:
        return None
    name = _concept_name(medication.get("code"))
    if name is not None:
        return name
    ingredients = medication.get("ingredient")
    parts = (
        [_concept_name(i.get("itemCodeableConcept")) for i in ingredients if isinstance(i, dict)]
        if isinstance(ingredients, list)
        else []
    )
    named = [p for p in parts if p is not None]
    return " + ".join(named)[:MAX_NAME] if named else None


def _lines(
    raw: Any, fields: Fields, when_times: Mapping[str, time], min_interval: timedelta, notes: Notes
) -> list[Line]:
    if raw is None or raw == []:
        notes.append(("dosageInstruction", "is not given: no reminder is armed"))
        return []
    if not isinstance(raw, list) or len(raw) > MAX_INSTRUCTIONS:
        fields.problem("dosageInstruction", f"must be a list of 1 to {MAX_INSTRUCTIONS} dosage instructions")
        return []
    lines: list[Line] = []
    for index, item in enumerate(raw):
        path = f"dosageInstruction[{index}]"
        if not isinstance(item, dict):
            fields.problem(path, "must be a FHIR Dosage object")
            continue
        if "modifierExtension" in item:
            fields.problem(f"{path}.modifierExtension", "is not understood by CareCue and may change the instruction")
            continue
        sequence = item.get("sequence")
        if sequence is not None and (isinstance(sequence, bool) or not isinstance(sequence, int)):
            fields.problem(f"{path}.sequence", "must be a whole number")
            continue
        as_needed = "asNeededCodeableConcept" if "asNeededCodeableConcept" in item else "asNeededBoolean"
        if item.get("asNeededBoolean") is True or as_needed == "asNeededCodeableConcept":
            notes.append((f"{path}.{as_needed}", "taken as needed (PRN): no reminder is armed for this instruction"))
            continue
        if item.get("timing") is None:
            notes.append((path, "has no timing: no reminder is armed for this instruction"))
            continue
        problems: list[FieldProblem] = []
        timing = collect_timing(
            item["timing"], f"{path}.timing", when_times, problems, notes=notes, min_interval=min_interval
        )
        fields.problems.extend(problems)
        if timing is not None and not problems:
            lines.append((path, sequence, item, timing))
    return lines


def _dispensed(dispense: Any, lines: list[Line], notes: Notes) -> int | None:
    """Doses on hand from the dispense request (see the module docstring); None when it does not say."""
    if not isinstance(dispense, dict) or not lines:
        return None
    quantity = dispense.get("quantity")
    raw_value = quantity.get("value") if isinstance(quantity, dict) else None
    value = 0.0
    if isinstance(raw_value, int | float) and not isinstance(raw_value, bool) and math.isfinite(raw_value):
        value = float(raw_value)
    unit = _unit(quantity)
    if value > 0 and unit is not None and unit in _COUNT_UNITS:
        per_dose = _dose_quantity(lines[0][2], unit)
        supply = math.floor(value / per_dose)
        source = "dispenseRequest.quantity"
    else:
        length = duration_of(dispense.get("expectedSupplyDuration"))
        per_day = sum(doses_per_day(timing) for *_, timing in lines)
        if length is None or per_day <= 0:
            return None
        supply = round(length / timedelta(days=1) * per_day)
        source = "dispenseRequest.expectedSupplyDuration"
    if not 1 <= supply <= 10_000:
        return None
    notes.append((source, f"{supply} doses on hand, for the refill reminder"))
    return supply


def _unit(quantity: Any) -> str | None:
    if not isinstance(quantity, dict):
        return None
    for name in ("code", "unit"):
        value = quantity.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return None


def _dose_quantity(dosage: Any, unit: str) -> float:
    """How many of `unit` one dose takes, from the Dosage's first doseQuantity in that unit; else 1."""
    rates = dosage.get("doseAndRate") if isinstance(dosage, dict) else None
    for rate in rates if isinstance(rates, list) else []:
        dose = rate.get("doseQuantity") if isinstance(rate, dict) else None
        value = dose.get("value") if isinstance(dose, dict) else None
        if _unit(dose) == unit and isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return 1.0
