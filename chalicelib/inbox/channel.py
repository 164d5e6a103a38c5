"""Which channel a staff answer goes out on: the one decision of the inbox about channels, in one function
(`answer_channel`), kept apart so it can be merged with the send side's channel choice.

The answer goes where the patient last wrote from. On SMS that is their number, unless it replied STOP. On
WhatsApp or Messenger a free-form text is allowed only inside the 24-hour window the patient's last message
opened (Meta's rule), and only while the clinic still has that channel and the patient has not stopped it
there; otherwise the answer goes by SMS to the patient's phone (the WhatsApp number itself, or the phone on
the record of a Messenger patient) if it may, and else it is refused with a 409 naming why: nothing is sent
that the patient did not agree to, and no template is sent in place of the staff's own words.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from msgspec import Struct

from chalicelib.core.errors import Conflict
from chalicelib.core.records import Clinic, Conversation, Patient
from chalicelib.core.words import Channel
from chalicelib.patients.contacts import is_opted_out

WINDOW = timedelta(hours=24)  # Meta's customer-service (WhatsApp) and standard messaging (Messenger) window


class Route(Struct, frozen=True):
    channel: Channel
    to: str  # a phone in E.164, or a Messenger page-scoped id


def answer_channel(clinic: Clinic, conversation: Conversation, patient: Patient, now: datetime) -> Route:
    """Where the staff's answer to `conversation` goes now; Conflict (`opted_out`, `window_closed`) when nowhere."""
    channel = Channel(conversation.channel)
    if channel is Channel.SMS:
        return _by_sms(
            clinic,
            conversation.address,
            "the patient replied STOP to texts; they can be answered again after they reply START",
        )
    chat_open = now - conversation.last_inbound_at < WINDOW and _clinic_has(clinic, channel)
    if chat_open and not is_opted_out(clinic.clinic_id, channel, conversation.address):
        return Route(channel, conversation.address)
    phone = conversation.address if channel is Channel.WHATSAPP else patient.phone
    why = f"the patient last wrote on {channel.value} more than 24 hours ago (or stopped it there)"
    if not phone:
        raise Conflict(f"{why}, and has no phone for an SMS answer", code="window_closed")
    return _by_sms(clinic, phone, f"{why}, and replied STOP to texts", code="window_closed")


def _by_sms(clinic: Clinic, phone: str, refused: str, code: str = "opted_out") -> Route:
    if is_opted_out(clinic.clinic_id, Channel.SMS, phone):
        raise Conflict(refused, code=code)
    return Route(Channel.SMS, phone)


def _clinic_has(clinic: Clinic, channel: Channel) -> bool:
    return bool(clinic.whatsapp_phone_number_id if channel is Channel.WHATSAPP else clinic.messenger_page_id)
