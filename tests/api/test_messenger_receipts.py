"""Messenger's receipts in the reminder view (GET /v1/appointments/{id}): Meta's `message_deliveries` event marks
the message whose Send API `message_id` it names delivered, `message_reads` marks every message sent to that PSID
on that Page up to its watermark read; a duplicate event, an unknown mid or another PSID's receipt changes
nothing. The events are Meta's documented payloads (tests/fixtures/webhooks/messenger/), with this test's Page,
PSID, mids and watermarks."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store.models import Delivery
from infra.local.clock import SimulatedClock
from tests.api.test_messenger import linked_by_referral
from tests.conftest import ClinicKeys, World
from tests.messenger_support import PAGE_ID, PSID, connect_messenger, post_event
from tests.timer_support import fire_when_due

FIXTURES = Path(__file__).parent.parent / "fixtures" / "webhooks" / "messenger"
DAY_BEFORE = "2026-12-01T15:00:00Z"  # the 24-h reminder's occurrence (the appointment is 2 Dec 10:00 New York)
TWO_HOURS_BEFORE = "2026-12-02T13:00:00Z"


@pytest.fixture
def verify_token(
    api: Client, clinic: ClinicKeys, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    return connect_messenger(api, clinic, monkeypatch, capsys)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def meta_event(name: str, psid: str = PSID, **details: Any) -> bytes:
    """Meta's documented event `name` for this test's Page and `psid`, its `delivery` / `read` replaced."""
    body: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / name).read_text()))
    entry = body["entry"][0]
    entry["id"] = PAGE_ID
    event = entry["messaging"][0]
    event["sender"]["id"], event["recipient"]["id"] = psid, PAGE_ID
    kind = "delivery" if "delivery" in event else "read"
    event[kind] = details
    if "timestamp" in event:
        event["timestamp"] = details["watermark"]
    return json.dumps(body).encode()


def delivery_of(api: Client, clinic: ClinicKeys, appointment_id: str, reminder_id: str) -> dict[str, Any]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return dict(next(r for r in body["reminders"] if r["id"] == reminder_id)["delivery"])


def test_a_delivery_naming_the_sent_mid_marks_it_delivered_and_the_same_event_again_changes_nothing(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str, clock: SimulatedClock
) -> None:
    booked = linked_by_referral(api, aws, clinic)
    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"
    mid = Delivery.get(f"{booked['id']}/reminder-24h.sms", DAY_BEFORE).message_id
    assert mid == aws.sent()[-1]["message_id"]  # the Send API's message_id, kept on the delivery
    sent_at = aws.services.clock.now()
    clock.set(sent_at + timedelta(seconds=5))  # the event comes in a little after Meta's watermark
    event = meta_event("message_delivery.json", mids=[mid], watermark=ms(sent_at + timedelta(seconds=3)))

    first = post_event(api, event)
    again = post_event(api, event)

    assert (first.status_code, first.json_body["receipts"]) == (200, 1)
    assert (again.status_code, again.json_body["receipts"]) == (200, 0)
    assert delivery_of(api, clinic, booked["id"], "reminder-24h.sms") == {
        "channel": "messenger",
        "receipt": "delivered",
        "sent_at": DAY_BEFORE,
        "delivered_at": "2026-12-01T15:00:03Z",
        "lateness_seconds": 0.0,
        "delivery_seconds": 3.0,
    }


def test_a_read_marks_every_message_sent_to_the_psid_up_to_its_watermark_read(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = linked_by_referral(api, aws, clinic)
    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"
    assert fire_when_due(aws, booked["id"], "reminder-2h.sms")["result"] == "sent"
    assert [m["channel"] for m in aws.sent()][-2:] == ["messenger", "messenger"]
    evening = datetime.fromisoformat("2026-12-01T20:00:00+00:00")  # read the day before, after the first only

    response = post_event(api, meta_event("message_read.json", watermark=ms(evening)))

    assert (response.status_code, response.json_body["receipts"]) == (200, 1)
    first = delivery_of(api, clinic, booked["id"], "reminder-24h.sms")
    assert (first["receipt"], first["read_at"]) == ("read", "2026-12-01T20:00:00Z")
    assert delivery_of(api, clinic, booked["id"], "reminder-2h.sms")["receipt"] == "sent"

    later = post_event(api, meta_event("message_read.json", watermark=ms(aws.services.clock.now())))

    assert later.json_body["receipts"] == 1  # the second only: the first was read already
    second = delivery_of(api, clinic, booked["id"], "reminder-2h.sms")
    assert (second["receipt"], second["read_at"]) == ("read", TWO_HOURS_BEFORE)
    assert delivery_of(api, clinic, booked["id"], "reminder-24h.sms")["read_at"] == "2026-12-01T20:00:00Z"


def test_an_unknown_mid_another_psids_read_or_a_watermark_before_the_send_change_nothing(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = linked_by_referral(api, aws, clinic)
    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"
    now = aws.services.clock.now()
    events = [
        meta_event("message_delivery.json", mids=["m_not_one_carecue_sent"]),
        meta_event("message_read.json", psid="0000000000000199", watermark=ms(now)),
        meta_event("message_read.json", watermark=ms(now - timedelta(hours=1))),
    ]

    answers = [post_event(api, event) for event in events]

    assert [(a.status_code, a.json_body["receipts"]) for a in answers] == [(200, 0)] * 3
    assert delivery_of(api, clinic, booked["id"], "reminder-24h.sms")["receipt"] == "sent"
