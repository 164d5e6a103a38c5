"""Patients and their lookup rows (`patient-keys`: a clinic's patient by normalised contact and name, claimed in
the transaction that stores the booking or regimen), and what a clinic knows about one address (`contacts`):
opt-outs, the recent SMS kept for the frequency caps, the last answer to an unrecognised reply; and the claim that
handles an inbound SMS once.

Every contacts write is an UpdateItem of its own attributes only, never a read-modify-put of the whole item: the
sender's note of an SMS can then never overwrite a STOP that arrived while the message was being sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import msgspec
from msgspec import Struct
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.core import records
from chalicelib.core.words import DeliveryStatus
from chalicelib.store import reads
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_model, to_record, to_records
from chalicelib.store.models import Contact, Delivery, Patient, PatientKey, transaction

# --- patients ------------------------------------------------------------------------------------------------


def get_patient(clinic_id: str, patient_id: str) -> records.Patient:
    """The patient record a stored appointment or regimen names. It is always there, so a missing one is not a
    domain outcome: PynamoDB's `DoesNotExist` propagates, as it always has."""
    return to_record(Patient.get(clinic_id, patient_id), records.Patient)


def patients_by_id(clinic_id: str, patient_ids: Sequence[str]) -> dict[str, records.Patient]:
    """The clinic's patients with these ids, in one BatchGetItem per 100 (a list page's patients)."""
    keys = [(clinic_id, patient_id) for patient_id in dict.fromkeys(patient_ids)]
    return {patient.patient_id: patient for patient in to_records(Patient.batch_get(keys), records.Patient)}


def find_patient(clinic_id: str, patient_id: str, consistent: bool = False) -> records.Patient | None:
    try:
        return to_record(Patient.get(clinic_id, patient_id, consistent_read=consistent), records.Patient)
    except DoesNotExist:
        return None


def patients_with_phone(phone: str) -> list[records.Patient]:
    """Every patient record (at any clinic) with this phone number, through the `by-phone` index; a record
    deleted since the index saw it is left out."""
    found = []
    for key in Patient.by_phone.query(phone):
        patient = find_patient(key.clinic_id, key.patient_id)
        if patient is not None:
            found.append(patient)
    return found


def clinic_patients(clinic_id: str) -> list[records.Patient]:
    """Every patient record of the clinic, merged ones included (a query of the clinic's partition)."""
    return to_records(Patient.query(clinic_id, consistent_read=True), records.Patient)


def mark_merged(patient: records.Patient, into: str) -> None:
    to_model(patient, Patient).update(actions=[Patient.merged_into.set(into)])


def fill_contacts(
    patient: records.Patient, phone: str | None, email: str | None, at: datetime, by: str, actor: str
) -> records.Patient:
    """Gives the patient the phone and email it lacks (a merge keeps what a merged record had), with an entry in
    the patient's change history for each, in one transaction; the patient as stored now."""
    from chalicelib.store.patient_changes import FieldChange, add_changes, change_items

    gains = [(name, value) for name, value in (("phone", phone), ("email", email)) if value is not None]
    gains = [(name, value) for name, value in gains if getattr(patient, name) is None]
    if not gains:
        return patient
    with transaction() as write:
        write.update(
            to_model(patient, Patient),
            actions=[getattr(Patient, name).set(value) for name, value in gains],
            condition=Patient.patient_id.exists(),
        )
        changes = [FieldChange(name, None, value) for name, value in gains]
        add_changes(write, change_items(patient, changes, by, actor, at, None))
    gained = dict(gains)
    return msgspec.structs.replace(
        patient, phone=gained.get("phone", patient.phone), email=gained.get("email", patient.email)
    )


# --- lookup rows: "{channel}/{address}/{name key}" -> patient id (chalicelib.patients.matching) ----------------


def lookup_key(channel: str, address: str, name_key: str) -> str:
    return f"{channel}/{address}/{name_key}"


def patients_by_lookup(clinic_id: str, lookups: Sequence[str]) -> dict[str, str]:
    """The patient id each lookup row names, read strongly consistent (or prefetched: `reads`); a lookup without a
    row is left out."""
    found: dict[str, str] = {}
    for lookup in lookups:
        try:
            found[lookup] = reads.get(PatientKey, clinic_id, lookup).patient_id
        except DoesNotExist:
            continue
    return found


