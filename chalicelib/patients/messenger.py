"""A patient's Messenger: the link between a patient and their page-scoped id (PSID) on the clinic's Facebook Page,
when and how it was made, the Messenger opt-out (a STOP on Messenger stops Messenger only) and the 24-hour
standard messaging window a patient's message (or referral, or postback) opens.

Kept on the `Contact` item keyed `messenger:<PSID>` (apart from the phone's SMS and WhatsApp records): `opted_in_at`
and `opt_in_source` say when and how the patient linked (`messenger_referral`, `messenger_postback`,
`messenger_optin`), `patient_id` whom the PSID stands for, `last_inbound_at` when the window opened; the patient's
record carries `messenger_psid`, so a send finds the PSID in the patient it already read. A link is made only by a
ref CareCue signed for that patient (`chalicelib.links.messenger_ref`); the first link's time and source are kept,
and a later ref for another patient of the same clinic moves the PSID to them (the ref is the patient's own): the
previous patient's record no longer carries it, so their messages go on their next channel, not to the new one's
Messenger.

`merge-patients` moves a link to the record it keeps (`move_link`): the kept record keeps its own PSID, else takes
the one of the oldest merged record that has one, and every PSID linked to a merged record names the kept patient
from then on. The opt-out and the window are the PSID's and go with it unchanged. What Messenger shares with
WhatsApp (the state a send reads, the window, the view of the opt-in) is `chalicelib.patients.chat_contacts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from msgspec.structs import replace

from chalicelib.core.records import Patient
from chalicelib.core.words import Channel
from chalicelib.patients import chat_contacts
from chalicelib.patients.chat_contacts import ChatState
from chalicelib.patients.contacts import contact_address, find_contact
from chalicelib.store import patients as store

if TYPE_CHECKING:
    from chalicelib.patients.views import OptInView

MessengerState = ChatState  # what a send needs to know of one PSID: `opted_in` is "linked"


def link(clinic_id: str, patient_id: str, psid: str, source: str, now: datetime) -> None:
    """Links the PSID to the patient (a signed ref said so) and opens the window: the patient just acted. A PSID
    linked to another patient before is taken off that patient's record first: the PSID's record still names them
    until the new link is written, so a function that dies in between leaves it to Meta's redelivery of the same
    referral to finish, and the PSID is never left on two patients' records."""
    before = find_contact(clinic_id, Channel.MESSENGER, psid)
    if before is not None and before.patient_id and before.patient_id != patient_id:
        store.clear_messenger_psid(clinic_id, before.patient_id, psid)
    store.set_messenger_psid(clinic_id, patient_id, psid)
    store.set_contact_patient(clinic_id, Channel.MESSENGER.value, contact_address(Channel.MESSENGER, psid), patient_id)
    chat_contacts.record_opt_in(clinic_id, Channel.MESSENGER, psid, source, now)
    chat_contacts.open_window(clinic_id, Channel.MESSENGER, psid, now)


def move_link(clinic_id: str, keep: Patient, merged: Sequence[Patient]) -> Patient:
    """A merge's Messenger: the PSIDs linked to the merged records (oldest first) name the kept patient, and the
    kept record takes the first of them when it has none of its own; the kept record as stored now. Safe to run
    again: a PSID that names the kept patient, or was linked since to someone else, is left."""
    for patient in merged:
        contact = find_contact(clinic_id, Channel.MESSENGER, patient.messenger_psid) if patient.messenger_psid else None
        if contact is not None and contact.patient_id == patient.patient_id:
            store.set_contact_patient(clinic_id, Channel.MESSENGER.value, contact.address, keep.patient_id)
    psid = keep.messenger_psid or next((p.messenger_psid for p in merged if p.messenger_psid), None)
    if psid is None or psid == keep.messenger_psid:
        return keep
    store.set_messenger_psid(clinic_id, keep.patient_id, psid)
    return replace(keep, messenger_psid=psid)


def record_inbound(clinic_id: str, psid: str, now: datetime) -> None:
    """A patient's message opens the window (it links nothing: only a signed ref names a patient)."""
    chat_contacts.open_window(clinic_id, Channel.MESSENGER, psid, now)


def linked_patient(clinic_id: str, psid: str) -> str | None:
    contact = find_contact(clinic_id, Channel.MESSENGER, psid)
    return contact.patient_id if contact is not None and contact.opted_in_at is not None else None


def messenger_state(clinic_id: str, psid: str, now: datetime) -> MessengerState:
    return chat_contacts.chat_state(clinic_id, Channel.MESSENGER, psid, now)


def link_view(clinic_id: str, psid: str | None) -> OptInView | None:
    """When and how the patient linked Messenger, for the patient's view; None when they have not."""
    return chat_contacts.opt_in_view(clinic_id, Channel.MESSENGER, psid)
