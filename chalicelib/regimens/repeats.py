"""What a repeat of a regimen's `external_id` is compared on: a digest of each part of the request as it was
sent (instructions before their start is filled in with "now", so a true repeat a day later still matches), kept
on the regimen so that no copy of the request is. A repeat whose digests all match is the same regimen (200,
nothing changed); one that differs is a 409 naming the request fields that differ, as bookings do.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from msgspec.structs import asdict

from chalicelib.patients.matching import addresses, name_key
from chalicelib.regimens.request import NewRegimen
from chalicelib.regimens.timing import timing_json

# The part of the request each digest covers, as CareCue's own JSON and a FHIR MedicationRequest name it.
_OWN_NAMES = {"patient": "patient", "medication": "medication", "dose": "dose", "instructions": "instructions"}
_FHIR_NAMES = {
    "patient": "subject",
    "medication": "medication[x]",
    "dose": "dosageInstruction",
    "instructions": "dosageInstruction",
}


def content_digest(request: NewRegimen) -> str:
    """JSON {part: SHA-256 of its content}, for `Regimen.content_digest`."""
    return json.dumps({part: _digest(value) for part, value in _parts(request).items()}, sort_keys=True)


def differing_fields(stored_digest: str | None, request: NewRegimen) -> list[str]:
    """The request's fields that differ from the regimen stored under its `external_id`, in the request's own
    names; none for a true repeat, or for a regimen stored before digests were kept (nothing to compare)."""
    if stored_digest is None:
        return []
    stored = json.loads(stored_digest)
    names = _FHIR_NAMES if _is_fhir(request) else {**_OWN_NAMES, **_own_names(request)}
    differing: list[str] = []
    for part, value in _parts(request).items():
        if stored.get(part) != _digest(value):
            name = names.get(part, part)
            if name not in differing:
                differing.append(name)
    return differing


def _parts(request: NewRegimen) -> dict[str, Any]:
    details = request.patient
    patient: Any = (
        request.patient_id
        if request.patient_id is not None
        else {
            "external_ref": request.external_ref,
            "name": None if details is None else name_key(details.name),
            "contacts": [] if details is None else addresses(details.phone, details.email),
        }
    )
    return {
        "patient": patient,
        "medication": request.medication,
        "dose": request.dose_text,
        "instructions": [
            {**timing_json(timing), "sequence": request.sequences[i] if i < len(request.sequences) else None}
            for i, timing in enumerate(request.instructions)
        ],
        "caregiver": None if request.caregiver is None else asdict(request.caregiver),
        "supply": request.supply,
        "status": request.status.value,
    }


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _is_fhir(request: NewRegimen) -> bool:
    return any(path.startswith("dosageInstruction") for path in request.paths)


def _own_names(request: NewRegimen) -> dict[str, str]:
    names = {"instructions": "timing" if request.paths[:1] == ("timing",) else "instructions"}
    if request.patient_id is not None:
        names["patient"] = "patient_id"
    return names
