"""Receipts of a message that went by WhatsApp as a fallback: an email confirmation SES reports bounced for good
goes once on the patient's next channel, WhatsApp, with the fallback's own key as its `biz_opaque_callback_data`,
so WhatsApp's statuses for it reach the reminder view (delivered, read; or failed, with WhatsApp's reason) as a
first send's do. A fallback that fails goes on no third channel. (By Messenger: test_messenger_fallback_receipts;
by email, whose events need a configuration set: tests/e2e/test_email_events.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store.clinics import set_whatsapp_phone_number_id
from chalicelib.store.models import Delivery
from tests.api.test_receipts_and_fallback import BOOKED_AT, BOUNCED, PHONE, book, deliver_ses, ses_event
from tests.conftest import ClinicKeys, World
from tests.whatsapp_support import ENGLISH_CONFIRMATION_TEMPLATES, SENDER, deliver_events


def bounce_to_whatsapp(api: Client, aws: World, clinic: ClinicKeys) -> dict[str, Any]:
    """A clinic on email, then WhatsApp; a patient who opted in to WhatsApp, whose email confirmation bounced."""
    set_whatsapp_phone_number_id(clinic.clinic_id, SENDER)
    settings = {
        "whatsapp": {"templates": ENGLISH_CONFIRMATION_TEMPLATES},
        "channel_order": ["email", "whatsapp", "sms"],
    }
    response = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps(settings))
    assert response.status_code == 200, response.json_body
    booked = book(api, clinic, whatsapp_opt_in=True)
    (email,) = aws.sent()
    key = f"{booked['id']}/confirmation.email|{BOOKED_AT}"
    assert deliver_ses(ses_event("Bounce", email["message_id"], key, BOUNCED))["kind"] == "bounce"
    return booked


@pytest.fixture
def bounced_to_whatsapp(api: Client, aws: World, clinic: ClinicKeys) -> dict[str, Any]:
    return bounce_to_whatsapp(api, aws, clinic)


def confirmation(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, Any]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return dict(next(r for r in body["reminders"] if r["id"] == "confirmation.email")["delivery"])


def test_whatsapp_statuses_of_a_fallback_show_it_delivered_and_read_in_the_view(
    api: Client, aws: World, clinic: ClinicKeys, bounced_to_whatsapp: dict[str, Any]
) -> None:
    # GIVEN the bounced email's confirmation went once by WhatsApp
    assert [(m["channel"], m["body"]) for m in aws.sent()[1:]] == [
        ("whatsapp", "Riverside Family Clinic: your appointment is on Wed 2 Dec at 10:00 AM.")
    ]

    # WHEN WhatsApp reports it sent, delivered and read (the emulator's statuses), and SNS delivers them twice
    statuses = deliver_events(aws)
    deliver_events(aws, statuses)

    # THEN the view shows the email's bounce and the fallback read; nothing more was sent
    view = confirmation(api, clinic, bounced_to_whatsapp["id"])
    assert (view["channel"], view["receipt"], view["failure"]) == ("email", "failed", "email_bounce_general")
    assert view["fallback"] == {
        "channel": "whatsapp",
        "status": "sent",
        "reason": "email_bounce_general",
        "sent_at": BOOKED_AT,
        "receipt": "read",
        "delivered_at": BOOKED_AT,
        "read_at": BOOKED_AT,
    }
    assert len(aws.sent()) == 2
    # AND the email's own delivery keeps SES's receipt
    assert Delivery.get(f"{bounced_to_whatsapp['id']}/confirmation.email", BOOKED_AT).receipt == "failed"


def test_a_fallback_whatsapp_reports_failed_shows_its_reason_and_goes_on_no_third_channel(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    aws.whatsapp.not_on_whatsapp(PHONE)  # WhatsApp takes the message, then reports it failed (131026)
    booked = bounce_to_whatsapp(api, aws, clinic)

    deliver_events(aws)

    view = confirmation(api, clinic, booked["id"])
    assert view["fallback"]["receipt"] == "failed"
    assert view["fallback"]["failure"] == "whatsapp_131026"
    assert [m["channel"] for m in aws.sent()] == ["email", "whatsapp"]  # no SMS: one fallback a message
    usage = api.http.get("/v1/usage", headers=clinic.headers).json_body["messages"]
    assert (usage["email"], usage["whatsapp"], usage["sms"]) == (1, 1, 0)
