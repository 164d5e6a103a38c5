"""The `.ics` of an appointment email is an iTIP message (RFC 5546): per method, the properties that method
requires, parsed back with the `icalendar` library (`chalicelib.render.appointment_email.invitation`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar

from chalicelib.core.words import Kind
from chalicelib.render.appointment_email import CalendarFacts, invitation, with_email_parts
from chalicelib.render.templates import Message
from infra.local.clock import SimulatedClock

# RFC 5546 §3.2.2 (REQUEST) and §3.2.5 (CANCEL): the VEVENT properties that must be there (SEQUENCE on a
# REQUEST only once it is above 0; ours always is, appointment versions start at 1).
REQUIRED = {
    "REQUEST": {"ATTENDEE", "DTSTAMP", "DTSTART", "ORGANIZER", "SEQUENCE", "SUMMARY", "UID"},
    "CANCEL": {"ATTENDEE", "DTSTAMP", "ORGANIZER", "SEQUENCE", "UID"},
}


def facts(clock: SimulatedClock, **overrides: Any) -> CalendarFacts:
    values: dict[str, Any] = {
        "appointment_id": "apt_123",
        "version": 1,
        "start": clock.now() + timedelta(days=2),
        "duration_minutes": 30,
        "clinic_name": "Riverside Family Clinic",
        "location": "Room 4",
        "organizer": "reminders@carecue.example",
        "attendee": "pat@example.org",
    }
    values.update(overrides)
    return CalendarFacts(**values)


def parsed(ics: bytes) -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


@pytest.mark.parametrize(("cancelled", "method"), [(False, "REQUEST"), (True, "CANCEL")])
def test_each_method_carries_the_properties_it_requires(clock: SimulatedClock, cancelled: bool, method: str) -> None:
    calendar, event = parsed(invitation(facts(clock, version=2), cancelled=cancelled, now=clock.now()))

    assert str(calendar["METHOD"]) == method
    assert str(calendar["VERSION"]) == "2.0" and "PRODID" in calendar
    assert REQUIRED[method] <= set(event.keys())
    assert str(event["UID"]) == "apt_123@carecue"
    assert int(event["SEQUENCE"]) == 2
    assert event.decoded("DTSTAMP") == clock.now()
    assert str(event["ORGANIZER"]) == "mailto:reminders@carecue.example"
    assert event["ORGANIZER"].params["CN"] == "Riverside Family Clinic"
    assert str(event["ATTENDEE"]) == "mailto:pat@example.org"
    assert event["ATTENDEE"].params["ROLE"] == "REQ-PARTICIPANT"


def test_a_request_asks_the_patient_to_attend_without_asking_for_a_reply(clock: SimulatedClock) -> None:
    start = clock.now() + timedelta(days=2)
    _, event = parsed(invitation(facts(clock, start=start, duration_minutes=45), cancelled=False, now=clock.now()))

    assert event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"
    assert event["ATTENDEE"].params["RSVP"] == "FALSE"  # CareCue does not process iTIP REPLY mails
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(minutes=45)
    assert str(event["SUMMARY"]) == "Appointment: Riverside Family Clinic"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_a_cancel_marks_the_event_cancelled(clock: SimulatedClock) -> None:
    _, event = parsed(invitation(facts(clock, version=3), cancelled=True, now=clock.now()))

    assert str(event["STATUS"]) == "CANCELLED"
    assert "RSVP" not in event["ATTENDEE"].params and "PARTSTAT" not in event["ATTENDEE"].params


def test_the_invitation_names_no_patient(clock: SimulatedClock) -> None:
    for cancelled in (False, True):
        _, event = parsed(invitation(facts(clock), cancelled=cancelled, now=clock.now()))
        assert "CN" not in event["ATTENDEE"].params
        assert set(event.keys()) <= REQUIRED["REQUEST"] | {"DTEND", "LOCATION", "STATUS"}


def test_a_clinic_name_with_ical_special_characters_survives_as_the_organizers_cn(clock: SimulatedClock) -> None:
    name = 'St. Mary\'s "North", Unit 2; Floor: 3'
    _, event = parsed(invitation(facts(clock, clinic_name=name), cancelled=False, now=clock.now()))

    assert event["ORGANIZER"].params["CN"] == name
    assert str(event["ORGANIZER"]) == "mailto:reminders@carecue.example"


def test_only_booking_rescheduling_and_cancelling_emails_carry_an_invitation(clock: SimulatedClock) -> None:
    message = Message("Subject", "Body")
    sent = {
        kind: with_email_parts(message, kind, "en", {}, facts(clock), clock.now()).calendar
        for kind in (Kind.CONFIRMATION, Kind.RESCHEDULE_NOTICE, Kind.CANCELLATION_NOTICE, Kind.REMINDER)
    }

    assert sent[Kind.REMINDER] is None
    methods = {kind: str(Calendar.from_ical(ics)["METHOD"]) for kind, ics in sent.items() if ics is not None}
    assert methods == {
        Kind.CONFIRMATION: "REQUEST",
        Kind.RESCHEDULE_NOTICE: "REQUEST",
        Kind.CANCELLATION_NOTICE: "CANCEL",
    }
