"""The WhatsApp Business Account's events as AWS End User Messaging Social publishes them to its SNS event
destination: a patient's messages (the window, the opt-in, the same answers as SMS, STOP stopping WhatsApp only)
and the statuses of the messages CareCue sent (sent → delivered → read, or failed; a duplicate changes nothing)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.core.words import Channel
from chalicelib.patients.contacts import find_contact, is_opted_out
from chalicelib.store.models import Appointment, Delivery
from tests.conftest import ClinicKeys, World
from tests.whatsapp_support import SENDER, SPANISH_CONFIRMATION_TEMPLATES, connect_whatsapp, deliver_events

PHONE = "+14155550101"


@pytest.fixture
def connected(api: Client, aws: World, clinic: ClinicKeys) -> ClinicKeys:
    return connect_whatsapp(api, clinic, SENDER, SPANISH_CONFIRMATION_TEMPLATES)


def book(api: Client, clinic: ClinicKeys, phone: str = PHONE, **patient: Any) -> dict[str, Any]:
    who = {"name": "Pat Example", "phone": phone, "language": "es", "preferred_channel": "whatsapp", **patient}
    response = api.http.post(
        "/v1/appointments",
        headers=clinic.headers,
        body=json.dumps({"patient": who, "start": "2026-12-02T10:00:00-05:00"}),
    )
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def write(aws: World, body: str, phone: str = PHONE) -> None:
    aws.whatsapp.inbound(SENDER, phone, body)
    deliver_events(aws)


def test_a_c_on_whatsapp_confirms_and_is_answered_on_whatsapp_in_spanish_and_opts_the_number_in(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    booked = book(api, connected)  # no opt-in yet: the confirmation went by SMS
    assert [m["channel"] for m in aws.sent()] == ["sms"]

    write(aws, "C")

    appointment = Appointment.get(connected.clinic_id, booked["id"])
    assert (appointment.confirmed_via, appointment.confirmed_at is not None) == ("whatsapp", True)
    answer = aws.sent()[-1]
    assert (answer["channel"], answer["to"]) == ("whatsapp", PHONE)
    assert answer["body"] == "Riverside Family Clinic: gracias, su cita del mié 2 de dic, 10:00 queda confirmada."
    contact = find_contact(connected.clinic_id, Channel.WHATSAPP, PHONE)
    assert contact is not None and contact.opt_in_source == "whatsapp_inbound"
    assert contact.last_inbound_at == aws.services.clock.now()
    usage = api.http.get("/v1/usage", headers=connected.headers).json_body
    assert usage["messages"] == {"sms": 1, "email": 0, "whatsapp": 1, "messenger": 0}


def test_stop_on_whatsapp_stops_whatsapp_only_and_the_next_message_goes_by_sms(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    book(api, connected, whatsapp_opt_in=True)
    assert [m["channel"] for m in aws.sent()] == ["whatsapp"]

    write(aws, "STOP")
    book(api, connected, whatsapp_opt_in=True)  # a second booking's confirmation

    assert is_opted_out(connected.clinic_id, Channel.WHATSAPP, PHONE)
    assert not is_opted_out(connected.clinic_id, Channel.SMS, PHONE)
    assert [m["channel"] for m in aws.sent()] == ["whatsapp", "whatsapp", "sms"]  # confirmation, STOP answer, SMS


def test_statuses_move_the_delivery_to_read_and_a_duplicate_status_changes_nothing(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    booked = book(api, connected, whatsapp_opt_in=True)
    key = (f"{booked['id']}/confirmation.sms", "2026-11-30T14:00:00Z")

    statuses = deliver_events(aws)  # sent, delivered, read
    first = Delivery.get(*key)
    deliver_events(aws, statuses)  # SNS delivers them all again
    again = Delivery.get(*key)

    assert [
        json.loads(s["whatsAppWebhookEntry"])["changes"][0]["value"]["statuses"][0]["status"] for s in statuses
    ] == [
        "sent",
        "delivered",
        "read",
    ]
    assert (first.receipt, first.delivered_at is not None, first.read_at is not None) == ("read", True, True)
    assert again.attribute_values == first.attribute_values
    assert len(aws.sent()) == 1  # nothing sent again


def test_a_number_not_on_whatsapp_records_the_failure_with_metas_code(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    aws.whatsapp.not_on_whatsapp(PHONE)
    booked = book(api, connected, whatsapp_opt_in=True)

    deliver_events(aws)

    delivery = Delivery.get(f"{booked['id']}/confirmation.sms", "2026-11-30T14:00:00Z")
    assert (delivery.status, delivery.receipt, delivery.receipt_failure) == ("sent", "failed", "whatsapp_131026")


def test_an_event_that_is_not_whatsapps_or_for_no_clinic_is_dropped(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    booked = book(api, connected)
    aws.whatsapp.inbound("phone-number-id-ffffffffffffffffffffffffffffffff", PHONE, "C")

    deliver_events(aws, [{"whatsAppWebhookEntry": "not json"}])
    deliver_events(aws)  # a "C" to a number no clinic has

    assert Appointment.get(connected.clinic_id, booked["id"]).confirmed_at is None
    assert [m["channel"] for m in aws.sent()] == ["sms"]


def test_a_stranger_writing_to_the_clinics_whatsapp_is_answered_there_with_its_help_text_once(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    write(aws, "hola", phone="+14155550109")
    write(aws, "hola otra vez", phone="+14155550109")

    answers = aws.sent()
    assert [(m["channel"], m["to"]) for m in answers] == [("whatsapp", "+14155550109")]
    assert "Riverside Family Clinic" in answers[0]["body"]
