"""Moving and cancelling a booking on the running stack: the patient hears of it once, and no reminder ever
names the old time or arrives for a cancelled appointment."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import (
    NEW_YORK,
    ONE_SECOND,
    Clinic,
    LocalStack,
    by_channel,
    day_after,
    fired_for,
    iso_z,
    spoken,
    without_confirm_link,
)


def test_rescheduling_tells_the_patient_and_reminds_at_the_new_time_only(stack: LocalStack, clinic: Clinic) -> None:
    stack.ask_for_both(clinic)  # SMS and email, as this test checks both
    # GIVEN a booking two days ahead at 10:00 New York time
    phone, email = "+14155550102", "pat.reschedule@example.org"
    now = stack.now()
    old_start = day_after(now, 2, 10, 0, NEW_YORK)
    booked = stack.book_for(
        clinic, {"patient": {"name": "Pat Example", "phone": phone, "email": email}, "start": old_start.isoformat()}
    )
    appointment_id = booked["id"]
    sent_at_booking = stack.outbox(phone, email)
    assert len(sent_at_booking) == 2

    # WHEN the clinic moves it to the next day at 3:30 PM
    new_start = day_after(now, 3, 15, 30, NEW_YORK)
    new_when = spoken(new_start, NEW_YORK)
    status, moved = stack.api(clinic).patch(f"/v1/appointments/{appointment_id}", {"start": new_start.isoformat()})

    # THEN the patient is told the new local time at once, on both channels
    assert status == 200, moved
    assert moved["start_local"] == new_start.isoformat()
    assert moved["version"] == 2
    notice = by_channel(stack.outbox(phone, email)[len(sent_at_booking) :])
    assert notice["sms"]["body"] == f"{clinic.name}: your appointment has moved to {new_when}."
    assert notice["sms"]["sent_at"] == iso_z(now)
    assert notice["email"]["subject"] == f"{clinic.name}: Appointment moved: {new_when}"
    # AND the only timers armed for it are at the new times
    new_day_before, new_two_hours_before = new_start - timedelta(hours=24), new_start - timedelta(hours=2)
    assert sorted((p["schedule"], p["at"]) for p in stack.pending(f"{appointment_id}.")) == [
        (f"{appointment_id}.reminder-24h.email", iso_z(new_day_before)),
        (f"{appointment_id}.reminder-24h.sms", iso_z(new_day_before)),
        (f"{appointment_id}.reminder-2h.email", iso_z(new_two_hours_before)),
        (f"{appointment_id}.reminder-2h.sms", iso_z(new_two_hours_before)),
    ]

    # WHEN the clock passes both of the OLD reminder times, nothing fires and nothing is sent
    sent_after_notice = stack.outbox(phone, email)
    old_two_hours_before = old_start - timedelta(hours=2)
    assert old_two_hours_before < new_day_before
    assert fired_for(stack.advance_to(old_two_hours_before + ONE_SECOND), appointment_id) == []
    assert stack.outbox(phone, email) == sent_after_notice

    # THEN the reminders come at the NEW times, naming the new time
    for send_at in (new_day_before, new_two_hours_before):
        before = stack.outbox(phone, email)
        assert fired_for(stack.advance_to(send_at - ONE_SECOND), appointment_id) == []
        fired = fired_for(stack.advance_to(send_at + ONE_SECOND), appointment_id)
        assert [f["result"]["result"] for f in fired] == ["sent", "sent"]
        reminder = by_channel(stack.outbox(phone, email)[len(before) :])
        assert (
            without_confirm_link(reminder["sms"]["body"])
            == f"{clinic.name}: reminder of your appointment on {new_when}."
        )
        assert reminder["sms"]["sent_at"] == iso_z(send_at)
        assert reminder["email"]["subject"] == f"{clinic.name}: Appointment reminder: {new_when}"
        assert reminder["email"]["sent_at"] == iso_z(send_at)
    old_when = spoken(old_start, NEW_YORK)
    assert [m for m in stack.outbox(phone, email) if old_when in m["body"]] == sent_at_booking
    assert stack.pending(f"{appointment_id}.") == []


def test_cancelling_tells_the_patient_once_and_no_reminder_follows(stack: LocalStack, clinic: Clinic) -> None:
    stack.ask_for_both(clinic)  # SMS and email, as this test checks both
    # GIVEN a booking two days ahead, with its four reminder timers armed
    phone, email = "+14155550103", "pat.cancel@example.org"
    now = stack.now()
    start = day_after(now, 2, 10, 0, NEW_YORK)
    when = spoken(start, NEW_YORK)
    booked = stack.book_for(
        clinic, {"patient": {"name": "Pat Example", "phone": phone, "email": email}, "start": start.isoformat()}
    )
    appointment_id = booked["id"]
    assert len(stack.pending(f"{appointment_id}.")) == 4
    sent_at_booking = stack.outbox(phone, email)

    # WHEN the clinic cancels it
    status, cancelled = stack.api(clinic).delete(f"/v1/appointments/{appointment_id}")

    # THEN the patient gets one cancellation notice per channel, and its timers are gone
    assert status == 200, cancelled
    assert cancelled["status"] == "cancelled"
    notice = by_channel(stack.outbox(phone, email)[len(sent_at_booking) :])
    assert notice["sms"]["body"] == f"{clinic.name}: your appointment on {when} is cancelled."
    assert notice["email"]["subject"] == f"{clinic.name}: Appointment cancelled: {when}"
    assert stack.pending(f"{appointment_id}.") == []
    sent_after_cancelling = stack.outbox(phone, email)

    # WHEN the clock passes both reminder times and the appointment itself
    fired = fired_for(stack.advance_to(start + timedelta(hours=1)), appointment_id)

    # THEN nothing fires and nothing more reaches the patient
    assert fired == []
    assert stack.outbox(phone, email) == sent_after_cancelling

    # WHEN the clinic cancels it again, it is still cancelled and the patient hears nothing more
    status, again = stack.api(clinic).delete(f"/v1/appointments/{appointment_id}")
    assert status == 200, again
    assert again["status"] == "cancelled"
    assert stack.outbox(phone, email) == sent_after_cancelling
    reminders = {r["id"]: r for r in again["reminders"]}
    for reminder_id in ("reminder-24h.sms", "reminder-24h.email", "reminder-2h.sms", "reminder-2h.email"):
        assert reminders[reminder_id]["status"] == "cancelled", reminders[reminder_id]
