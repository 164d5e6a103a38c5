"""SES bounces and complaints, as the email-feedback function receives them from SNS: a permanent bounce or a
complaint stops every email to that address (SMS still goes); a transient bounce changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.send.email_feedback import address_hash
from chalicelib.store.models import EmailSuppression
from tests.conftest import ClinicKeys, World
from tests.integration.test_fire import book, reminder_status
from tests.timer_support import fire, timer_event

ADDRESS = "pat@example.org"


def ses_event(kind: str, **details: Any) -> str:
    """A configuration-set event as SES publishes it to SNS (trimmed to what CareCue reads)."""
    mail = {"source": "reminders@carecue.example", "destination": [ADDRESS], "messageId": "0100-example"}
    return json.dumps({"eventType": kind, "mail": mail, kind.lower(): details})


def deliver_feedback(message: str) -> dict[str, Any]:
    with Client(app, stage_name="local") as client:
        event = client.events.generate_sns_event(message=message, subject="Amazon SES Email Event Notification")
        return dict(client.lambda_.invoke("email_feedback", event).payload)


def test_after_a_permanent_bounce_no_email_goes_to_the_address_but_sms_still_does(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    bounce = ses_event(
        "Bounce",
        bounceType="Permanent",
        bounceSubType="General",
        bouncedRecipients=[{"emailAddress": "Pat@Example.org", "status": "5.1.1"}],
    )
    capsys.readouterr()

    assert deliver_feedback(bounce) == {"kind": "bounce", "addresses": 1}
    assert ADDRESS not in capsys.readouterr().out.lower()  # the log line names no address

    # a patient who prefers email: the undeliverable address is passed over for the next channel, SMS
    appointment_id = book(aws, clinic, email=ADDRESS, preferred_channel="email")
    assert [m["to"] for m in aws.sent("email")] == []
    assert [m["to"] for m in aws.sent("sms")] == ["+14155550100"]
    assert reminder_status(appointment_id, "confirmation.sms")[0] == "sent"
    assert fire(timer_event(aws, appointment_id, "reminder-24h.sms"))["result"] == "sent"
    assert aws.sent("email") == []
    stored = EmailSuppression.get(address_hash(ADDRESS))
    assert (stored.reason, stored.detail) == ("bounce", "General")
    assert ADDRESS not in json.dumps(stored.attribute_values, default=str).lower()


def test_a_complaint_stops_email_to_the_address(aws: World, clinic: ClinicKeys) -> None:
    complaint = ses_event("Complaint", complainedRecipients=[{"emailAddress": ADDRESS}], complaintFeedbackType="abuse")

    assert deliver_feedback(complaint) == {"kind": "complaint", "addresses": 1}

    book(aws, clinic, email=ADDRESS, preferred_channel="email")
    assert aws.sent("email") == []


def test_a_transient_bounce_or_an_unknown_message_changes_nothing(aws: World, clinic: ClinicKeys) -> None:
    transient = ses_event(
        "Bounce", bounceType="Transient", bounceSubType="MailboxFull", bouncedRecipients=[{"emailAddress": ADDRESS}]
    )

    assert deliver_feedback(transient) == {"kind": "ignored", "addresses": 0}
    assert deliver_feedback("not json") == {"kind": "ignored", "addresses": 0}

    book(aws, clinic, email=ADDRESS, preferred_channel="email")
    assert [m["to"] for m in aws.sent("email")] == [ADDRESS]
