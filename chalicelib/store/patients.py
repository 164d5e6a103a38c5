"""Patients, and what a clinic knows about one address (`contacts`): opt-outs, the recent SMS kept for the
frequency caps, the last answer to an unrecognised reply; and the claim that handles an inbound SMS once.

Every contacts write is an UpdateItem of its own attributes only, never a read-modify-put of the whole item: the
sender's note of an SMS can then never overwrite a STOP that arrived while the message was being sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.store import reads
from chalicelib.store.conditions import condition_failed
from chalicelib.store.models import Contact, Delivery, Patient

# --- patients ------------------------------------------------------------------------------------------------


def get_patient(clinic_id: str, patient_id: str) -> Patient:
    """The patient record a stored appointment or regimen names. It is always there, so a missing one is not a
    domain outcome: PynamoDB's `DoesNotExist` propagates, as it always has."""
    return Patient.get(clinic_id, patient_id)


def find_patient(clinic_id: str, patient_id: str, consistent: bool = False) -> Patient | None:
    try:
        return Patient.get(clinic_id, patient_id, consistent_read=consistent)
    except DoesNotExist:
        return None


def patients_with_phone(phone: str) -> list[Patient]:
    """Every patient record (at any clinic) with this phone number, through the `by-phone` index; a record
    deleted since the index saw it is left out."""
    found = []
    for key in Patient.by_phone.query(phone):
        patient = find_patient(key.clinic_id, key.patient_id)
        if patient is not None:
            found.append(patient)
    return found


def set_preferences(patient: Patient, preferred_channel: str | None, timezone: str | None, language: str) -> None:
    """Sets the patient's preferences; a None channel or zone removes it (the clinic's defaults apply)."""
    patient.update(
        actions=[
            Patient.preferred_channel.set(preferred_channel)
            if preferred_channel is not None
            else Patient.preferred_channel.remove(),
            Patient.timezone.set(timezone) if timezone is not None else Patient.timezone.remove(),
            Patient.language.set(language),
        ]
    )


# --- contacts: `address` is already normalised (chalicelib.patients.contacts.contact_address) ----------------


def find_contact(clinic_id: str, address: str) -> Contact | None:
    """The address's contact record, prefetched or read now (`reads.get`), or None."""
    try:
        return reads.get(Contact, clinic_id, address)
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
        status="claimed",
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