def lookups_for_address(clinic_id: str, channel: str, address: str) -> list[records.PatientKey]:
    """Every lookup row of one contact, whatever the name: the patients that share it (a family's phone)."""
    return to_records(
        PatientKey.query(clinic_id, PatientKey.lookup.startswith(f"{channel}/{address}/"), consistent_read=True),
        records.PatientKey,
    )


def clinic_lookups(clinic_id: str) -> list[records.PatientKey]:
    return to_records(PatientKey.query(clinic_id, consistent_read=True), records.PatientKey)


def point_lookup(clinic_id: str, lookup: str, patient_id: str, now: datetime) -> None:
    """Writes (or moves) a lookup row to the patient: a merge, or a record stored before lookup rows were kept."""
    PatientKey(clinic_id, lookup, patient_id=patient_id, created_at=now).save()


class PatientWrite(Struct, frozen=True):
    """What a booking or a regimen writes of its patient, inside its own transaction: the patient if it is new,
    the attributes it gains if it is not (a contact it lacked, the prescriber's reference), and the lookup rows
    it claims, each put on the condition that no patient holds it yet."""

    patient: records.Patient
    new: bool
    claims: tuple[str, ...] = ()
    gains: tuple[tuple[str, str], ...] = ()  # (attribute, value) set on an existing patient
    matched: str | None = None  # phone | email: how an existing patient was found; None for a new one
    # (by, actor) of the request, when it may give an existing patient a contact: its history records it.
    changed_by: tuple[str, str] | None = None


def add_patient(write: TransactWrite, patient_write: PatientWrite, now: datetime) -> int:
    """Adds the patient's items to the transaction; how many it added (the caller tells which of its items failed
    from their positions: a failed claim means another request stored this patient first)."""
    patient = patient_write.patient
    added = 0
    if patient_write.new:
        write.save(to_model(patient, Patient), condition=Patient.patient_id.does_not_exist())
        added += 1
    elif patient_write.gains:
        write.update(
            to_model(patient, Patient),
            actions=[getattr(Patient, name).set(value) for name, value in patient_write.gains],
            condition=Patient.merged_into.does_not_exist(),
        )
        added += 1
        if patient_write.changed_by is not None:
            from chalicelib.store.patient_changes import FieldChange, add_changes, change_items

            # A gain is a contact the patient lacked, so it was absent before.
            gained = [
                FieldChange(name, None, value) for name, value in patient_write.gains if name in ("phone", "email")
            ]
            by, actor = patient_write.changed_by
            added += add_changes(write, change_items(patient, gained, by, actor, now, None))
    for lookup in patient_write.claims:
        row = PatientKey(patient.clinic_id, lookup, patient_id=patient.patient_id, created_at=now)
        write.save(row, condition=PatientKey.lookup.does_not_exist())
        added += 1
    return added


def remove_patient(write: TransactWrite, patient_write: PatientWrite) -> None:
    """Undoes `add_patient` for a new patient (its record and the rows it claimed) in a transaction."""
    if not patient_write.new:
        return
    write.delete(to_model(patient_write.patient, Patient))
    for lookup in patient_write.claims:
        write.delete(PatientKey(patient_write.patient.clinic_id, lookup))


# --- contacts: `address` is already normalised (chalicelib.patients.contacts.contact_address) ----------------


def find_contact(clinic_id: str, address: str) -> records.Contact | None:
    """The address's contact record, prefetched or read now (`reads.get`), or None."""
    try:
        return to_record(reads.get(Contact, clinic_id, address), records.Contact)
    except DoesNotExist:
        return None


def set_opt_out(clinic_id: str, channel: str, address: str, source: str, now: datetime) -> bool:
    """Records an opt-out; False (and nothing written) when the address has one already."""
    return _update_if(
        clinic_id,
        channel,
        address,
        [Contact.opted_out_at.set(now), Contact.opt_out_source.set(source)],
        condition=Contact.opted_out_at.does_not_exist(),
    )


def clear_opt_out(clinic_id: str, channel: str, address: str) -> bool:
    """Removes an opt-out; False (and nothing written) when there was none."""
    return _update_if(
        clinic_id,
        channel,
        address,
        [Contact.opted_out_at.remove(), Contact.opt_out_source.remove()],
        condition=Contact.opted_out_at.exists(),
    )


