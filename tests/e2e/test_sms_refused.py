"""An SMS SNS refuses for good, end to end on the running local stack (`POST /_local/sms/refuse` makes SNS answer
`InvalidParameter` for the number, infra/local/sms_refusals.py): the confirmation goes once by email instead, the
appointment shows the SMS failed with SNS's reason and the email fallback, and usage counts the email only."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import Clinic, LocalStack, day_after


def test_a_confirmation_sns_refuses_goes_once_by_email(stack: LocalStack, clinic: Clinic) -> None:
    phone, email = "+14155550164", "pat164@example.com"  # no other e2e test uses them
    status, marked = stack.local.post("/_local/sms/refuse", {"phone": phone})
    assert (status, marked) == (200, {"phone": phone, "sms_refused": True})
    status, usage_before = stack.api(clinic).get("/v1/usage")
    assert status == 200, usage_before
    start = day_after(stack.now(), 2, 10, 0, "America/New_York")

    booked = stack.book_for(
        clinic, {"patient": {"name": "Pat Example", "phone": phone, "email": email}, "start": start.isoformat()}
    )
    stack.advance_to(stack.now() + timedelta(minutes=30))

    assert [m["channel"] for m in stack.outbox(phone)] == []
    assert [m["channel"] for m in stack.outbox(email)] == ["email"]
    status, shown = stack.api(clinic).get(f"/v1/appointments/{booked['id']}")
    assert status == 200, shown
    delivery = next(r for r in shown["reminders"] if r["id"] == "confirmation.sms")["delivery"]
    assert (delivery["channel"], delivery["receipt"], delivery["failure"]) == ("sms", "failed", "sms_InvalidParameter")
    assert (delivery["fallback"]["channel"], delivery["fallback"]["status"]) == ("email", "sent")
    status, usage = stack.api(clinic).get("/v1/usage")
    assert status == 200, usage
    assert usage["messages"]["email"] == usage_before["messages"]["email"] + 1
    assert usage["messages"]["sms"] == usage_before["messages"]["sms"]
