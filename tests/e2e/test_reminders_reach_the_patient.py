"""A booking on the running stack: the patient is told at once, then reminded 24 h and 2 h before, each message
naming the appointment's local day and time and leaving when it was planned to."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import (
    CONFIRM_LINK,
    NEW_YORK,
    ONE_SECOND,
    Clinic,
    LocalStack,
    by_channel,
    day_after,
    fired_for,
    iso_z,
    parse_instant,
    spoken,
    without_confirm_link,
)


def test_booking_confirms_at_once_then_reminds_24_h_and_2_h_before_in_local_time(
    stack: LocalStack, clinic: Clinic
) -> None:
    # GIVEN a patient with a phone and an email, booked two days ahead at 10:00 New York time, at a clinic that
    # asks for both channels
    stack.ask_for_both(clinic)
    phone, email = "+14155550101", "pat.reminders@example.org"
    now = stack.now()
    start = day_after(now, 2, 10, 0, NEW_YORK)
    when = spoken(start, NEW_YORK)
    assert when.endswith("at 10:00 AM")

    status, booked = stack.api(clinic).post(
        "/v1/appointments",
        {
            "patient": {"name": "Pat Example", "phone": phone, "email": email},
            "start": start.isoformat(),
            "location": "Room 4",
        },
    )

    # THEN the booking is stored at that instant and the confirmation leaves at once on both channels
    assert status == 201, booked
    assert booked["status"] == "booked"
    assert parse_instant(booked["start"]) == start
    assert booked["start_local"] == start.isoformat()
    appointment_id = booked["id"]
    confirmation = by_channel(stack.outbox(phone, email))
    assert confirmation["sms"]["body"] == f"{clinic.name}: your appointment is booked for {when}."
    assert confirmation["sms"]["sent_at"] == iso_z(now)
    assert confirmation["email"]["subject"] == f"{clinic.name}: Appointment booked: {when}"
    assert f"is booked for {when}." in confirmation["email"]["body"]
    assert "Place: Room 4" in confirmation["email"]["body"]
    planned = {r["id"]: r for r in booked["reminders"]}
    day_before, two_hours_before = start - timedelta(hours=24), start - timedelta(hours=2)
    for channel in ("sms", "email"):
        assert planned[f"reminder-24h.{channel}"]["send_at"] == iso_z(day_before)
        assert planned[f"reminder-2h.{channel}"]["send_at"] == iso_z(two_hours_before)
    assert sorted(p["at"] for p in stack.pending(f"{appointment_id}.")) == sorted(
        [iso_z(day_before)] * 2 + [iso_z(two_hours_before)] * 2
    )

    for lead, send_at in (("24h", day_before), ("2h", two_hours_before)):
        # WHEN the clock reaches one second before the reminder is due, nothing goes out
        sent_before = stack.outbox(phone, email)
        assert fired_for(stack.advance_to(send_at - ONE_SECOND), appointment_id) == []
        assert stack.outbox(phone, email) == sent_before

        # WHEN it passes the due time, exactly this reminder goes out, on both channels, at the planned time
        fired = fired_for(stack.advance_to(send_at + ONE_SECOND), appointment_id)
        assert sorted((f["schedule"], f["scheduled_time"], f["result"]["result"]) for f in fired) == [
            (f"{appointment_id}.reminder-{lead}.email", iso_z(send_at), "sent"),
            (f"{appointment_id}.reminder-{lead}.sms", iso_z(send_at), "sent"),
        ]
        new = stack.outbox(phone, email)[len(sent_before) :]
        reminder = by_channel(new)
        assert set(reminder) == {"sms", "email"}, lead
        assert reminder["sms"] == {**reminder["sms"], "to": phone, "sent_at": iso_z(send_at)}
        assert CONFIRM_LINK.search(reminder["sms"]["body"])
        assert (
            without_confirm_link(reminder["sms"]["body"]) == f"{clinic.name}: reminder of your appointment on {when}."
        )
        assert reminder["email"]["to"] == email
        assert reminder["email"]["subject"] == f"{clinic.name}: Appointment reminder: {when}"
        assert f"reminder of your appointment with {clinic.name} on {when}." in reminder["email"]["body"]
        assert reminder["email"]["sent_at"] == iso_z(send_at)

    # THEN the clinic sees every reminder sent, when it was planned, and no timer left for this appointment
    status, current = stack.api(clinic).get(f"/v1/appointments/{appointment_id}")
    assert status == 200, current
    reminders = {r["id"]: r for r in current["reminders"]}
    for lead, send_at in (("24h", day_before), ("2h", two_hours_before)):
        for channel in ("sms", "email"):
            assert reminders[f"reminder-{lead}.{channel}"]["status"] == "sent"
            assert reminders[f"reminder-{lead}.{channel}"]["sent_at"] == iso_z(send_at)
    assert stack.pending(f"{appointment_id}.") == []
    assert len(stack.outbox(phone, email)) == 6


def test_a_patient_in_london_reads_london_time(stack: LocalStack, clinic: Clinic) -> None:
    # GIVEN a New York clinic and a patient who lives in London, booked at 15:00 London time (GMT or BST alike:
    # the stack's clock starts at the real date and the tier moves it on, so the day may fall in either)
    phone = "+14155550108"
    start = day_after(stack.now(), 2, 15, 0, "Europe/London")
    london_day = spoken(start, "Europe/London")
    assert london_day.endswith("at 3:00 PM")
    assert spoken(start, "America/New_York") != london_day  # New York's clock says 10 or 11 AM then

    booked = stack.book_for(
        clinic,
        {"patient": {"name": "Pat Example", "phone": phone, "timezone": "Europe/London"}, "start": start.isoformat()},
    )

    # THEN the confirmation and the day-before reminder both name 3:00 PM, not New York's time
    assert booked["patient"]["timezone"] == "Europe/London"
    (confirmation,) = stack.outbox(phone)
    assert confirmation["body"] == f"{clinic.name}: your appointment is booked for {london_day}."
    stack.advance_to(start - timedelta(hours=24) + ONE_SECOND)
    assert [without_confirm_link(m["body"]) for m in stack.outbox(phone)][1:] == [
        f"{clinic.name}: reminder of your appointment on {london_day}."
    ]
