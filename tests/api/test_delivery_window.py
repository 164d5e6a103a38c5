"""The clinic's delivery window: a message that went by WhatsApp or Messenger and that the channel has not
reported delivered when the window ends (default 15 minutes from the send, `delivery_window_minutes` in
PUT /v1/clinic) goes once on the patient's next channel, with the same words; a message reported delivered in time,
a window timer fired twice, or one fired after the fallback sends nothing more; SMS arms no window (SNS reports no
delivery). The window's timer is fired as Scheduler would, from what moto's Scheduler stored."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store.models import Delivery
from infra.local.clock import SimulatedClock
from tests.api.test_messenger import linked_by_referral
from tests.conftest import TEST_NOW, ClinicKeys, World
from tests.messenger_support import TEMPLATES as MESSENGER_TEMPLATES
from tests.messenger_support import connect_messenger
from tests.timer_support import armed_expressions, fire_stored, fire_when_due
from tests.whatsapp_support import SENDER, SPANISH_CONFIRMATION_TEMPLATES, SPANISH_SMS, connect_whatsapp, deliver_events

PHONE = "+14155550103"
BOOKED_AT = TEST_NOW.strftime("%Y-%m-%dT%H:%M:%SZ")  # the clock fixture's instant: the confirmation's occurrence


@pytest.fixture
def connected(api: Client, aws: World, clinic: ClinicKeys) -> ClinicKeys:
    return connect_whatsapp(api, clinic, SENDER, SPANISH_CONFIRMATION_TEMPLATES)


def book_on_whatsapp(api: Client, clinic: ClinicKeys) -> dict[str, Any]:
    who = {"name": "Pat Example", "phone": PHONE, "language": "es", "whatsapp_opt_in": True}
    body = {"patient": {**who, "preferred_channel": "whatsapp"}, "start": "2026-12-02T10:00:00-05:00"}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def windows(aws: World) -> dict[str, str]:
    """The armed delivery-window timers, by name, with their `at()` expressions."""
    return {name: at for name, at in armed_expressions(aws).items() if ".w" in name}


def confirmation_view(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, Any]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return dict(next(r for r in body["reminders"] if r["id"] == "confirmation.sms")["delivery"])


def test_a_whatsapp_message_not_delivered_in_15_minutes_goes_once_by_sms_and_a_second_firing_sends_nothing(
    api: Client, aws: World, connected: ClinicKeys, clock: SimulatedClock
) -> None:
    aws.whatsapp.withhold_delivery(PHONE)  # the phone is off: WhatsApp reports the message sent, never delivered
    booked = book_on_whatsapp(api, connected)
    deliver_events(aws)
    assert [m["channel"] for m in aws.sent()] == ["whatsapp"]
    name = f"{booked['id']}.confirmation.sms.w{int(datetime.fromisoformat(BOOKED_AT).timestamp())}"
    assert windows(aws) == {name: "at(2026-11-30T14:15:00)"}  # sent at 14:00, the default window

    clock.set(clock.now() + timedelta(minutes=15))
    first = fire_stored(aws, name)
    again = fire_stored(aws, name)  # Scheduler delivers at least once

    assert first == {"result": "sent", "reason": "whatsapp_not_delivered"}
    assert again["result"] == "duplicate"
    assert [(m["channel"], m["to"], m["body"]) for m in aws.sent()[1:]] == [("sms", PHONE, SPANISH_SMS)]
    view = confirmation_view(api, connected, booked["id"])
    assert (view["channel"], view["receipt"]) == ("whatsapp", "sent")
    assert view["fallback"] == {
        "channel": "sms",
        "status": "sent",
        "reason": "whatsapp_not_delivered",
        "sent_at": "2026-11-30T14:15:00Z",
    }


def test_a_message_delivered_within_the_window_sends_nothing_more_when_it_ends(
    api: Client, aws: World, connected: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book_on_whatsapp(api, connected)
    clock.set(clock.now() + timedelta(minutes=2))
    deliver_events(aws)  # sent, delivered, read
    (name,) = windows(aws)

    clock.set(clock.now() + timedelta(minutes=13))
    assert fire_stored(aws, name) == {"result": "skipped", "reason": "receipt_read"}

    assert [m["channel"] for m in aws.sent()] == ["whatsapp"]
    assert "fallback" not in confirmation_view(api, connected, booked["id"])


def test_a_late_delivery_after_the_fallback_is_recorded_and_sends_nothing_more(
    api: Client, aws: World, connected: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book_on_whatsapp(api, connected)
    late = aws.whatsapp.take_events()  # held back past the window
    (name,) = windows(aws)
    clock.set(clock.now() + timedelta(minutes=15))
    assert fire_stored(aws, name)["result"] == "sent"

    deliver_events(aws, late)

    assert [m["channel"] for m in aws.sent()] == ["whatsapp", "sms"]
    assert confirmation_view(api, connected, booked["id"])["receipt"] == "read"


def test_the_clinics_window_sets_when_a_messenger_reminder_goes_by_sms(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    connect_messenger(api, clinic, monkeypatch, capsys)
    settings = {"messenger": {"templates": MESSENGER_TEMPLATES}, "delivery_window_minutes": 45}  # PUT is whole
    response = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps(settings))
    assert (response.status_code, response.json_body["delivery_window_minutes"]) == (200, 45)
    booked = linked_by_referral(api, aws, clinic)
    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"
    assert aws.sent()[-1]["channel"] == "messenger"
    name = f"{booked['id']}.reminder-24h.sms.w{int(datetime.fromisoformat('2026-12-01T15:00:00+00:00').timestamp())}"
    assert windows(aws)[name] == "at(2026-12-01T15:45:00)"

    assert fire_stored(aws, name) == {"result": "sent", "reason": "messenger_not_delivered"}

    sms = aws.sent()[-1]
    assert (sms["channel"], sms["to"]) == ("sms", "+14155550141")
    assert sms["body"].startswith("Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00")
    delivery = Delivery.get(f"{booked['id']}/reminder-24h.sms", "2026-12-01T15:00:00Z")
    assert (delivery.channel, delivery.fallback_channel, delivery.fallback_reason) == (
        "messenger",
        "sms",
        "messenger_not_delivered",
    )


def test_an_sms_arms_no_window(api: Client, aws: World, clinic: ClinicKeys) -> None:
    body = {"patient": {"name": "Pat Example", "phone": PHONE}, "start": "2026-12-02T10:00:00-05:00"}
    assert api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body)).status_code == 201

    assert [m["channel"] for m in aws.sent()] == ["sms"]
    assert windows(aws) == {}


@pytest.mark.parametrize("value", [4, 1441, "15", 15.5, True, None])
def test_a_delivery_window_out_of_bounds_is_a_400_naming_it_and_stores_nothing(
    api: Client, clinic: ClinicKeys, value: Any
) -> None:
    response = api.http.put(
        "/v1/clinic", headers=clinic.headers, body=json.dumps({"delivery_window_minutes": value, "frequency_caps": 1})
    )

    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_request"
    assert response.json_body["error"]["fields"] == [
        {"field": "frequency_caps", "problem": "must be true or false"},
        {"field": "delivery_window_minutes", "problem": "must be a whole number from 5 to 1440"},
    ]
    shown = api.http.get("/v1/clinic", headers=clinic.headers).json_body
    assert (shown["delivery_window_minutes"], shown["frequency_caps"]) == (15, False)
