"""The hourly reconciler on the running stack: the clock passing a whole hour runs `reconcile`, as its rate(1 hour)
rule does on AWS, so a reminder timer deleted by hand is armed again within the hour and the patient is still
reminded, once."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import NEW_YORK, ONE_SECOND, Clinic, LocalStack, by_channel, day_after, fired_for, iso_z
from tests.e2e.test_duplicates_send_once import SCHEDULE_GROUP, scheduler_client


def test_a_timer_deleted_by_hand_is_re_armed_within_the_hour_and_the_reminder_goes_out_once(
    stack: LocalStack, clinic: Clinic
) -> None:
    # GIVEN a patient booked for 10:00 New York time two days ahead, and the clock three hours before the 24 h
    # reminder (on a whole hour: New York's offset is whole hours)
    phone = "+14155550193"  # a number no other test on the shared stack uses
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
    booked = stack.book_for(clinic, {"patient": {"name": "Pat Example", "phone": phone}, "start": start.isoformat()})
    appointment_id = booked["id"]
    send_at = start - timedelta(hours=24)
    hour = send_at - timedelta(hours=3)
    stack.advance_to(hour)
    name = f"{appointment_id}.reminder-24h.sms"
    assert [p["at"] for p in stack.pending(name)] == [iso_z(send_at)]

    # WHEN someone deletes its timer by hand in Scheduler
    scheduler_client(stack).delete_schedule(Name=name, GroupName=SCHEDULE_GROUP)
    assert stack.pending(name) == []

    # THEN it stays gone until the next whole hour, when the reconciler arms it again for the same instant
    stack.advance_to(hour + timedelta(hours=1) - ONE_SECOND)
    assert stack.pending(name) == []
    stack.advance_to(hour + timedelta(hours=1) + ONE_SECOND)
    assert [p["at"] for p in stack.pending(name)] == [iso_z(send_at)]

    # AND the reminder reaches the patient once, at its planned time
    sent_before = len(stack.outbox(phone))
    fired = fired_for(stack.advance_to(send_at + ONE_SECOND), appointment_id)
    assert [(f["schedule"], f["scheduled_time"]) for f in fired] == [(name, iso_z(send_at))]
    reminder = by_channel(stack.outbox(phone)[sent_before:])
    assert set(reminder) == {"sms"}
    assert reminder["sms"]["sent_at"] == iso_z(send_at)
    assert "reminder of your appointment" in reminder["sms"]["body"]
    stack.advance_to(send_at + timedelta(hours=2))  # two more reconciles: nothing is sent again
    assert len(stack.outbox(phone)) == sent_before + 1
