"""Per-clinic facts about one phone number or email address: opt-outs, recent SMS for the frequency caps, and
the last answer to an unrecognised reply. Kept per address rather than per patient record, because every
record with the address (a family sharing a phone, duplicates before a merge) must hear of a STOP.

Each write sets only the attributes it is about (an UpdateItem, never a read-modify-put of the whole item), so
a STOP that lands while a reminder is being sent can never be overwritten by the sender's note of that SMS."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.core.records import Contact
from chalicelib.core.words import Channel
from chalicelib.store import patients as store

CAP_PER_DAY = 1
CAP_PER_WEEK = 3
_WEEK = timedelta(days=7)


def contact_address(channel: Channel, address: str) -> str:
    """The Contact key: a phone's WhatsApp record is apart from its SMS one, so a STOP on one leaves the other."""
    if channel is Channel.WHATSAPP:
        return f"whatsapp:{address.strip()}"
    if channel is Channel.MESSENGER:
        return f"messenger:{address.strip()}"  # the patient's page-scoped id (PSID), not a phone
    return address.strip().lower() if channel is Channel.EMAIL else address.strip()


def find_contact(clinic_id: str, channel: Channel, address: str) -> Contact | None:
    return store.find_contact(clinic_id, contact_address(channel, address))


def is_opted_out(clinic_id: str, channel: Channel, address: str) -> bool:
    return opted_out(find_contact(clinic_id, channel, address))


def opted_out(contact: Contact | None) -> bool:
    return contact is not None and contact.opted_out_at is not None


def opt_out(clinic_id: str, channel: Channel, address: str, source: str, now: datetime) -> bool:
    """Records the opt-out; True when it is new (a repeated STOP keeps the first time and source)."""
    return store.set_opt_out(clinic_id, channel.value, contact_address(channel, address), source, now)


def opt_in(clinic_id: str, channel: Channel, address: str) -> bool:
    """Removes an opt-out; True when there was one."""
    return store.clear_opt_out(clinic_id, channel.value, contact_address(channel, address))


def cap_reached(contact: Contact | None, now: datetime) -> str | None:
    """`cap_daily` or `cap_weekly` when one more SMS would break the caps (rolling 24 h and 7 days), else None."""
    sends = [sent for sent in _recent_sends(contact) if now - sent < _WEEK]
    if sum(1 for sent in sends if now - sent < timedelta(days=1)) >= CAP_PER_DAY:
        return "cap_daily"
    if len(sends) >= CAP_PER_WEEK:
        return "cap_weekly"
    return None


def record_sms_sent(clinic_id: str, phone: str, contact: Contact | None, now: datetime) -> None:
    """Remembers an SMS for the caps; only the last 7 days are kept. `contact` is the item as read before the
    send: two sends to one number at the same instant may keep one of them, which only makes the caps kinder."""
    store.set_recent_sends(clinic_id, Channel.SMS.value, contact_address(Channel.SMS, phone), _after(contact, now))


def sms_sent_write(clinic_id: str, phone: str, contact: Contact | None, now: datetime) -> store.RecentSendsWrite:
    """`record_sms_sent` as a write for the send's recording transaction (`chalicelib.store.deliveries`)."""
    address = contact_address(Channel.SMS, phone)
    return store.recent_sends_write(clinic_id, Channel.SMS.value, address, _after(contact, now))


def _after(contact: Contact | None, now: datetime) -> list[datetime]:
    return [sent for sent in _recent_sends(contact) if now - sent < _WEEK] + [now]


def note_help_replied(clinic_id: str, phone: str, now: datetime, channel: Channel = Channel.SMS) -> None:
    store.set_help_replied(clinic_id, channel.value, contact_address(channel, phone), now)


def _recent_sends(contact: Contact | None) -> list[datetime]:
    return list(contact.recent_sends or []) if contact else []
