"""Clinic policy, patient replies and links end to end: the running local stack, driven over HTTP only.

Each test has its own clinic and its own phone number (a STOP reaches every clinic that has the number), books
relative to the stack's frozen clock and moves the clock forwards."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email import message_from_string, policy
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.e2e.conftest import Clinic, LocalStack, day_after, iso_z, parse_instant

NEW_YORK = ZoneInfo("America/New_York")


def booking(start: datetime, phone: str, email: str | None = None) -> dict[str, object]:
    patient: dict[str, object] = {"name": "Pat Example", "phone": phone}
    if email:
        patient["email"] = email
    return {"patient": patient, "start": start.isoformat(), "location": "Room 4"}


def text_in(stack: LocalStack, phone: str, body: str) -> None:
    status, answer = stack.local.post("/_local/sms/inbound", {"from": phone, "body": body})
    assert status == 202, answer


def test_a_new_schedule_replans_and_quiet_hours_defer_to_0800_local(stack: LocalStack, clinic: Clinic) -> None:
    phone = "+14155550130"
    start = day_after(stack.now(), 3, 10, 0, "America/New_York")
    booked = stack.book_for(clinic, booking(start, phone))

    # WHEN the clinic moves to "the day before at 18:00" and "12 hours before" (22:00 local: quiet)
    rules = [{"days_before": 1, "at": "18:00", "channel": "sms"}, {"before": "PT12H", "channel": "sms"}]
    status, settings = stack.api(clinic).request("PUT", "/v1/clinic", {"reminders": rules})
    assert status == 200, settings
    assert settings["replanned_appointments"] == 1

    # THEN the timers are the new ones: 18:00 the day before, and 08:00 on the day instead of 22:00
    pending = {p["schedule"].split(".", 1)[1]: parse_instant(p["at"]) for p in stack.pending(booked["id"])}
    day_before = start - timedelta(days=1)
    assert pending == {
        "reminder-d1-1800.sms": day_before.replace(hour=18).astimezone(ZoneInfo("UTC")),
        "reminder-12h.sms": start.replace(hour=8).astimezone(ZoneInfo("UTC")),
    }
    stack.advance_to(start - timedelta(minutes=30))
    sent = [parse_instant(m["sent_at"]).astimezone(NEW_YORK) for m in stack.outbox(phone)][1:]  # after the confirmation
    assert [(t.date(), t.hour, t.minute) for t in sent] == [(day_before.date(), 18, 0), (start.date(), 8, 0)]


def test_stop_by_sms_then_only_email_and_start_brings_sms_back(stack: LocalStack, clinic: Clinic) -> None:
    phone, email = "+14155550131", "pat131@example.org"
    start = day_after(stack.now(), 2, 11, 0, "America/New_York")
    stack.book_for(clinic, booking(start, phone, email))

    text_in(stack, phone, "Stop")
    stack.advance_to(start - timedelta(hours=23))

    sms = [m["body"] for m in stack.outbox(phone)]
    assert sms[-1] == f"{clinic.name}: you will get no more texts. Reply START to get them again."
    assert not any("reminder of your appointment" in body for body in sms)
    emails = [m["subject"] for m in stack.outbox(email)]
    assert any(subject.startswith(f"{clinic.name}: Appointment reminder:") for subject in emails)

    text_in(stack, phone, "START")
    stack.advance_to(start - timedelta(minutes=90))
    assert "reminder of your appointment" in stack.outbox(phone)[-1]["body"]


def test_help_and_confirm_by_reply(stack: LocalStack, clinic: Clinic) -> None:
    phone = "+14155550132"
    stack.api(clinic).request("PUT", "/v1/clinic", {"contact_phone": "+14155550199"})
    start = day_after(stack.now(), 2, 9, 30, "America/New_York")
    booked = stack.book_for(clinic, booking(start, phone))

    text_in(stack, phone, "help")
    assert stack.outbox(phone)[-1]["body"] == (
        f"{clinic.name} appointment reminders. Call +14155550199. Reply C to confirm, STOP to stop texts."
    )
    text_in(stack, phone, " YES! ")
    assert stack.outbox(phone)[-1]["body"].endswith("is confirmed.")
    status, shown = stack.api(clinic).get(f"/v1/appointments/{booked['id']}")
    assert (status, shown["confirmed_via"]) == (200, "sms")


def test_the_inbound_route_refuses_a_sender_that_is_no_phone_number(stack: LocalStack, clinic: Clinic) -> None:
    phone = "+14155550133"
    start = day_after(stack.now(), 2, 9, 0, "America/New_York")
    booked = stack.book_for(clinic, booking(start, phone))
    sent_before = stack.outbox(phone)

    for sender in ("Pat Example", "4155550133", ""):
        status, answer = stack.local.post("/_local/sms/inbound", {"from": sender, "body": "C"})
        assert status == 400, (sender, answer)
        assert answer["error"]["fields"] == [
            {"field": "from", "problem": "is not a phone number with its country code, such as +14155550100"}
        ]

    assert stack.outbox(phone) == sent_before
    status, shown = stack.api(clinic).get(f"/v1/appointments/{booked['id']}")
    assert (status, shown.get("confirmed_via")) == (200, None)


def test_confirm_by_link_and_a_tampered_link_is_refused(stack: LocalStack, clinic: Clinic) -> None:
    phone = "+14155550133"
    start = day_after(stack.now(), 2, 14, 0, "America/New_York")
    booked = stack.book_for(clinic, booking(start, phone))
    stack.advance_to(start - timedelta(hours=23, minutes=59))
    found = re.search(r"(/p/[A-Za-z0-9_-]{44})$", stack.outbox(phone)[-1]["body"])
    assert found is not None
    link = found[1]
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")

    refused = stack.local.raw("POST", tampered, b"", {"Content-Type": "application/x-www-form-urlencoded"})
    assert refused[0] == 404 and "not valid or has expired" in refused[2]
    opened = stack.local.raw("GET", link)
    assert opened[0] == 200 and "text/html" in opened[1] and '<form method="post">' in opened[2]
    pressed = stack.local.raw("POST", link, b"", {"Content-Type": "application/x-www-form-urlencoded"})
    assert pressed[0] == 200 and "is confirmed" in pressed[2]

    status, shown = stack.api(clinic).get(f"/v1/appointments/{booked['id']}")
    assert shown["confirmed_via"] == "link" and shown["confirmed_at"] == iso_z(stack.now())


def test_the_booking_email_carries_a_valid_ics_invitation(stack: LocalStack, clinic: Clinic) -> None:
    email = "pat134@example.org"
    start = day_after(stack.now(), 4, 16, 15, "America/New_York")
    booked = stack.book_for(clinic, {"patient": {"name": "Pat Example", "email": email}, "start": start.isoformat()})

    (sent,) = stack.outbox(email)
    mail = message_from_string(sent["raw"].replace("\r\n", "\n"), policy=policy.default)
    (part,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(part.get_content())
    (event,) = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == f"{booked['id']}@carecue"
    assert event.decoded("DTSTART") == start
    assert mail["List-Unsubscribe"].startswith("<http://127.0.0.1:")
