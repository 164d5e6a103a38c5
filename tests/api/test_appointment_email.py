"""Appointment emails as a mail client receives them: text and HTML, an .ics invitation that calendars update in
place (one UID, METHOD:REQUEST then METHOD:CANCEL, each a valid iTIP message from the clinic to the patient),
links, and a one-click List-Unsubscribe."""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_string, policy
from typing import Any

from chalice.test import Client
from icalendar import Calendar

from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World


def received(world: World) -> list[Any]:
    # The outbox keeps the wire form (CRLF line ends); a mail client reads lines.
    raw = [m["raw"].replace("\r\n", "\n") for m in world.sent("email") if m["raw"]]
    return [message_from_string(text, policy=policy.default) for text in raw]


def invitation(mail: Any) -> Calendar:
    (part,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "appointment.ics"
    return Calendar.from_ical(part.get_content())


def test_booking_moving_and_cancelling_update_one_calendar_event(api: Client, aws: World, clinic: ClinicKeys) -> None:
    body = {
        "patient": {"name": "Pat Example", "email": "pat@example.org"},
        "start": "2026-12-02T10:00:00-05:00",
        "location": "Room 4",
    }
    booked = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body)).json_body
    path = f"/v1/appointments/{booked['id']}"
    api.http.patch(path, headers=clinic.headers, body=json.dumps({"start": "2026-12-03T15:30:00-05:00"}))
    api.http.delete(path, headers=clinic.headers)

    booking, moved, cancelled = received(aws)

    assert booking["Subject"] == "Riverside Family Clinic: Appointment booked: Wed 2 Dec at 10:00 AM"
    assert "Riverside Family Clinic" in booking["From"] and booking["To"] == "pat@example.org"
    assert (
        booking.get_body(("plain",))
        .get_content()
        .startswith("Your appointment with Riverside Family Clinic is booked for Wed 2 Dec at 10:00 AM.\nPlace: Room 4")
    )
    assert "<p>Your appointment with Riverside Family Clinic" in booking.get_body(("html",)).get_content()
    events = []
    for mail, method, status in (
        (booking, "REQUEST", "CONFIRMED"),
        (moved, "REQUEST", "CONFIRMED"),
        (cancelled, "CANCEL", "CANCELLED"),
    ):
        calendar = invitation(mail)
        assert calendar["METHOD"] == method
        (event,) = calendar.walk("VEVENT")
        assert event["STATUS"] == status
        events.append(event)
    assert {str(e["UID"]) for e in events} == {f"{booked['id']}@carecue"}
    assert [int(e["SEQUENCE"]) for e in events] == [1, 2, 3]
    assert events[0].decoded("DTSTART").isoformat() == "2026-12-02T15:00:00+00:00"
    assert events[1].decoded("DTSTART").isoformat() == "2026-12-03T20:30:00+00:00"
    assert str(events[0]["LOCATION"]) == "Room 4"


def test_each_invitation_is_an_itip_message_from_the_clinic_to_the_patient(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # RFC 5546 §3.2.2 (REQUEST) and §3.2.5 (CANCEL): the properties each method requires, in the mail as sent.
    booked_at = clock.now()
    start = (booked_at + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    body = {"patient": {"name": "Pat Example", "email": "pat@example.org"}, "start": start.isoformat()}
    booked = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body)).json_body
    path = f"/v1/appointments/{booked['id']}"
    moved_at = clock.advance(timedelta(hours=2))
    new_start = start + timedelta(days=1, minutes=30)
    change = {"start": new_start.isoformat(), "duration_minutes": 45}
    api.http.patch(path, headers=clinic.headers, body=json.dumps(change))
    cancelled_at = clock.advance(timedelta(hours=1))
    api.http.delete(path, headers=clinic.headers)

    mails = received(aws)
    assert [m["To"] for m in mails] == ["pat@example.org"] * 3
    calendars = [invitation(mail) for mail in mails]
    assert [str(c["METHOD"]) for c in calendars] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [event for c in calendars for event in c.walk("VEVENT")]
    assert len(events) == 3

    for event in events:
        organizer = event["ORGANIZER"]
        assert str(organizer) == "mailto:reminders@carecue.example"
        assert organizer.params["CN"] == "Riverside Family Clinic"
        attendee = event["ATTENDEE"]
        assert not isinstance(attendee, list)  # exactly one: the patient
        assert str(attendee) == "mailto:pat@example.org"
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert "CN" not in attendee.params  # not the patient's name: messages carry the minimum
    for event in events[:2]:
        assert event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"
        assert event["ATTENDEE"].params["RSVP"] == "FALSE"
        assert str(event["SUMMARY"]) == "Appointment: Riverside Family Clinic"

    assert {str(e["UID"]) for e in events} == {f"{booked['id']}@carecue"}
    sequences = [int(e["SEQUENCE"]) for e in events]
    assert sequences[0] > 0 and sequences == sorted(set(sequences))  # every change supersedes the last
    assert [e.decoded("DTSTAMP") for e in events] == [booked_at, moved_at, cancelled_at]
    assert [e.decoded("DTSTART") for e in events[:2]] == [start, new_start]
    assert [e.decoded("DTEND") for e in events[:2]] == [
        start + timedelta(minutes=30),
        new_start + timedelta(minutes=45),
    ]
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]


def test_the_list_unsubscribe_link_opts_out_in_one_click(api: Client, aws: World, clinic: ClinicKeys) -> None:
    body = {"patient": {"name": "Pat Example", "email": "pat@example.org"}, "start": "2026-12-02T10:00:00-05:00"}
    booked = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body)).json_body
    (mail,) = received(aws)

    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://carecue.example/p/")
    assert f"Stop reminders: {link}" in mail.get_body(("plain",)).get_content()

    # The mail provider POSTs the RFC 8058 body to the link.
    response = api.http.post(
        link.removeprefix("https://carecue.example"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="List-Unsubscribe=One-Click",
    )

    assert response.status_code == 200
    patient = api.http.get(f"/v1/patients/{booked['patient']['id']}", headers=clinic.headers).json_body
    assert patient["opt_out"]["email"]["source"] == "link"
