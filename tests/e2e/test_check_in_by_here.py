"""A patient checks in by replying HERE, end to end on the running local stack, over HTTP only: on the day of the
appointment, before the clinic's check-in window (60 minutes), the reply says when check-in opens; inside it, the
patient is checked in (the front desk's queue shows `checked_in_by: sms`) and gets the wait-time text.

Its own clinic and its own phone number, as every test on the shared stack; the clock only moves forwards."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import Clinic, LocalStack, day_after

PHONE = "+14155550176"


def test_here_on_the_day_says_when_check_in_opens_then_checks_the_patient_in_with_the_wait_text(
    stack: LocalStack, clinic: Clinic
) -> None:
    start = day_after(stack.now(), 1, 10, 30, "America/New_York")  # tomorrow 10:30 in the clinic's zone
    booked = stack.book_for(clinic, {"patient": {"name": "Pat Example", "phone": PHONE}, "start": start.isoformat()})

    # WHEN the patient replies HERE on the morning of the day, before the window opens at 9:30
    stack.advance_to(start - timedelta(hours=2))
    sent = len(stack.outbox(PHONE))
    status, answer = stack.local.post("/_local/sms/inbound", {"from": PHONE, "body": "HERE"})
    assert status == 202, answer

    # THEN they are told when it opens, in the clinic's local time, and nothing is checked in
    day = f"{start:%a} {start.day} {start:%b}"
    assert [m["body"] for m in stack.outbox(PHONE)[sent:]] == [
        f"{clinic.name}: check-in for your appointment on {day} at 10:30 AM opens at 9:30 AM. Reply HERE then."
    ]
    assert _queued(stack, clinic, booked["id"])["status"] == "booked"

    # WHEN they reply HERE again inside the window
    stack.advance_to(start - timedelta(minutes=20))
    sent = len(stack.outbox(PHONE))
    status, answer = stack.local.post("/_local/sms/inbound", {"from": PHONE, "body": "here"})
    assert status == 202, answer

    # THEN the desk's queue shows them arrived by SMS, and they get one text about their wait
    shown = _queued(stack, clinic, booked["id"])
    assert (shown["status"], shown["checked_in_by"]) == ("arrived", "sms")
    texts = [m["body"] for m in stack.outbox(PHONE)[sent:]]
    assert len(texts) == 1 and "wait" in texts[0].lower(), texts


def _queued(stack: LocalStack, clinic: Clinic, appointment_id: str) -> dict[str, object]:
    status, body = stack.api(clinic).get("/v1/queue")
    assert status == 200, body
    (row,) = [a for p in body["providers"] for a in p["appointments"] if a["id"] == appointment_id]
    return dict(row)
