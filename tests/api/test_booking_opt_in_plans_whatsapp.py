"""A booking that gives the patient's WhatsApp opt-in plans its messages on WhatsApp, though the opt-in is recorded
only once the booking is stored: at a clinic whose order puts email before SMS (`["whatsapp", "email", "sms"]`), a
patient who prefers WhatsApp and opts in gets the confirmation there, not by email (they did before). A number that
sent STOP on WhatsApp stays off it, whatever a booking says."""

from __future__ import annotations

import json

from chalice.test import Client

from chalicelib.store.clinics import set_whatsapp_phone_number_id
from tests.api.test_receipts_and_fallback import PHONE, book
from tests.conftest import ClinicKeys, World
from tests.whatsapp_support import ENGLISH_CONFIRMATION_TEMPLATES, SENDER, deliver_events

ORDER = ["whatsapp", "email", "sms"]


def whatsapp_before_email(api: Client, clinic: ClinicKeys) -> None:
    set_whatsapp_phone_number_id(clinic.clinic_id, SENDER)
    settings = {"whatsapp": {"templates": ENGLISH_CONFIRMATION_TEMPLATES}, "channel_order": ORDER}
    response = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps(settings))
    assert response.status_code == 200, response.json_body


def test_a_booking_that_opts_in_to_whatsapp_confirms_there_at_a_clinic_that_orders_email_before_sms(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    whatsapp_before_email(api, clinic)

    booked = book(api, clinic, whatsapp_opt_in=True, preferred_channel="whatsapp")

    assert [(m["channel"], m["to"], m["body"]) for m in aws.sent()] == [
        ("whatsapp", PHONE, "Riverside Family Clinic: your appointment is on Wed 2 Dec at 10:00 AM.")
    ]
    planned = [(r["id"], r["channel"]) for r in booked["reminders"]]
    assert planned == [("confirmation.sms", "sms"), ("reminder-24h.sms", "sms"), ("reminder-2h.sms", "sms")]


def test_a_number_that_sent_stop_on_whatsapp_is_planned_on_email_even_when_a_booking_opts_in(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    whatsapp_before_email(api, clinic)
    book(api, clinic, whatsapp_opt_in=True, preferred_channel="whatsapp")
    aws.whatsapp.inbound(SENDER, PHONE, "STOP")
    deliver_events(aws)
    sent = len(aws.sent())

    booked = book(api, clinic, whatsapp_opt_in=True, preferred_channel="whatsapp")

    assert [m["channel"] for m in aws.sent()[sent:]] == ["email"]
    assert [r["channel"] for r in booked["reminders"]] == ["email", "email", "email"]
