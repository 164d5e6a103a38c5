"""A patient's detail changes: every change to their phone, email, language, preferred channel or time zone is
stored with what it was and became, when, and who made it (the patient by their link, the clinic by the API, a
booking tool by its webhook), in the same transaction as the change itself (`chalicelib.store.patient_changes`),
and read back by the clinic as `GET /v1/patients/{id}/changes`, newest first, in pages.

Beside the audit trail rather than in it: the audit trail holds ids only, and says which request changed
something; this says what changed, with the values, which are patient data (shown to the clinic, never logged:
the log line names the patient id and the fields). A new phone or email's lookup row (`chalicelib.patients.
matching`) moves with it, so the clinic's next booking with the new number finds the same patient.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.core.clock import iso_utc
from chalicelib.core.errors import InvalidRequest
from chalicelib.core.observability import logger
from chalicelib.core.records import ContactProof, Patient
from chalicelib.patients.contacts import contact_address
from chalicelib.patients.matching import CONTACTS, name_key
from chalicelib.store import patient_changes as store
from chalicelib.store.patient_changes import FieldChange, LookupMove
from chalicelib.store.patients import lookup_key

if TYPE_CHECKING:
    from chalicelib.patients.views import PatientChangePage

DETAIL_FIELDS = ("phone", "email", "language", "preferred_channel", "timezone")
PATIENT_LINK = "patient_link"


def by_of(actor: str) -> str:
    """Who, in the clinic's words: the patient, the clinic (its API key, the API), or a booking tool."""
    if actor == PATIENT_LINK:
        return "patient"
    if actor.startswith("booking_tool:"):
        return "booking_tool"
    return "clinic"


def booking_actor(source: str) -> str:
    """The actor of a booking's changes: `api` for the REST API, else the booking tool that sent it."""
    return "api" if source == "api" else f"booking_tool:{source}"


def differing(patient: Patient, wanted: dict[str, str | None]) -> list[FieldChange]:
    """The changes `wanted` makes to the patient: its fields whose value differs from the stored one."""
    return [
        FieldChange(field, getattr(patient, field), value)
        for field, value in wanted.items()
        if field in DETAIL_FIELDS and getattr(patient, field) != value
    ]


def apply_changes(
    patient: Patient,
    changes: Sequence[FieldChange],
    actor: str,
    now: datetime,
    *,
    proof: str | None = None,
    used_proof: ContactProof | None = None,
) -> bool:
    """Stores the changes and their history, with the lookup rows of a new phone or email; False when
    `used_proof` was used meanwhile (nothing is then written)."""
    changes = [change for change in changes if change.old != change.new]
    if not changes:
        return True
    moves = _lookup_moves(patient, changes)
    stored = store.apply_details(
        patient, changes, by_of(actor), actor, now, proof=proof, used_proof=used_proof, lookups=moves
    )
    if stored:
        logger.info(
            "patient details changed",
            extra={"patient_id": patient.patient_id, "fields": [c.field for c in changes], "by": by_of(actor)},
        )
    return stored


def _lookup_moves(patient: Patient, changes: Sequence[FieldChange]) -> list[LookupMove]:
    key = name_key(patient.name)
    moves = []
    channels = dict(CONTACTS)
    for change in changes:
        channel = channels.get(change.field)
        if channel is None:
            continue
        claim = lookup_key(channel.value, contact_address(channel, change.new), key) if change.new else None
        drop = lookup_key(channel.value, contact_address(channel, change.old), key) if change.old else None
        if claim is not None and store.lookup_holder(patient.clinic_id, claim) is not None:
            claim = None  # another record with this name holds the contact: shares_contact_with shows it
        if drop is not None and store.lookup_holder(patient.clinic_id, drop) != patient.patient_id:
            drop = None
        moves.append(LookupMove(claim, drop))
    return moves


def change_page(clinic_id: str, patient_id: str, cursor: str | None, limit: int) -> PatientChangePage:
    before = _read_cursor(cursor, patient_id)
    found, last = store.changes_page(clinic_id, patient_id, before, limit)
    return {
        "changes": [
            {
                "at": iso_utc(change.at),
                "field": change.field,
                "old": change.old,
                "new": change.new,
                "by": change.by,
                "actor": change.actor,
                "proof": change.proof,
            }
            for change in found
        ],
        "next": base64.urlsafe_b64encode(last.encode()).decode().rstrip("=") if last else None,
    }


def _read_cursor(cursor: str | None, patient_id: str) -> str | None:
    """The change key a `next` cursor holds; one this list did not give (another patient's) is a 400."""
    if cursor is None:
        return None
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, TypeError):
        key = ""
    if not key.startswith(f"{patient_id}#"):
        raise InvalidRequest.single("next", "is not a cursor this list gave; start again without it")
    return key
