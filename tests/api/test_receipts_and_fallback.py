"""Receipts in the reminder view (GET /v1/appointments/{id}: each sent reminder's `delivery`: the channel it went
on, sent → delivered → read or failed with the channel's reason, lateness scheduled → sent → delivered), from
WhatsApp's statuses and SES's configuration-set events (Delivery, Open, Bounce, Complaint; SMS is sent only), and
the fallback after an SES permanent bounce: the same message once on the patient's next channel, claimed like a
send (the same bounce again sends nothing more), metered on the channel it went by.

The SES events are the documented shapes of "Examples of event data that Amazon SES publishes to Amazon SNS"
(docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html), trimmed of the headers CareCue
does not read, with the message id and the `carecue-delivery` tag of the email CareCue sent."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalice.test import Client

from app import app
from chalicelib.send.email import delivery_tag_value
from infra.local.clock import SimulatedClock
from tests.conftest import TEST_NOW, ClinicKeys, World
from tests.timer_support import fire_when_due
from tests.whatsapp_support import ENGLISH_CONFIRMATION_TEMPLATES, SENDER, connect_whatsapp, deliver_events

PHONE = "+14155550141"
EMAIL = "pat141@example.com"
BOOKED_AT = TEST_NOW.strftime("%Y-%m-%dT%H:%M:%SZ")  # the clock fixture's instant: the confirmation's occurrence


def book(api: Client, clinic: ClinicKeys, **patient: Any) -> dict[str, Any]:
    who = {"name": "Pat Example", "phone": PHONE, "email": EMAIL, **patient}
    body = {"patient": who, "start": "2026-12-02T10:00:00-05:00"}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def reminders(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, dict[str, Any]]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return {r["id"]: r for r in body["reminders"]}


def ses_event(kind: str, message_id: str, delivery_key: str, details: dict[str, Any]) -> str:
    """An SES configuration-set event as published to SNS, for the email `message_id` sent for `delivery_key`."""
    mail = {
        "timestamp": "2026-11-30T14:00:00.000Z",
        "source": "reminders@carecue.example",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/reminders@carecue.example",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": [EMAIL],
        "headersTruncated": False,
        "tags": {
            "ses:configuration-set": ["carecue-test"],
            "ses:source-ip": ["192.0.2.0"],
            "ses:from-domain": ["carecue.example"],
            "ses:caller-identity": ["carecue-test"],
            "carecue-delivery": [delivery_tag_value(delivery_key)],
        },
    }
    return json.dumps({"eventType": kind, "mail": mail, kind.lower(): details})


def deliver_ses(message: str) -> dict[str, Any]:
    with Client(app, stage_name="local") as client:
        event = client.events.generate_sns_event(message=message, subject="Amazon SES Email Event Notification")
        return dict(client.lambda_.invoke("email_feedback", event).payload)


DELIVERED = {
    "timestamp": "2026-11-30T14:00:04.133Z",
    "processingTimeMillis": 4133,
    "recipients": [EMAIL],
    "smtpResponse": "250 2.6.0 Message received",
    "reportingMTA": "mta.example.com",
}
OPENED = {"ipAddress": "192.0.2.1", "timestamp": "2026-11-30T14:05:00.000Z", "userAgent": "Mozilla/5.0"}
BOUNCED = {
    "bounceType": "Permanent",
    "bounceSubType": "General",
    "bouncedRecipients": [
        {
            "emailAddress": EMAIL,
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 user unknown",
        }
    ],
    "timestamp": "2026-11-30T14:00:03.669Z",
    "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
    "reportingMTA": "dsn; mta.example.com",
}


def test_ses_delivery_and_open_events_show_as_delivered_then_read_in_the_reminder_view(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book(api, clinic, preferred_channel="email")
    (email,) = aws.sent()
    key = f"{booked['id']}/confirmation.email|{BOOKED_AT}"
    assert reminders(api, clinic, booked["id"])["confirmation.email"]["delivery"] == {
        "channel": "email",
        "receipt": "sent",
        "sent_at": BOOKED_AT,
        "lateness_seconds": 0.0,
    }
    clock.set(datetime.fromisoformat("2026-11-30T14:10:00Z"))  # SES reports after the events

    deliver_ses(ses_event("Delivery", email["message_id"], key, DELIVERED))
    deliver_ses(ses_event("Open", email["message_id"], key, OPENED))
    deliver_ses(ses_event("Delivery", email["message_id"], key, DELIVERED))  # late and again: changes nothing

    assert reminders(api, clinic, booked["id"])["confirmation.email"]["delivery"] == {
        "channel": "email",
        "receipt": "read",
        "sent_at": BOOKED_AT,
        "delivered_at": "2026-11-30T14:00:04Z",
        "read_at": "2026-11-30T14:05:00Z",
        "lateness_seconds": 0.0,
        "delivery_seconds": 4.133,
    }
    assert len(aws.sent()) == 1


def test_a_permanent_bounce_sends_the_message_once_by_sms_and_the_view_shows_both(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    booked = book(api, clinic, preferred_channel="email")
    (email,) = aws.sent()
    key = f"{booked['id']}/confirmation.email|{BOOKED_AT}"

    assert deliver_ses(ses_event("Bounce", email["message_id"], key, BOUNCED)) == {"kind": "bounce", "addresses": 1}
    deliver_ses(ses_event("Bounce", email["message_id"], key, BOUNCED))  # SNS delivered it twice

    fallback = aws.sent()[1:]
    assert [(m["channel"], m["to"], m["body"]) for m in fallback] == [
        ("sms", PHONE, "Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 10:00 AM.")
    ]
    delivery = reminders(api, clinic, booked["id"])["confirmation.email"]["delivery"]
    assert delivery["receipt"] == "failed" and delivery["failure"] == "email_bounce_general"
    assert delivery["fallback"] == {
        "channel": "sms",
        "status": "sent",
        "reason": "email_bounce_general",
        "sent_at": BOOKED_AT,
    }
    usage = api.http.get("/v1/usage", headers=clinic.headers).json_body["messages"]
    assert (usage["email"], usage["sms"]) == (1, 1)


def test_a_reminder_by_sms_is_sent_only_and_a_bounce_without_our_tag_changes_no_delivery(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    booked = book(api, clinic)
    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"
    untagged = json.loads(ses_event("Bounce", "0100-unknown", "x/y|z", BOUNCED))
    del untagged["mail"]["tags"]["carecue-delivery"]

    deliver_ses(json.dumps(untagged))

    shown = reminders(api, clinic, booked["id"])
    assert shown["reminder-24h.sms"]["delivery"] == {
        "channel": "sms",
        "receipt": "sent",
        "sent_at": "2026-12-01T15:00:00Z",
        "lateness_seconds": 0.0,
    }
    assert "delivery" not in shown["reminder-2h.sms"]  # not sent yet
    assert len(aws.sent()) == 2  # the confirmation and the reminder, nothing more


def test_whatsapp_statuses_show_in_the_reminder_view(api: Client, aws: World, clinic: ClinicKeys) -> None:
    connect_whatsapp(api, clinic, SENDER, ENGLISH_CONFIRMATION_TEMPLATES)
    booked = book(api, clinic, whatsapp_opt_in=True, preferred_channel="whatsapp")

    deliver_events(aws)  # sent, delivered, read, as the emulator reports them

    delivery = reminders(api, clinic, booked["id"])["confirmation.sms"]["delivery"]
    assert (delivery["channel"], delivery["receipt"]) == ("whatsapp", "read")
    assert delivery["delivered_at"] == delivery["read_at"] == BOOKED_AT
    assert delivery["delivery_seconds"] == 0.0
    assert [(m["channel"], m["body"]) for m in aws.sent()] == [
        ("whatsapp", "Riverside Family Clinic: your appointment is on Wed 2 Dec at 10:00 AM.")
    ]
