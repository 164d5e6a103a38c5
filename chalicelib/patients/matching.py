"""One patient per person per clinic: which stored patient a booking, a booking tool's event or a regimen is for,
and which other patients share a contact with one (docs/patients.md holds the rule and why).

A patient is found by a lookup row of one of the request's contacts (phone in E.164, email in lower case) *and*
its name (case, Unicode form and spacing aside): the same phone and the same name are the same person, the phone
tried before the email. It is reused only if nothing in the request contradicts it (another phone or email than
the one stored, another prescriber's reference); otherwise, or when no row matches, the request gets a new patient.
A new patient that shares a contact with another (a family's phone, one record's email on another's phone) is
never merged silently: `shares_contact_with` lists it for the admin, and `merge-patients` merges only records
with the same name.

A reused patient keeps its name, language, time zone and channel preference (a change is a PUT
/v1/patients/{id}); a contact it lacked is added to it. Opt-outs are kept per address (`contacts`), so a STOP
holds for every record with that phone.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from msgspec.structs import replace

from chalicelib.core.records import Patient
from chalicelib.core.words import Channel
from chalicelib.patients.contacts import contact_address
from chalicelib.patients.details import PatientDetails
from chalicelib.patients.records import new_patient
from chalicelib.store import patients as store
from chalicelib.store.patients import PatientWrite

# How the API names a contact, and the channel its lookup rows and opt-outs are kept under.
CONTACTS = (("phone", Channel.SMS), ("email", Channel.EMAIL))


def name_key(name: str) -> str:
    """A name as matching compares it: "  PAT  Example" and "pat example" are one name; "Pat" and "Pat E." are not."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def addresses(phone: str | None, email: str | None) -> list[tuple[str, Channel, str]]:
    """(label, channel, normalised address) of each contact given."""
    given = {"phone": phone, "email": email}
    return [
        (label, channel, contact_address(channel, value))
        for label, channel in CONTACTS
        if (value := given[label]) is not None
    ]


def patient_lookups(patient: Patient) -> dict[str, str]:
    """The lookup row of each of the patient's contacts, by label."""
    key = name_key(patient.name)
    return {
        label: store.lookup_key(channel.value, address, key)
        for label, channel, address in addresses(patient.phone, patient.email)
    }


def match_patient(
    clinic_id: str, details: PatientDetails, now: datetime, external_ref: str | None = None
) -> PatientWrite:
    """The patient to store the request with: an existing one found by a contact and the name, or a new one; with
    the lookup rows to claim for it in the request's transaction. Reads only: nothing is written here."""
    key = name_key(details.name)
    lookups = {
        label: store.lookup_key(channel.value, address, key)
        for label, channel, address in addresses(details.phone, details.email)
    }
    found = store.patients_by_lookup(clinic_id, list(lookups.values()))
    unclaimed = tuple(lookup for lookup in lookups.values() if lookup not in found)
    for label, lookup in lookups.items():
        if lookup not in found:
            continue
        patient = _current(clinic_id, found[lookup])
        if patient is None:
            continue
        gains = _gains(patient, details, external_ref)
        if gains is None:
            continue  # the same name and one contact, but another phone, email or prescriber reference
        # What the request's messages go to; stored by the transaction.
        gained: dict[str, Any] = dict(gains)
        patient = replace(patient, **gained)
        return PatientWrite(patient, new=False, claims=unclaimed, gains=gains, matched=label)
    patient = replace(new_patient(clinic_id, details, now), external_ref=external_ref)
    return PatientWrite(patient, new=True, claims=unclaimed)


def shares_contact_with(patient: Patient) -> list[dict[str, Any]]:
    """The clinic's other patients with one of this patient's contacts: `same_name` ones are possible duplicates
    (`merge-patients` merges them), the others share the contact (a family's phone) and stay apart."""
    own = name_key(patient.name)
    others: dict[str, dict[str, Any]] = {}
    for label, channel, address in addresses(patient.phone, patient.email):
        prefix = store.lookup_key(channel.value, address, "")
        for row in store.lookups_for_address(patient.clinic_id, channel.value, address):
            if row.patient_id == patient.patient_id:
                continue
            entry = others.setdefault(row.patient_id, {"id": row.patient_id, "shared": [], "same_name": False})
            if label not in entry["shared"]:
                entry["shared"].append(label)
            entry["same_name"] = entry["same_name"] or row.lookup[len(prefix) :] == own
    return sorted(others.values(), key=lambda entry: str(entry["id"]))


def _current(clinic_id: str, patient_id: str) -> Patient | None:
    """The patient a lookup row names, or the one it was merged into."""
    patient = store.find_patient(clinic_id, patient_id, consistent=True)
    if patient is not None and patient.merged_into is not None:
        patient = store.find_patient(clinic_id, patient.merged_into, consistent=True)
    return patient


def _gains(patient: Patient, details: PatientDetails, external_ref: str | None) -> tuple[tuple[str, str], ...] | None:
    """What the stored patient gains from the request (the contacts it lacks), or None if the request contradicts
    it."""
    gains: list[tuple[str, str]] = []
    for label, channel, address in addresses(details.phone, details.email):
        stored = getattr(patient, label)
        if stored is None:
            gains.append((label, getattr(details, label)))
        elif contact_address(channel, stored) != address:
            return None
    if external_ref is not None:
        if patient.external_ref is None:
            gains.append(("external_ref", external_ref))
        elif patient.external_ref != external_ref:
            return None
    return tuple(gains)
