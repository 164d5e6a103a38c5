"""Scheduler's retries and dead-letter queue on the running stack: a reminder email that SES refuses because the
clinic's sender identity is not verified (a set-up fault an operator fixes, so a transient error) is tried again
on the simulated clock and sent once the sender is verified again; when it stays refused past the retry policy the
event goes to the dead-letter queue, and `redrive-dlq` sends it, once. Its own stack: the test unverifies the
sender every email goes from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3

from tests.e2e.conftest import (
    NEW_YORK,
    ONE_SECOND,
    Clinic,
    LocalStack,
    day_after,
    fired_for,
    iso_z,
)


def ses(stack: LocalStack) -> Any:
    return boto3.client(
        "ses",
        endpoint_url=stack.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def book_email_only(stack: LocalStack, email: str) -> tuple[Clinic, str, Any]:
    clinic = stack.create_clinic()
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
    booked = stack.book_for(clinic, {"patient": {"name": "Pat Example", "email": email}, "start": start.isoformat()})
    return clinic, str(booked["id"]), start - timedelta(hours=24)


def emails_sent(stack: LocalStack) -> int:
    """What SES counts as sent, from any process (the admin CLI's redrive sends with its own clients)."""
    return int(ses(stack).get_send_quota()["SentLast24Hours"])


def reminder_status(stack: LocalStack, clinic: Clinic, appointment_id: str, reminder_id: str) -> str:
    status, current = stack.api(clinic).get(f"/v1/appointments/{appointment_id}")
    assert status == 200, current
    return str({r["id"]: r for r in current["reminders"]}[reminder_id]["status"])


def test_a_refused_reminder_is_retried_a_minute_later_and_sent_once(own_stack: LocalStack) -> None:
    stack = own_stack
    email = "pat.retry@example.org"
    _, appointment_id, send_at = book_email_only(stack, email)
    name = f"{appointment_id}.reminder-24h.email"
    sender = ses(stack).list_identities()["Identities"]
    sent_before = len(stack.outbox(email))

    # GIVEN the sender identity is no longer verified when the 24 h reminder is due
    for identity in sender:
        ses(stack).delete_identity(Identity=identity)
    first = fired_for(stack.advance_to(send_at + 30 * ONE_SECOND), appointment_id)
    assert [(f["schedule"], f["attempt"], f["error"]) for f in first if f["schedule"] == name] == [
        (name, 1, "TransientSendError")
    ]
    assert len(stack.outbox(email)) == sent_before
    assert [p["at"] for p in stack.pending(name)] == [iso_z(send_at + timedelta(minutes=1))]  # the retry

    # WHEN the operator verifies it again, the retry a minute later sends the reminder, once
    for identity in sender:
        ses(stack).verify_email_identity(EmailAddress=identity)
    retried = fired_for(stack.advance_to(send_at + timedelta(hours=2)), appointment_id)
    assert [(f["attempt"], f["result"]["result"]) for f in retried if f["schedule"] == name] == [(2, "sent")]
    [reminder] = stack.outbox(email)[sent_before:]
    assert reminder["sent_at"] == iso_z(send_at + timedelta(minutes=1))
    assert "10:00 AM" in reminder["subject"]
    assert stack.pending(name) == []  # the one-time schedule deleted itself after its final attempt


def test_a_reminder_refused_past_its_retries_is_dead_lettered_and_redriven_once(own_stack: LocalStack) -> None:
    stack = own_stack
    email = "pat.dlq@example.org"
    clinic, appointment_id, send_at = book_email_only(stack, email)
    name = f"{appointment_id}.reminder-24h.email"
    sender = ses(stack).list_identities()["Identities"]
    sent_before = len(stack.outbox(email))

    # GIVEN the sender stays unverified for the whole retry policy (CareCue's: an hour)
    for identity in sender:
        ses(stack).delete_identity(Identity=identity)
    fired = [
        f for f in fired_for(stack.advance_to(send_at + timedelta(hours=1)), appointment_id) if f["schedule"] == name
    ]

    # THEN it was tried at +0, +1, +3, +7, +15 and +31 minutes and then dead-lettered; nothing was sent
    assert [(f["attempt"], f["error"], f["dead_lettered"]) for f in fired] == [
        (n, "TransientSendError", n == 6) for n in range(1, 7)
    ]
    assert len(stack.outbox(email)) == sent_before
    assert stack.pending(name) == []
    assert reminder_status(stack, clinic, appointment_id, "reminder-24h.email") != "sent"
    emails_before = emails_sent(stack)

    # WHEN the sender is verified again and the operator redrives the dead-letter queue, twice
    for identity in sender:
        ses(stack).verify_email_identity(EmailAddress=identity)
    first = stack.admin("redrive-dlq")
    second = stack.admin("redrive-dlq")

    # THEN the dead-lettered event is what the redrive reads: the reminder goes out once, and is shown sent
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert '"sent": 1' in first.stdout, first.stdout
    assert '"sent"' not in second.stdout, second.stdout
    # moto counts the recipients of each raw email; the booking's confirmation, the one email before, is the unit
    assert sent_before == 1
    assert emails_sent(stack) - emails_before == emails_before, (first.stdout, second.stdout)
    assert reminder_status(stack, clinic, appointment_id, "reminder-24h.email") == "sent"
