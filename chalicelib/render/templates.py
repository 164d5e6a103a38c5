"""What every message is (`Message`: a subject for email, a body, and email's optional parts) and CareCue's
English way of writing a time: `9:00 AM`, and `Tue 1 Dec at 9:00 AM` with the day, and a time of day in the
patient's language (`clock_text`, `the_hour`) for doses, replies and link pages. The words of each message
are `chalicelib.render.localized` (appointments) and `chalicelib.regimens.messages` (doses)."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class TemplateCall(Struct, frozen=True):
    """A WhatsApp template message: the approved template by name and Meta's language code, its parameters."""

    name: str
    language_code: str
    parameters: tuple[str, ...]


class Message(Struct, frozen=True):
    subject: str | None  # email only
    body: str
    # Email only, all optional (chalicelib.render.appointment_email): an HTML part, an .ics invitation, a
    # one-click unsubscribe link and the clinic's reply-to address.
    html: str | None = None
    calendar: bytes | None = None
    unsubscribe_url: str | None = None
    reply_to: str | None = None
    sender_name: str | None = None
    # WhatsApp only: the template to send (`body` is then its words as filled in, for the record); None on
    # WhatsApp is a free-form text of `body`, which Meta allows only inside the customer-service window.
    whatsapp_template: TemplateCall | None = None
    # Messenger only, the same way: a utility template outside the standard messaging window, else None (a text).
    messenger_template: TemplateCall | None = None


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


# A dose time in the languages whose clock CareCue writes through CLDR (Babel); English keeps `twelve_hour`.
_CLOCK = {"es": "H:mm", "ar": "h:mm a"}


def clock_text(moment: datetime, language: str = "en") -> str:
    """The dose time as the patient reads it: `8:00 AM`, `8:00`, `8:00 ص`."""
    if language not in _CLOCK:
        return twelve_hour(moment)
    from babel.dates import format_datetime  # Babel's locale data loads on first use, on the send path only

    return str(format_datetime(moment, _CLOCK[language], tzinfo=moment.tzinfo, locale=language))


def the_hour(moment: datetime, language: str) -> str:
    """The time with the article it takes in a sentence: `8:00 AM`; Spanish `las 8:00`, but `la 1:30`."""
    at = clock_text(moment, language)
    if language == "es":
        return f"{'la' if moment.hour == 1 else 'las'} {at}"
    return at
