"""A patient's WhatsApp: the opt-in a booking or regimen carries (`"patient": {…, "whatsapp_opt_in": true,
"preferred_channel": "whatsapp"}`), when and how it was given, the WhatsApp opt-out (a STOP on WhatsApp stops
WhatsApp only) and the 24-hour customer-service window an inbound message opens.

All of it is kept per phone number on the `Contact` item keyed `whatsapp:+E.164`, apart from the number's SMS
record, like an opt-out: it outlives the patient record of one booking. A booking saying `"whatsapp_opt_in":
false` records nothing and withdraws nothing (a patient withdraws with STOP on WhatsApp, or the clinic with
`PUT /v1/patients/{id}` `{"opt_out": {"whatsapp": true}}`); an opt-in recorded once keeps its first time and source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.core.records import Contact
from chalicelib.core.words import Channel
from chalicelib.patients.contacts import contact_address, find_contact
from chalicelib.store import patients as store

if TYPE_CHECKING:
    from chalicelib.patients.views import OptInView

WINDOW = timedelta(hours=24)  # Meta's customer-service window


@dataclass(frozen=True)
class WhatsAppState:
    """What a send needs to know of one phone number on WhatsApp."""

    opted_in: bool
    opted_out: bool
    window_open: bool

    @property
    def may_send(self) -> bool:
        return self.opted_in and not self.opted_out


def record_opt_in(clinic_id: str, phone: str, source: str, now: datetime) -> bool:
    """True when the opt-in is new; a repeat keeps the first."""
    return store.set_opt_in(clinic_id, Channel.WHATSAPP.value, contact_address(Channel.WHATSAPP, phone), source, now)


def record_inbound(clinic_id: str, phone: str, now: datetime) -> None:
    """A patient who writes opens the window and opts in (WhatsApp's rule: the patient started the chat)."""
    address = contact_address(Channel.WHATSAPP, phone)
    store.set_last_inbound(clinic_id, Channel.WHATSAPP.value, address, now)
    store.set_opt_in(clinic_id, Channel.WHATSAPP.value, address, "whatsapp_inbound", now)


def state_of(contact: Contact | None, now: datetime) -> WhatsAppState:
    if contact is None:
        return WhatsAppState(False, False, False)
    window = contact.last_inbound_at is not None and now - contact.last_inbound_at < WINDOW
    return WhatsAppState(contact.opted_in_at is not None, contact.opted_out_at is not None, window)


def whatsapp_state(clinic_id: str, phone: str, now: datetime) -> WhatsAppState:
    return state_of(find_contact(clinic_id, Channel.WHATSAPP, phone), now)


def opt_in_view(clinic_id: str, phone: str | None) -> OptInView | None:
    """When and how the phone's WhatsApp opt-in was given, for the patient's view; None without one."""
    contact = find_contact(clinic_id, Channel.WHATSAPP, phone) if phone else None
    if contact is None or contact.opted_in_at is None:
        return None
    from chalicelib.core.clock import iso_utc

    return {"at": iso_utc(contact.opted_in_at), "source": contact.opt_in_source}
