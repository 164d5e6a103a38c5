"""A patient's WhatsApp: the opt-in a booking or regimen carries (`"patient": {…, "whatsapp_opt_in": true,
"preferred_channel": "whatsapp"}`), when and how it was given, the WhatsApp opt-out (a STOP on WhatsApp stops
WhatsApp only) and the 24-hour customer-service window an inbound message opens.

All of it is kept per phone number on the `Contact` item keyed `whatsapp:+E.164`, apart from the number's SMS
record, like an opt-out: it outlives the patient record of one booking (`chalicelib.patients.chat_contacts` holds
what WhatsApp and Messenger share of it). A booking saying `"whatsapp_opt_in":
false` records nothing and withdraws nothing (a patient withdraws with STOP on WhatsApp, or the clinic with
`PUT /v1/patients/{id}` `{"opt_out": {"whatsapp": true}}`); an opt-in recorded once keeps its first time and source.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.core.words import Channel
from chalicelib.patients import chat_contacts
from chalicelib.patients.chat_contacts import ChatState

if TYPE_CHECKING:
    from chalicelib.patients.views import OptInView

WhatsAppState = ChatState  # what a send needs to know of one phone number on WhatsApp


def record_opt_in(clinic_id: str, phone: str, source: str, now: datetime) -> bool:
    """True when the opt-in is new; a repeat keeps the first."""
    return chat_contacts.record_opt_in(clinic_id, Channel.WHATSAPP, phone, source, now)


def record_inbound(clinic_id: str, phone: str, now: datetime) -> None:
    """A patient who writes opens the window and opts in (WhatsApp's rule: the patient started the chat)."""
    chat_contacts.open_window(clinic_id, Channel.WHATSAPP, phone, now)
    chat_contacts.record_opt_in(clinic_id, Channel.WHATSAPP, phone, "whatsapp_inbound", now)


def whatsapp_state(clinic_id: str, phone: str, now: datetime) -> WhatsAppState:
    return chat_contacts.chat_state(clinic_id, Channel.WHATSAPP, phone, now)


def opt_in_view(clinic_id: str, phone: str | None) -> OptInView | None:
    """When and how the phone's WhatsApp opt-in was given, for the patient's view; None without one."""
    return chat_contacts.opt_in_view(clinic_id, Channel.WHATSAPP, phone)