def set_recent_sends(clinic_id: str, channel: str, address: str, recent: Sequence[datetime]) -> None:
    """Replaces the list of recent SMS kept for the caps (and nothing else on the item)."""
    _update(clinic_id, channel, address, [Contact.recent_sends.set(cast(Any, list(recent)))])


RecentSendsWrite = tuple[Contact, list[Action]]


def recent_sends_write(clinic_id: str, channel: str, address: str, recent: Sequence[datetime]) -> RecentSendsWrite:
    """`set_recent_sends` as an item and its actions, for a transaction (`deliveries.record_sent_together`): the
    same attributes only, so a STOP written meanwhile is neither undone nor lost."""
    actions: list[Action] = [
        Contact.channel.set(Contact.channel | channel),
        Contact.recent_sends.set(cast(Any, list(recent))),
    ]
    return Contact(clinic_id, address), actions


def set_opt_in(clinic_id: str, channel: str, address: str, source: str, now: datetime) -> bool:
    """Records an opt-in (WhatsApp's); False (and nothing written) when the address has one already: the first
    time and source are what the clinic can show."""
    return _update_if(
        clinic_id,
        channel,
        address,
        [Contact.opted_in_at.set(now), Contact.opt_in_source.set(source)],
        condition=Contact.opted_in_at.does_not_exist(),
    )


def set_last_inbound(clinic_id: str, channel: str, address: str, now: datetime) -> None:
    """When the patient last wrote on this channel: WhatsApp's customer-service window runs 24 h from it."""
    _update(clinic_id, channel, address, [Contact.last_inbound_at.set(now)])


def set_contact_patient(clinic_id: str, channel: str, address: str, patient_id: str) -> None:
    """The patient a Messenger PSID was linked to (the latest link wins: a referral names the patient)."""
    _update(clinic_id, channel, address, [Contact.patient_id.set(patient_id)])


def set_messenger_psid(clinic_id: str, patient_id: str, psid: str) -> None:
    """Records the patient's page-scoped id on their record (only an existing record: a link names a patient)."""
    Patient(clinic_id, patient_id).update(
        actions=[Patient.messenger_psid.set(psid)], condition=Patient.patient_id.exists()
    )


def clear_messenger_psid(clinic_id: str, patient_id: str, psid: str) -> bool:
    """Removes `psid` from the patient's record, only while it is still theirs (they may have linked another since);
    False when it was not."""
    try:
        Patient(clinic_id, patient_id).update(
            actions=[Patient.messenger_psid.remove()],
            condition=Patient.patient_id.exists() & (Patient.messenger_psid == psid),
        )
    except UpdateError as e:
        if condition_failed(e):
            return False
        raise
    return True


def set_help_replied(clinic_id: str, channel: str, address: str, now: datetime) -> None:
    _update(clinic_id, channel, address, [Contact.help_replied_at.set(now)])


def _update_if(clinic_id: str, channel: str, address: str, actions: list[Action], condition: Any) -> bool:
    try:
        _update(clinic_id, channel, address, actions, condition)
    except UpdateError as e:
        if condition_failed(e):
            return False
        raise
    return True


def _update(clinic_id: str, channel: str, address: str, actions: list[Action], condition: Any = None) -> None:
    # The channel is written only when the item is new, so that any write may be the first one.
    contact = Contact(clinic_id, address)
    contact.update(actions=[Contact.channel.set(Contact.channel | channel), *actions], condition=condition)


# --- inbound SMS --------------------------------------------------------------------------------------------


def claim_inbound_sms(message_id: str, channel: str, now: datetime, retention: timedelta) -> bool:
    """Claims an inbound message id (a `deliveries` item kept for `retention`); False when it was claimed
    before (SNS delivered the same message twice)."""
    record = Delivery(
        f"inbound/{message_id}",
        "reply",
        clinic_id="-",
        channel=channel,
        status=DeliveryStatus.CLAIMED,
        lease_until=now,
        claimed_at=now,
        expires_at=now + retention,
    )
    try:
        record.save(condition=Delivery.reminder_key.does_not_exist())
    except PutError as e:
        if condition_failed(e):
            return False
        raise
    return True


def release_inbound_sms(message_id: str) -> None:
    """Gives an inbound message's claim back, so the channel's retry handles it again: what it asked could not
    be stored (the inbox never loses a message by claiming it and then failing)."""
    Delivery(f"inbound/{message_id}", "reply").delete()
