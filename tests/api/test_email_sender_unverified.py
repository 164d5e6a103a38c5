"""The SES sender identity unverified (removed in the console by mistake): an email cannot go, but that is
CareCue's set-up, not the patient's address. The email is retried, not failed for good, and goes once the
identity is verified again; the SMS of the same booking is not held up."""

from __future__ import annotations

import json
from datetime import timedelta

from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import armed_schedules, fire_stored


def test_an_email_refused_for_an_unverified_sender_goes_once_the_sender_is_verified_again(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    ses = aws.session.client("ses")
    sender = aws.services.settings.ses_sender
    ses.delete_identity(Identity=sender)
    body = {
        "patient": {
            "name": "Pat Example",
            "phone": "+14155550100",
            "email": "pat@example.org",
            "preferred_channel": "email",
        },
        "start": "2026-12-02T10:00:00-05:00",
    }

    booked = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))

    assert booked.status_code == 201
    reminders = {r["id"]: r["status"] for r in booked.json_body["reminders"]}
    assert reminders["confirmation.email"] == "scheduled"
    assert aws.sent() == []  # a sender set-up problem is retried on email, not moved to SMS
    retry = f"{booked.json_body['id']}.confirmation.email"
    assert retry in armed_schedules(aws)

    ses.verify_email_identity(EmailAddress=sender)
    clock.advance(timedelta(minutes=1))
    first = fire_stored(aws, retry)
    again = fire_stored(aws, retry)

    assert (first["result"], again["result"]) == ("sent", "duplicate")
    (email,) = aws.sent("email")
    assert email["to"] == "pat@example.org"
    assert "Wed 2 Dec at 10:00 AM" in email["body"]
