"""The words of each message: pure rendering of a kind of message for one channel, from the clinic's name and
the appointment's local date and time. Messages carry the minimum: clinic, day, time, place; nothing clinical,
no patient name. Texts stay in GSM-7 so an SMS costs one segment.

English only for now; languages, clinic templates and exact segment counting come with clinic policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.planning.appointment_reminders import Channel, Kind


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


@dataclass(frozen=True)
class AppointmentFacts:
    clinic_name: str
    local_start: datetime  # in the zone the patient reads times in
    location: str | None


def local_when(moment: datetime) -> str:
    """`Tue 1 Dec at 9:00 AM`: unambiguous, short, and locale-free (strftime's %-d is not portable)."""
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{moment:%a} {moment.day} {moment:%b} at {hour}:{moment:%M} {half}"


_SMS = {
    Kind.CONFIRMATION: "{clinic}: your appointment is booked for {when}.",
    Kind.REMINDER: "{clinic}: reminder of your appointment on {when}.",
    Kind.RESCHEDULE_NOTICE: "{clinic}: your appointment has moved to {when}.",
    Kind.CANCELLATION_NOTICE: "{clinic}: your appointment on {when} is cancelled.",
}

_EMAIL_SUBJECT = {
    Kind.CONFIRMATION: "Appointment booked: {when}",
    Kind.REMINDER: "Appointment reminder: {when}",
    Kind.RESCHEDULE_NOTICE: "Appointment moved: {when}",
    Kind.CANCELLATION_NOTICE: "Appointment cancelled: {when}",
}

_EMAIL_BODY = {
    Kind.CONFIRMATION: "Your appointment with {clinic} is booked for {when}.{place}",
    Kind.REMINDER: "This is a reminder of your appointment with {clinic} on {when}.{place}",
    Kind.RESCHEDULE_NOTICE: "Your appointment with {clinic} has moved to {when}.{place}",
    Kind.CANCELLATION_NOTICE: "Your appointment with {clinic} on {when} is cancelled.",
}

_EMAIL_FOOTER = "\n\nPlease contact the clinic if you need to change it."


def render(kind: Kind, channel: Channel, facts: AppointmentFacts) -> Message:
    when = local_when(facts.local_start)
    if channel is Channel.SMS:
        return Message(None, _SMS[kind].format(clinic=facts.clinic_name, when=when))
    place = f"\nPlace: {facts.location}" if facts.location else ""
    subject = _EMAIL_SUBJECT[kind].format(when=when)
    body = _EMAIL_BODY[kind].format(clinic=facts.clinic_name, when=when, place=place) + _EMAIL_FOOTER
    return Message(f"{facts.clinic_name}: {subject}", body)
