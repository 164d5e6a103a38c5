"""Merging a clinic's duplicate patients (`python -m chalicelib.admin merge-patients`): records with the same
name and a shared phone or email (the rule a booking matches by, docs/patients.md), most of them made before
bookings reused patients. Records that share a contact under different names (a family's phone) are listed and
left apart.

The oldest record of a group is kept. It takes the appointments, reminders, regimens and doses of the others, the
contacts it lacked, the stricter opt-outs (a channel any of them opted out of stays opted out) and a Messenger link
it lacked (`chalicelib.patients.messenger.move_link`); the others are marked `merged_into` (kept, so an id a clinic
system still holds resolves). WhatsApp's opt-in, opt-out and window are kept per phone number, so they go with the
phone the kept record has (its own, or the one it takes); nothing of them is moved. Every lookup row ends up naming the
kept patient, including rows of records stored before lookup rows were kept.

A plan is ids and counts only, never patient data. Applying is idempotent: merged records are out of every later
plan, and each step finds nothing left to do the second time; a run stopped half way is finished by the next.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from chalicelib.core.records import Patient
from chalicelib.core.words import Channel
from chalicelib.patients.contacts import is_opted_out, opt_out
from chalicelib.patients.matching import CONTACTS, addresses, name_key, patient_lookups
from chalicelib.patients.messenger import move_link
from chalicelib.store import patient_merge
from chalicelib.store import patients as store

MERGE_ACTOR = "admin:merge-patients"  # the clinic's admin, by the command line: who gave a kept record a contact


class Merge(Struct, frozen=True):
    keep: Patient
    merge: list[Patient]

    @property
    def merged_ids(self) -> list[str]:
        return [p.patient_id for p in self.merge]


def plan(clinic_id: str) -> dict[str, Any]:
    """What `apply` would do, in ids and counts; nothing is written."""
    patients = _active(clinic_id)
    merges = _merges(patients)
    return {
        "clinic_id": clinic_id,
        "applied": False,
        "merges": [_counted(clinic_id, merge) for merge in merges],
        "lookup_rows": len(_lookup_changes(clinic_id, patients, merges)),
        "shared_contact_only": _shared_only([p for p in patients if not _merged_away(p, merges)]),
    }


def apply(clinic_id: str, now: datetime) -> dict[str, Any]:
    """Merges every group and writes the missing lookup rows; what it did, in ids and counts."""
    patients = _active(clinic_id)
    merges = _merges(patients)
    done = []
    filled: dict[str, Patient] = {}
    for merge in merges:
        done.append(_counted(clinic_id, merge))
        _move_references(clinic_id, merge)
        kept = _keep_contacts_and_opt_outs(clinic_id, merge, now)
        filled[merge.keep.patient_id] = move_link(clinic_id, kept, merge.merge)
    # The kept records as stored now, with the contacts they gained: what the lookup rows and the report read.
    patients = [filled.get(patient.patient_id, patient) for patient in patients]
    lookups = _lookup_changes(clinic_id, patients, merges)
    for lookup, patient_id in lookups.items():
        store.point_lookup(clinic_id, lookup, patient_id, now)
    for merge in merges:  # last: a run stopped before this point plans the same merge again
        for patient in merge.merge:
            store.mark_merged(patient, merge.keep.patient_id)
    return {
        "clinic_id": clinic_id,
        "applied": True,
        "merges": done,
        "lookup_rows": len(lookups),
        "shared_contact_only": _shared_only([p for p in patients if not _merged_away(p, merges)]),
    }


def _active(clinic_id: str) -> list[Patient]:
    return [p for p in store.clinic_patients(clinic_id) if p.merged_into is None]


def _merges(patients: list[Patient]) -> list[Merge]:
    """Groups of records joined by a shared lookup (contact and name), each with its oldest record to keep."""
    parent = {p.patient_id: p.patient_id for p in patients}

    def root(patient_id: str) -> str:
        while parent[patient_id] != patient_id:
            parent[patient_id] = parent[parent[patient_id]]
            patient_id = parent[patient_id]
        return patient_id

    owner: dict[str, str] = {}
    for patient in patients:
        for lookup in patient_lookups(patient).values():
            first = owner.setdefault(lookup, patient.patient_id)
            parent[root(patient.patient_id)] = root(first)
    groups: dict[str, list[Patient]] = {}
    for patient in patients:
        groups.setdefault(root(patient.patient_id), []).append(patient)
    merges = []
    for members in groups.values():
        if len(members) > 1:
            ordered = sorted(members, key=lambda p: (p.created_at, p.patient_id))
            merges.append(Merge(ordered[0], ordered[1:]))
    return sorted(merges, key=lambda m: m.keep.patient_id)


def _counted(clinic_id: str, merge: Merge) -> dict[str, Any]:
    merged = merge.merged_ids
    appointments = patient_merge.appointments_of(clinic_id, merged)
    regimens = patient_merge.regimens_of(clinic_id, merged)
    return {
        "keep": merge.keep.patient_id,
        "merge": merged,
        "appointments": len(appointments),
        "reminders": len(patient_merge.reminders_naming([a.appointment_id for a in appointments], merged)),
        "regimens": len(regimens),
        "doses": len(patient_merge.doses_naming([r.regimen_id for r in regimens], merged)),
    }


def _move_references(clinic_id: str, merge: Merge) -> None:
    merged, keep = merge.merged_ids, merge.keep.patient_id
    group = [keep, *merged]
    # Reminders and doses are found through every appointment and regimen of the group: a run stopped after
    # moving an appointment still finds the reminders that name the merged record.
    appointments = patient_merge.appointments_of(clinic_id, group)
    regimens = patient_merge.regimens_of(clinic_id, group)
    patient_merge.repoint(patient_merge.reminders_naming([a.appointment_id for a in appointments], merged), keep)
    patient_merge.repoint(patient_merge.doses_naming([r.regimen_id for r in regimens], merged), keep)
    patient_merge.repoint([a for a in appointments if a.patient_id != keep], keep)
    patient_merge.repoint([r for r in regimens if r.patient_id != keep], keep)


def _keep_contacts_and_opt_outs(clinic_id: str, merge: Merge, now: datetime) -> Patient:
    keep = merge.keep
    phone = keep.phone or next((p.phone for p in merge.merge if p.phone), None)
    email = keep.email or next((p.email for p in merge.merge if p.email), None)
    filled = store.fill_contacts(keep, phone, email, now, "clinic", MERGE_ACTOR)  # in its change history
    for label, channel in CONTACTS:
        kept_address = phone if label == "phone" else email
        if kept_address is None or is_opted_out(clinic_id, channel, kept_address):
            continue
        if any(_opted_out(clinic_id, channel, patient) for patient in merge.merge):
            opt_out(clinic_id, channel, kept_address, "merge", now)
    return filled


def _opted_out(clinic_id: str, channel: Channel, patient: Patient) -> bool:
    address = patient.phone if channel is Channel.SMS else patient.email
    return address is not None and is_opted_out(clinic_id, channel, address)


def _lookup_changes(clinic_id: str, patients: list[Patient], merges: list[Merge]) -> dict[str, str]:
    """The lookup rows to write or move: each contact-and-name of a record, to the patient it belongs to now."""
    kept = {p.patient_id: m.keep for m in merges for p in m.merge}
    stored = {row.lookup: row.patient_id for row in store.clinic_lookups(clinic_id)}
    changes: dict[str, str] = {}
    for patient in patients:
        owner = kept.get(patient.patient_id, patient)
        for lookup in patient_lookups(patient).values():
            current = stored.get(lookup)
            if current != owner.patient_id and (current is None or current in kept):
                changes[lookup] = owner.patient_id
    # The kept record's lookups for the contacts it gains from the others.
    for merge in merges:
        key = name_key(merge.keep.name)
        phone = merge.keep.phone or next((p.phone for p in merge.merge if p.phone), None)
        email = merge.keep.email or next((p.email for p in merge.merge if p.email), None)
        for _, channel, address in addresses(phone, email):
            lookup = store.lookup_key(channel.value, address, key)
            if stored.get(lookup) != merge.keep.patient_id:
                changes[lookup] = merge.keep.patient_id
    return changes


def _shared_only(patients: list[Patient]) -> list[dict[str, Any]]:
    """Records that share a contact under different names (left apart): the ids, and which contact."""
    by_address: dict[tuple[str, str], set[str]] = {}
    names: dict[str, str] = {p.patient_id: name_key(p.name) for p in patients}
    for patient in patients:
        for label, _, address in addresses(patient.phone, patient.email):
            by_address.setdefault((label, address), set()).add(patient.patient_id)
    shared: dict[tuple[str, ...], list[str]] = {}
    for (label, _), ids in by_address.items():
        if len({names[i] for i in ids}) > 1:
            shared.setdefault(tuple(sorted(ids)), []).append(label)
    return [{"patients": list(ids), "shared": sorted(labels)} for ids, labels in sorted(shared.items())]


def _merged_away(patient: Patient, merges: list[Merge]) -> bool:
    return any(patient in merge.merge for merge in merges)
