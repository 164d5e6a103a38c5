"""What every message is (`Message`: a subject for email, a body, and email's optional parts) and CareCue's
English way of writing a time: `9:00 AM`, and `Tue 1 Dec at 9:00 AM` with the day. The words of each message
are `chalicelib.messages.localized` (appointments) and `chalicelib.regimens.messages` (doses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Message:
    subject: str | None  # email only
    body: str
    # Email only, all optional (chalicelib.messages.appointment_email): an HTML part, an .ics invitation, a
    # one-click unsubscribe link and the clinic's reply-to address.
    html: str | None = None
    calendar: bytes | None = None
    unsubscribe_url: str | None = None
    reply_to: str | None = None
    sender_name: str | None = None


def twelve_hour(moment: datetime) -> str:
    """`9:00 AM`, `12:30 PM`: the wall-clock time of `moment` as CareCue's English texts write it (no CLDR
    narrow no-break space before AM, which would change every English text byte for nothing)."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def short_day(moment: datetime) -> str:
    """`Tue 1 Dec`: locale-free (strftime's %-d is not portable)."""
    return f"{moment:%a} {moment.day} {moment:%b}"


def local_when(moment: datetime) -> str:
    """`Tue 1 Dec at 9:00 AM`: unambiguous, short, and locale-free."""
    return f"{short_day(moment)} at {twelve_hour(moment)}"
