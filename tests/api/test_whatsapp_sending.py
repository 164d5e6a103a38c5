"""WhatsApp first: a patient who opted in and prefers WhatsApp gets the clinic's approved template in their
language, filled in; free-form words inside the 24-hour window; SMS when there is no template for that kind and
language, no opt-in, or a STOP on WhatsApp; every message counted per channel in GET /v1/usage. AWS End User
Messaging Social is the local stack's emulator (infra/local/whatsapp_emulator.py), checking each message as the
Cloud API would."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.core.words import Channel
from chalicelib.patients.contacts import opt_out
from chalicelib.patients.whatsapp import record_inbound
from chalicelib.store.models import Delivery
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import fire_when_due
from tests.whatsapp_support import SENDER, connect_whatsapp

PHONE = "+14155550101"
TEMPLATES = {
    "confirmation": {
        "es": {
            "name": "carecue_confirmation",
            "body": "{{1}}: su cita es el {{2}} a las {{3}}.",
            "parameters": ["clinic", "day", "time"],
        }
    },
    "reminder": {
        "es": {
            "name": "carecue_reminder",
            "body": "{{1}} le recuerda su cita el {{2}} a las {{3}}. Confirme: {{4}}",
            "parameters": ["clinic", "day", "time", "link"],
        }
    },
}


@pytest.fixture
def connected(api: Client, aws: World, clinic: ClinicKeys) -> ClinicKeys:
    return connect_whatsapp(api, clinic, SENDER, TEMPLATES)


def book(api: Client, clinic: ClinicKeys, **patient: Any) -> str:
    who = {"name": "Pat Example", "phone": PHONE, "language": "es", **patient}
    body = {"patient": who, "start": "2026-12-02T10:00:00-05:00"}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return str(response.json_body["id"])


def whatsapp_first(api: Client, clinic: ClinicKeys, **patient: Any) -> str:
    return book(api, clinic, whatsapp_opt_in=True, preferred_channel="whatsapp", **patient)


def test_the_confirmation_goes_as_the_clinics_spanish_template_filled_in_and_not_by_sms(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    appointment_id = whatsapp_first(api, connected)

    sent = aws.sent()
    assert [(m["channel"], m["to"], m["body"]) for m in sent] == [
        ("whatsapp", PHONE, "Riverside Family Clinic: su cita es el mié 2 dic a las 10:00.")
    ]
    delivery = Delivery.get(f"{appointment_id}/confirmation.sms", "2026-11-30T14:00:00Z")
    assert (delivery.channel, delivery.status, delivery.message_id) == ("whatsapp", "sent", sent[0]["message_id"])


def test_the_reminder_template_carries_the_confirm_link(api: Client, aws: World, connected: ClinicKeys) -> None:
    appointment_id = whatsapp_first(api, connected)

    assert fire_when_due(aws, appointment_id, "reminder-24h.sms") == {"result": "sent", "reason": None}

    reminder = aws.sent()[-1]
    assert reminder["channel"] == "whatsapp"
    assert reminder["body"].startswith(
        "Riverside Family Clinic le recuerda su cita el mié 2 dic a las 10:00. Confirme: "
    )
    assert "/p/" in reminder["body"]


def test_inside_the_window_the_message_goes_free_form_in_carecues_words(
    api: Client, aws: World, connected: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = whatsapp_first(api, connected)
    clock.set(clock.now() + timedelta(hours=19))  # 1 Dec 09:00 in New York: six hours before the 24-h reminder
    aws.whatsapp.inbound(SENDER, PHONE, "hola")
    record_inbound(connected.clinic_id, PHONE, clock.now())  # what the inbound handler records of it

    assert fire_when_due(aws, appointment_id, "reminder-24h.sms")["result"] == "sent"

    reminder = aws.sent()[-1]
    assert reminder["channel"] == "whatsapp"
    assert reminder["body"].startswith(
        "Riverside Family Clinic: le recordamos su cita del mié 2 de dic, 10:00. Confirmar: "
    )


def test_no_template_in_the_patients_language_sends_the_message_by_sms(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    whatsapp_first(api, connected, language="en")

    assert [m["channel"] for m in aws.sent()] == ["sms"]


def test_without_opt_in_or_after_a_whatsapp_stop_nothing_goes_by_whatsapp(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    book(api, connected, preferred_channel="whatsapp", phone="+14155550102")
    opt_out(connected.clinic_id, Channel.WHATSAPP, PHONE, "whatsapp_reply", aws.services.clock.now())
    whatsapp_first(api, connected)

    assert [(m["channel"], m["to"]) for m in aws.sent()] == [("sms", "+14155550102"), ("sms", PHONE)]


def test_a_clinic_without_a_whatsapp_sender_sends_by_sms(api: Client, aws: World, clinic: ClinicKeys) -> None:
    api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps({"whatsapp": {"templates": TEMPLATES}}))
    whatsapp_first(api, clinic)

    assert [m["channel"] for m in aws.sent()] == ["sms"]


def test_usage_counts_whatsapp_apart_at_the_template_price_plus_the_aws_fee(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    whatsapp_first(api, connected)
    book(api, connected, phone="+14155550102")  # an SMS patient

    usage = api.http.get("/v1/usage", headers=connected.headers).json_body
    assert usage["messages"] == {"sms": 1, "email": 0, "whatsapp": 1, "messenger": 0}
    # +1 has no Meta rate of its own in the default table: the highest listed (0.0325) plus AWS's 0.005.
    assert usage["estimated_cost_usd"] == pytest.approx(0.00831 + 0.0325 + 0.005)
