"""The clinic's inbox end to end: the running local stack, driven over HTTP only. A patient's free-text SMS reply
lands in the clinic's inbox (the clinic's desk gets a notice email without the message), the patient gets the
day's automatic answer, and the staff's answer reaches the patient's phone.

Its own clinic and its own phone number, as every test on the shared stack."""

from __future__ import annotations

from tests.e2e.conftest import Clinic, LocalStack, day_after

PHONE = "+14155550174"
DESK = "inbox-desk@example.com"


def test_a_free_text_reply_lands_in_the_inbox_and_the_staff_answer_reaches_the_patients_phone(
    stack: LocalStack, clinic: Clinic
) -> None:
    api = stack.api(clinic)
    status, _ = api.request("PUT", "/v1/clinic", {"inbox": {"urgent_phone": "911", "notice_email": DESK}})
    assert status == 200
    start = day_after(stack.now(), 2, 10, 0, "America/New_York")
    booked = stack.book_for(clinic, {"patient": {"name": "Pat Example", "phone": PHONE}, "start": start.isoformat()})
    patient = booked["patient"]["id"]

    status, answer = stack.local.post("/_local/sms/inbound", {"from": PHONE, "body": "Can I come at 3 instead?"})
    assert status == 202, answer

    # The patient hears when the clinic replies and whom to call if it is urgent
    assert stack.outbox(PHONE)[-1]["body"] == (
        f"{clinic.name}: thank you, the clinic has your message and replies during its hours: 8:00 AM to 6:00 PM. "
        "If it is urgent, call 911."
    )
    # The desk is told a patient wrote, and nothing of what they wrote
    notices = [m for m in stack.outbox(DESK) if patient in m["body"]]
    assert len(notices) == 1
    assert "come at 3" not in notices[0]["body"] and PHONE not in notices[0]["body"]
    # The inbox lists the thread, unread, and opening it shows the message with its channel
    status, listed = api.get("/v1/conversations")
    assert status == 200
    assert [(c["patient_id"], c["unread"], c["channel"]) for c in listed["conversations"]] == [(patient, 1, "sms")]
    status, thread = api.get(f"/v1/conversations/{patient}")
    assert status == 200
    assert [(m["direction"], m["channel"], m["text"]) for m in thread["messages"]] == [
        ("in", "sms", "Can I come at 3 instead?")
    ]

    status, sent = api.post(f"/v1/conversations/{patient}/messages", {"text": "Yes, 3 PM works. See you then."})

    assert status == 201, sent
    assert stack.outbox(PHONE)[-1]["body"] == "Yes, 3 PM works. See you then."
    status, listed = api.get("/v1/conversations")
    assert [(c["unread"], c["last_direction"]) for c in listed["conversations"]] == [(0, "out")]
    status, usage = api.get("/v1/usage")
    assert usage["messages"]["sms"] == len(stack.outbox(PHONE))  # the booking, the automatic and the staff answer
