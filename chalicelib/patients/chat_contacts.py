"""What WhatsApp and Messenger share of a patient's contact on a chat channel: the opt-in (on WhatsApp the patient's
consent, on Messenger the link of their page-scoped id, which is its opt-in), the opt-out a STOP there records,
and Meta's 24-hour window that a patient's own message opens (WhatsApp's customer-service window, Messenger's
standard messaging window: the same 24 hours).

All of it is kept on the chat address's `Contact` item (`whatsapp:+E.164`, `messenger:<PSID>`:
`chalicelib.patients.contacts.contact_address`), apart from the phone's SMS record, so a STOP on one channel
leaves the others. What differs per channel (how an opt-in is given, how a PSID names its patient) stays in
`chalicelib.patients.whatsapp` and `chalicelib.patients.messenger`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from msgspec import Struct

from chalicelib.core.records import Contact
from chalicelib.core.words import Channel
from chalicelib.patients.contacts import contact_address, find_contact
from chalicelib.store import patients as store

if TYPE_CHECKING:
    from chalicelib.patients.views import OptInView

WINDOW = timedelta(hours=24)  # Meta's window, on WhatsApp and on Messenger alike


class ChatState(Struct, frozen=True):
    """What a send needs to know of one chat address."""

    opted_in: bool  # WhatsApp: the patient consented; Messenger: the PSID is linked to a patient
    opted_out: bool
    window_open: bool

    @property
    def may_send(self) -> bool:
        return self.opted_in and not self.opted_out


def state_of(contact: Contact | None, now: datetime) -> ChatState:
    if contact is None:
        return ChatState(False, False, False)
    window = contact.last_inbound_at is not None and now - contact.last_inbound_at < WINDOW
    return ChatState(contact.opted_in_at is not None, contact.opted_out_at is not None, window)


def chat_state(clinic_id: str, channel: Channel, address: str, now: datetime) -> ChatState:
    return state_of(find_contact(clinic_id, channel, address), now)


def record_opt_in(clinic_id: str, channel: Channel, address: str, source: str, now: datetime) -> bool:
    """True when the opt-in is new; a repeat keeps the first time and source, which the clinic is shown."""
    return store.set_opt_in(clinic_id, channel.value, contact_address(channel, address), source, now)


def open_window(clinic_id: str, channel: Channel, address: str, now: datetime) -> None:
    """The patient wrote (or acted) on the channel: its 24-hour window runs from now."""
    store.set_last_inbound(clinic_id, channel.value, contact_address(channel, address), now)


def opt_in_view(clinic_id: str, channel: Channel, address: str | None) -> OptInView | None:
    """When and how the address's opt-in was given, for the patient's view; None without one."""
    contact = find_contact(clinic_id, channel, address) if address else None
    if contact is None or contact.opted_in_at is None:
        return None
    from chalicelib.core.clock import iso_utc

    return {"at": iso_utc(contact.opted_in_at), "source": contact.opt_in_source}
