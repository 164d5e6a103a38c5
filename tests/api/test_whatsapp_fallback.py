"""Fallback from WhatsApp: a message WhatsApp refuses at once, or later reports failed (a number not on
WhatsApp, Meta's 131026), goes once by SMS with the same words in the patient's language; a status delivered
again sends nothing more; the delivery records both; usage counts each message on the channel it went by."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.core.words import Channel
from chalicelib.patients.contacts import opt_out
from chalicelib.patients.whatsapp import record_inbound
from chalicelib.store.models import Delivery
from tests.conftest import ClinicKeys, World
from tests.whatsapp_support import SENDER, SPANISH_CONFIRMATION_TEMPLATES, SPANISH_SMS, connect_whatsapp, deliver_events

PHONE = "+14155550102"
# The Spanish SMS confirmation, as a patient without WhatsApp gets it.


@pytest.fixture
def connected(api: Client, aws: World, clinic: ClinicKeys) -> ClinicKeys:
    return connect_whatsapp(api, clinic, SENDER, SPANISH_CONFIRMATION_TEMPLATES)


def book(api: Client, clinic: ClinicKeys, **patient: Any) -> dict[str, Any]:
    who = {"name": "Pat Example", "phone": PHONE, "language": "es", **patient}
    response = api.http.post(
        "/v1/appointments",
        headers=clinic.headers,
        body=json.dumps({"patient": who, "start": "2026-12-02T10:00:00-05:00"}),
    )
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def usage(api: Client, clinic: ClinicKeys) -> dict[str, int]:
    return dict(api.http.get("/v1/usage", headers=clinic.headers).json_body["messages"])


def delivery_of(booked: dict[str, Any]) -> Delivery:
    return Delivery.get(f"{booked['id']}/confirmation.sms", "2026-11-30T14:00:00Z")


def test_the_sms_words_in_spanish_without_whatsapp(api: Client, aws: World, connected: ClinicKeys) -> None:
    book(api, connected)  # the words the fallback must repeat, as an SMS-only patient reads them

    assert [(m["channel"], m["body"]) for m in aws.sent()] == [("sms", SPANISH_SMS)]


def test_a_failed_status_sends_the_same_message_once_by_sms_and_a_duplicate_sends_nothing_more(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    aws.whatsapp.not_on_whatsapp(PHONE)
    booked = book(api, connected, whatsapp_opt_in=True, preferred_channel="whatsapp")
    assert [m["channel"] for m in aws.sent()] == ["whatsapp"]

    statuses = deliver_events(aws)  # failed, 131026
    deliver_events(aws, statuses)  # SNS delivers it again
    deliver_events(aws, statuses)

    assert [(m["channel"], m["to"], m["body"]) for m in aws.sent()[1:]] == [("sms", PHONE, SPANISH_SMS)]
    delivery = delivery_of(booked)
    assert (delivery.channel, delivery.status, delivery.receipt, delivery.receipt_failure) == (
        "whatsapp",
        "sent",
        "failed",
        "whatsapp_131026",
    )
    assert (delivery.fallback_channel, delivery.fallback_status, delivery.fallback_reason) == (
        "sms",
        "sent",
        "whatsapp_131026",
    )
    assert delivery.fallback_message_id and delivery.fallback_message_id != delivery.message_id
    assert usage(api, connected) == {
        "sms": 1,
        "email": 0,
        "whatsapp": 1,
        "messenger": 0,
    }  # counted when WhatsApp took it


def test_a_message_whatsapp_refuses_at_once_goes_by_sms_at_once_and_is_not_charged_on_whatsapp(
    api: Client, aws: World, connected: ClinicKeys
) -> None:
    # CareCue holds the patient's 24-hour window open (a message it recorded from them), but WhatsApp does not:
    # the free-form text is refused (re-engagement) while the booking is being made.
    record_inbound(connected.clinic_id, PHONE, aws.services.clock.now())
    booked = book(api, connected, preferred_channel="whatsapp")

    assert [(m["channel"], m["to"], m["body"]) for m in aws.sent()] == [("sms", PHONE, SPANISH_SMS)]
    assert aws.whatsapp.take_events() == []  # nothing WhatsApp took, so no status will come
    delivery = delivery_of(booked)
    assert (delivery.channel, delivery.status, delivery.failure) == (
        "whatsapp",
        "failed",
        "whatsapp_ValidationException",
    )
    assert (delivery.fallback_channel, delivery.fallback_status, delivery.fallback_reason) == (
        "sms",
        "sent",
        "whatsapp_ValidationException",
    )
    assert usage(api, connected) == {
        "sms": 1,
        "email": 0,
        "whatsapp": 0,
        "messenger": 0,
    }  # the refused message is taken back


def test_no_fallback_to_sms_for_a_patient_who_opted_out_of_sms(api: Client, aws: World, connected: ClinicKeys) -> None:
    aws.whatsapp.not_on_whatsapp(PHONE)
    booked = book(api, connected, whatsapp_opt_in=True, preferred_channel="whatsapp")
    opt_out(connected.clinic_id, Channel.SMS, PHONE, "sms_stop", aws.services.clock.now())  # as a STOP by SMS

    deliver_events(aws)  # failed, 131026

    assert [m["channel"] for m in aws.sent()] == ["whatsapp"]
    delivery = delivery_of(booked)
    assert (delivery.fallback_status, delivery.fallback_failure) == ("skipped", "opted_out_sms")
    assert usage(api, connected) == {"sms": 0, "email": 0, "whatsapp": 1, "messenger": 0}
