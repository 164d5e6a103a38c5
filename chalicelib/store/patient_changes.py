"""A patient's detail changes and the one-time codes that prove a new phone or email, in DynamoDB.

`patient-changes`: one item per changed field, per clinic, keyed by the patient and the time, so a patient's
history is one query (newest first). A change is written in the same transaction as the patient's new details
(`apply_details`), or as the booking that gave the patient a contact (`add_changes`, from `add_patient`), so the
history cannot miss a change that was stored.

`contact-proofs`: per patient and field (phone or email), the new address waiting for its code, the code's HMAC,
its expiry, the tries made and the recent sends (`chalicelib.links.contact_codes`). The proof is deleted in the
transaction that applies it, on the condition that it still holds the same code, so a code is used once.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from datetime import datetime

from msgspec import Struct
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.core import records
from chalicelib.core.clock import iso_utc
from chalicelib.store.conditions import condition_failed, failed_items
from chalicelib.store.convert import to_model, to_record, to_records
from chalicelib.store.models import ContactProof, Patient, PatientChange, PatientKey, transaction

# Changes in one second keep their order within a process; across processes the time orders them and the random
# part keeps two from colliding (as the audit trail's entries do).
_SEQUENCE = itertools.count()


class FieldChange(Struct, frozen=True):
    """One detail as it was and as it becomes (None: absent)."""

    field: str
    old: str | None
    new: str | None


def change_key(patient_id: str, at: datetime) -> str:
    return f"{patient_id}#{iso_utc(at)}#{next(_SEQUENCE):010d}{secrets.token_hex(3)}"


def change_items(
    patient: records.Patient, changes: Sequence[FieldChange], by: str, actor: str, at: datetime, proof: str | None
) -> list[PatientChange]:
    return [
        PatientChange(
            patient.clinic_id,
            change_key(patient.patient_id, at),
            patient_id=patient.patient_id,
            field=change.field,
            old=change.old,
            new=change.new,
            by=by,
            actor=actor,
            proof=proof,
            at=at,
        )
        for change in changes
    ]


def add_changes(write: TransactWrite, items: Sequence[PatientChange]) -> int:
    """Adds the change items to a transaction (they have no condition); how many."""
    for item in items:
        write.save(item)
    return len(items)


class LookupMove(Struct, frozen=True):
    """A lookup row to claim for the patient's new contact, and the old contact's row to drop (if it is theirs)."""

    claim: str | None
    drop: str | None


def apply_details(
    patient: records.Patient,
    changes: Sequence[FieldChange],
    by: str,
    actor: str,
    at: datetime,
    *,
    proof: str | None = None,
    used_proof: records.ContactProof | None = None,
    lookups: Sequence[LookupMove] = (),
) -> bool:
    """Stores the patient's new details with their change items, all or nothing; with `used_proof`, the proof is
    deleted on the condition that it still holds the code checked, and False (nothing written) when it does not
    (the same code was used by a request a moment before)."""
    actions: list[Action] = []
    for change in changes:
        attribute = getattr(Patient, change.field)
        actions.append(attribute.set(change.new) if change.new is not None else attribute.remove())
    try:
        with transaction() as write:
            if used_proof is not None:
                write.delete(
                    ContactProof(used_proof.clinic_id, used_proof.proof_key),
                    condition=ContactProof.code_hash == (used_proof.code_hash or ""),
                )
            if actions:
                write.update(
                    Patient(patient.clinic_id, patient.patient_id),
                    actions=actions,
                    condition=Patient.patient_id.exists(),
                )
            add_changes(write, change_items(patient, changes, by, actor, at, proof))
            for move in lookups:
                if move.claim is not None:
                    row = PatientKey(patient.clinic_id, move.claim, patient_id=patient.patient_id, created_at=at)
                    write.save(row, condition=PatientKey.lookup.does_not_exist())
                if move.drop is not None:
                    write.delete(
                        PatientKey(patient.clinic_id, move.drop),
                        condition=PatientKey.patient_id == patient.patient_id,
                    )
    except TransactWriteError as e:
        if used_proof is not None and 0 in failed_items(e):
            return False
        raise
    return True


def changes_page(
    clinic_id: str, patient_id: str, before: str | None, limit: int
) -> tuple[list[records.PatientChange], str | None]:
    """At most `limit` of the patient's changes, newest first, older than the change keyed `before` (None: from
    the newest); and the key to pass as `before` for the next page, None after the last."""
    start = {"clinic_id": {"S": clinic_id}, "change_key": {"S": before}} if before else None
    found = PatientChange.query(
        clinic_id,
        PatientChange.change_key.startswith(f"{patient_id}#"),
        scan_index_forward=False,
        limit=limit + 1,
        last_evaluated_key=start,
        consistent_read=True,
    )
    page = to_records(found, records.PatientChange)
    if len(page) > limit:
        return page[:limit], page[limit - 1].change_key
    return page, None


# --- contact proofs ----------------------------------------------------------------------------------------------


def proof_key(patient_id: str, field: str) -> str:
    return f"{patient_id}/{field}"


def find_proof(clinic_id: str, patient_id: str, field: str) -> records.ContactProof | None:
    try:
        found = ContactProof.get(clinic_id, proof_key(patient_id, field), consistent_read=True)
    except DoesNotExist:
        return None
    return to_record(found, records.ContactProof)


def save_proof(proof: records.ContactProof) -> None:
    """Stores a new code for the field, replacing any earlier one (its tries start again)."""
    to_model(proof, ContactProof).save()


def count_try(proof: records.ContactProof, max_tries: int) -> bool:
    """Counts one try of the proof's code; False (nothing counted) when it has had `max_tries` already or holds
    another code by now. Counted before the code is compared, so parallel guesses cannot exceed the bound."""
    try:
        ContactProof(proof.clinic_id, proof.proof_key).update(
            actions=[ContactProof.tries.add(1)],
            condition=(ContactProof.tries < max_tries) & (ContactProof.code_hash == (proof.code_hash or "")),
        )
    except UpdateError as e:
        if condition_failed(e):
            return False
        raise
    return True


def lookup_holder(clinic_id: str, lookup: str) -> str | None:
    """The patient id a lookup row names, or None when there is no such row."""
    try:
        return str(PatientKey.get(clinic_id, lookup, consistent_read=True).patient_id)
    except DoesNotExist:
        return None
