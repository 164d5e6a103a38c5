"""Receipts of a message that went by Messenger as a fallback: a reminder WhatsApp later reports `failed` (a number
not on WhatsApp) goes once on the patient's next channel, Messenger; Meta's `message_deliveries` event naming that
message's mid marks the fallback delivered, `message_reads` marks it read, and the reminder view shows both, the
WhatsApp failure kept. The events are Meta's documented payloads (tests/fixtures/webhooks/messenger/)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store.clinics import set_whatsapp_phone_number_id
from chalicelib.store.models import Delivery
from infra.local.clock import SimulatedClock
from tests.api.test_messenger import PHONE, book
from tests.api.test_messenger_receipts import meta_event, ms
from tests.conftest import ClinicKeys, World
from tests.messenger_support import TEMPLATES as MESSENGER_TEMPLATES
from tests.messenger_support import connect_messenger, m_me_ref, page_event, post_event, referral
from tests.timer_support import fire_when_due
from tests.whatsapp_support import SENDER, deliver_events

WHATSAPP_TEMPLATES = {
    "reminder": {
        "en": {
            "name": "carecue_reminder",
            "body": "{{1}}: reminder of your appointment on {{2}} at {{3}}.",
            "parameters": ["clinic", "day", "time"],
        }
    }
}
DAY_BEFORE = "2026-12-01T15:00:00Z"  # the 24-h reminder's occurrence (the appointment is 2 Dec 10:00 New York)


@pytest.fixture
def whatsapp_then_messenger(
    api: Client, aws: World, clinic: ClinicKeys, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """A clinic on WhatsApp and Messenger, in that order, and a patient who opted in to WhatsApp and linked the
    Page (by the m.me link of the SMS confirmation), whose number is not on WhatsApp."""
    connect_messenger(api, clinic, monkeypatch, capsys)
    set_whatsapp_phone_number_id(clinic.clinic_id, SENDER)
    settings = {
        "whatsapp": {"templates": WHATSAPP_TEMPLATES},
        "messenger": {"templates": MESSENGER_TEMPLATES},
        "channel_order": ["whatsapp", "messenger", "sms", "email"],
    }
    response = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps(settings))
    assert response.status_code == 200, response.json_body
    booked = book(api, clinic, whatsapp_opt_in=True)
    ref = m_me_ref(aws.sent("sms")[-1]["body"])
    assert post_event(api, page_event(referral(ref, aws.services.clock.now()))).json_body["linked"] == 1
    aws.whatsapp.not_on_whatsapp(PHONE)
    return booked


def reminder_delivery(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, Any]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return dict(next(r for r in body["reminders"] if r["id"] == "reminder-24h.sms")["delivery"])


def test_a_reminder_whatsapp_failed_goes_by_messenger_whose_delivery_and_read_receipts_the_view_shows(
    api: Client, aws: World, clinic: ClinicKeys, whatsapp_then_messenger: dict[str, Any], clock: SimulatedClock
) -> None:
    booked = whatsapp_then_messenger
    # GIVEN the day-before reminder went by WhatsApp, and WhatsApp reported it failed (not on WhatsApp)
    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"
    deliver_events(aws)
    went = [(m["channel"], m["body"]) for m in aws.sent() if "reminder of your appointment" in m["body"]]
    assert [channel for channel, _ in went] == ["whatsapp"]
    # The same reminder went once by Messenger, as the Page's utility template
    messenger = [m for m in aws.sent() if m["channel"] == "messenger"]
    assert [m["body"] for m in messenger] == [messenger[0]["body"]]
    assert messenger[0]["body"].startswith(
        "Riverside Family Clinic: your appointment is on Wed 2 Dec at 10:00 AM. Confirm: https://"
    )
    mid = messenger[0]["message_id"]
    sent_at = clock.now()

    # WHEN Meta reports that message delivered, and later read
    clock.set(sent_at + timedelta(seconds=5))
    delivered = post_event(api, meta_event("message_delivery.json", mids=[mid], watermark=ms(sent_at)))
    clock.set(sent_at + timedelta(minutes=2))
    read = post_event(api, meta_event("message_read.json", watermark=ms(sent_at + timedelta(minutes=1))))
    again = post_event(api, meta_event("message_read.json", watermark=ms(sent_at + timedelta(minutes=1))))

    # THEN the reminder view shows the WhatsApp failure and the fallback delivered and read
    assert [r.json_body["receipts"] for r in (delivered, read, again)] == [1, 1, 0]
    view = reminder_delivery(api, clinic, booked["id"])
    assert (view["channel"], view["receipt"], view["failure"]) == ("whatsapp", "failed", "whatsapp_131026")
    assert view["fallback"] == {
        "channel": "messenger",
        "status": "sent",
        "reason": "whatsapp_131026",
        "sent_at": DAY_BEFORE,
        "receipt": "read",
        "delivered_at": DAY_BEFORE,
        "read_at": "2026-12-01T15:01:00Z",
    }
    # AND the first delivery's own receipt stays WhatsApp's
    assert Delivery.get(f"{booked['id']}/reminder-24h.sms", DAY_BEFORE).receipt == "failed"


def test_a_delivery_of_another_mid_leaves_the_fallback_sent(
    api: Client, aws: World, clinic: ClinicKeys, whatsapp_then_messenger: dict[str, Any], clock: SimulatedClock
) -> None:
    booked = whatsapp_then_messenger
    fire_when_due(aws, booked["id"], "reminder-24h.sms")
    deliver_events(aws)
    sent_at = clock.now()

    response = post_event(api, meta_event("message_delivery.json", mids=["m_unknown"], watermark=ms(sent_at) - 60_000))

    assert response.json_body["receipts"] == 0
    assert reminder_delivery(api, clinic, booked["id"])["fallback"]["receipt"] == "sent"
