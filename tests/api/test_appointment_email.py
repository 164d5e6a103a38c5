"""Appointment emails as a mail client receives them: text and HTML, an .ics invitation that calendars update in
place (one UID, METHOD:REQUEST then METHOD:CANCEL), links, and a one-click List-Unsubscribe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_string, policy
from typing import Any

import pytest
from chalice.test import Client
from icalendar import Calendar

from app import app
from tests.conftest import ClinicKeys, World


@pytest.fixture
def api(aws: World) -> Iterator[Client]:
    with Client(app, stage_name="local") as client:
        yield client


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
