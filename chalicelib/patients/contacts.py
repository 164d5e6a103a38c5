"""Per-clinic facts about one phone number or email address: opt-outs, recent SMS for the frequency caps, and
the last answer to an unrecognised reply. Kept per address rather than per patient record, because every
booking makes a patient record and a STOP must outlive all of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist

from chalicelib.planning.appointment_reminders import Channel
from chalicelib.store.models import Contact

CAP_PER_DAY = 1
CAP_PER_WEEK = 3
_WEEK = timedelta(days=7)


def contact_address(channel: Channel, address: str) -> str:
    return address.strip().lower() if channel is Channel.EMAIL else address.strip()


def find_contact(clinic_id: str, channel: Channel, address: str) -> Contact | None:
    try:
        return Contact.get(clinic_id, contact_address(channel, address), consistent_read=True)
    except DoesNotExist:
        return None


def is_opted_out(clinic_id: str, channel: Channel, address: str) -> bool:
    contact = find_contact(clinic_id, channel, address)
    return contact is not None and contact.opted_out_at is not None


def opt_out(clinic_id: str, channel: Channel, address: str, source: str, now: datetime) -> bool:
    """Records the opt-out; True when it is new (a repeated STOP keeps the first time and source)."""
    contact = find_contact(clinic_id, channel, address) or Contact(
        clinic_id, contact_address(channel, address), channel=channel.value
    )
    if contact.opted_out_at is not None:
        return False
    contact.opted_out_at = now
    contact.opt_out_source = source
    contact.save()
    return True


def opt_in(clinic_id: str, channel: Channel, address: str) -> bool:
    """Removes an opt-out; True when there was one."""
    contact = find_contact(clinic_id, channel, address)
    if contact is None or contact.opted_out_at is None:
        return False
    contact.update(actions=[Contact.opted_out_at.remove(), Contact.opt_out_source.remove()])
    return True


def cap_reached(clinic_id: str, phone: str, now: datetime) -> str | None:
    """`cap_daily` or `cap_weekly` when one more SMS would break the caps (rolling 24 h and 7 days), else None."""
    contact = find_contact(clinic_id, Channel.SMS, phone)
    sends = [sent for sent in _recent_sends(contact) if now - sent < _WEEK]
    if sum(1 for sent in sends if now - sent < timedelta(days=1)) >= CAP_PER_DAY:
        return "cap_daily"
    if len(sends) >= CAP_PER_WEEK:
        return "cap_weekly"
    return None


def record_sms_sent(clinic_id: str, phone: str, now: datetime) -> None:
    """Remembers an SMS for the caps; only the last 7 days are kept."""
    contact = find_contact(clinic_id, Channel.SMS, phone) or Contact(
        clinic_id, contact_address(Channel.SMS, phone), channel=Channel.SMS.value
    )
    contact.recent_sends = cast(Any, [sent for sent in _recent_sends(contact) if now - sent < _WEEK] + [now])
    contact.save()


def _recent_sends(contact: Contact | None) -> list[datetime]:
    # PynamoDB types a list attribute's items as attributes; read back, they are the datetimes that were stored.
    return [cast(datetime, sent) for sent in (contact.recent_sends or [])] if contact else []
