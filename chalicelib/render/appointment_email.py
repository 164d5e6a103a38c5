"""The email form of an appointment message: plain text and HTML parts, the patient's links, an `.ics`
invitation on booking and reschedule (`METHOD:REQUEST`) and on cancellation (`METHOD:CANCEL`), each an iTIP
message (RFC 5546) from the clinic (ORGANIZER) to the patient (ATTENDEE), one stable UID per appointment so
calendars update the same event, and a one-click `List-Unsubscribe` (RFC 8058).

Pure apart from the imports of `icalendar`, which happen here, on the send path only.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.core.words import Kind
from chalicelib.render.templates import Message

_LINK_LABELS = {
    "confirm": {"en": "Confirm", "es": "Confirmar", "ar": "تأكيد"},
    "form": {"en": "Fill in your form", "es": "Rellenar el formulario", "ar": "ملء النموذج"},
    "cancel": {"en": "Cancel", "es": "Cancelar", "ar": "إلغاء"},
    "reschedule": {"en": "Change the time", "es": "Cambiar la hora", "ar": "تغيير الموعد"},
    "stop": {"en": "Stop reminders", "es": "No recibir recordatorios", "ar": "إيقاف التذكيرات"},
}


class CalendarFacts(Struct, frozen=True):
    appointment_id: str
    version: int
    start: datetime  # aware
    duration_minutes: int
    clinic_name: str
    location: str | None
    organizer: str  # the sending address (the SES sender)
    attendee: str  # the patient's email address, the one the message is sent to


def calendar_uid(appointment_id: str) -> str:
    return f"{appointment_id}@carecue"


def with_email_parts(
    message: Message,
    kind: Kind,
    language: str,
    links: dict[str, str],
    calendar: CalendarFacts | None,
    now: datetime,
    reply_to: str | None = None,
    sender_name: str | None = None,
) -> Message:
    """`message` (subject and text) with its links, an HTML part, the invitation and List-Unsubscribe."""
    lines = [f"{_LINK_LABELS[name][language]}: {url}" for name, url in links.items()]
    text = message.body + ("\n\n" + "\n".join(lines) if lines else "")
    direction = ' dir="rtl"' if language == "ar" else ""
    paragraphs = "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in message.body.split("\n\n"))
    buttons = "".join(
        f'<p><a href="{html.escape(url)}">{html.escape(_LINK_LABELS[name][language])}</a></p>'
        for name, url in links.items()
    )
    page = f'<!doctype html><html lang="{language}"{direction}><body>{paragraphs}{buttons}</body></html>'
    ics = None
    if calendar is not None and kind is not Kind.REMINDER:
        ics = invitation(calendar, cancelled=kind is Kind.CANCELLATION_NOTICE, now=now)
    return replace(
        message,
        body=text,
        html=page,
        calendar=ics,
        unsubscribe_url=links.get("stop"),
        reply_to=reply_to,
        sender_name=sender_name,
    )


def invitation(facts: CalendarFacts, *, cancelled: bool, now: datetime) -> bytes:
    """An iTIP (RFC 5546) iCalendar object for the appointment: `METHOD:REQUEST` on booking and reschedule
    (§3.2.2), `METHOD:CANCEL` with `STATUS:CANCELLED` on cancellation (§3.2.5).

    UID is one per appointment and SEQUENCE follows the appointment's version, so every change, the
    cancellation included, supersedes the invitation before it. ORGANIZER is the clinic's sending address with
    the clinic's name as CN. ATTENDEE is the patient's address as a required participant, with no CN: the
    patient's name is not needed for the calendar to match the event, and messages carry the minimum. On a
    REQUEST the attendee has PARTSTAT=NEEDS-ACTION and RSVP=FALSE: CareCue does not process iTIP REPLY mails
    (a patient confirms or cancels through the message's links), so it does not ask calendars to send one.
    """
    from icalendar import Calendar, Event, vCalAddress

    calendar = Calendar()
    calendar.add("prodid", "-//CareCue//Appointment reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", calendar_uid(facts.appointment_id))
    event.add("sequence", facts.version)
    event.add("dtstamp", now)
    event.add("dtstart", facts.start)
    event.add("dtend", facts.start + timedelta(minutes=facts.duration_minutes))
    event.add("summary", f"Appointment: {facts.clinic_name}")
    if facts.location:
        event.add("location", facts.location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", vCalAddress.new(facts.organizer, cn=facts.clinic_name))
    if cancelled:
        attendee = vCalAddress.new(facts.attendee, role="REQ-PARTICIPANT")
    else:
        attendee = vCalAddress.new(facts.attendee, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp=False)
    event.add("attendee", attendee)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
