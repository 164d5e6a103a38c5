"""An SMS that SNS refuses for good (`InvalidParameter` on Publish: a number SNS will not route) goes once on the
patient's next channel, in the same request, and the delivery records the refusal as its receipt; a timer fired
again sends nothing more; with no next channel, the reminder is failed with SNS's reason. moto takes every E.164
number, so the refusal is answered in SNS's place on the app's own SNS client (infra/local/sms_refusals.py, which
the local stack uses too); everything above the wire is the app's code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from infra.local.sms_refusals import SmsRefusals
from tests.conftest import ClinicKeys, World
from tests.timer_support import fire_stored, fire_when_due

PHONE = "+14155550104"
EMAIL = "pat104@example.com"


@pytest.fixture
def refusals(aws: World) -> SmsRefusals:
    refusing = SmsRefusals()
    refusing.attach(aws.services.sns.meta.events)
    refusing.refuse(PHONE)
    return refusing


def book(api: Client, clinic: ClinicKeys, **patient: Any) -> dict[str, Any]:
    body = {"patient": {"name": "Pat Example", "phone": PHONE, **patient}, "start": "2026-12-02T10:00:00-05:00"}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def reminders(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, dict[str, Any]]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return {r["id"]: r for r in body["reminders"]}


def test_a_refused_sms_goes_once_by_email_and_the_delivery_shows_the_refusal(
    api: Client, aws: World, clinic: ClinicKeys, refusals: SmsRefusals
) -> None:
    booked = book(api, clinic, email=EMAIL)

    assert [(m["channel"], m["to"]) for m in aws.sent()] == [("email", EMAIL)]
    assert "Wed 2 Dec" in aws.sent()[0]["body"] and "10:00" in aws.sent()[0]["body"]
    confirmation = reminders(api, clinic, booked["id"])["confirmation.sms"]
    assert confirmation["status"] == "sent"
    assert confirmation["delivery"] == {
        "channel": "sms",
        "receipt": "failed",
        "failure": "sms_InvalidParameter",
        "fallback": {
            "channel": "email",
            "status": "sent",
            "reason": "sms_InvalidParameter",
            "sent_at": "2026-11-30T14:00:00Z",
        },
    }
    usage = api.http.get("/v1/usage", headers=clinic.headers).json_body["messages"]
    assert (usage["sms"], usage["email"]) == (0, 1)  # the refused SMS is not charged


def test_the_reminders_timer_fired_twice_sends_the_refused_sms_once_by_email(
    api: Client, aws: World, clinic: ClinicKeys, refusals: SmsRefusals
) -> None:
    booked = book(api, clinic, email=EMAIL)

    first = fire_when_due(aws, booked["id"], "reminder-24h.sms")
    again = fire_stored(aws, f"{booked['id']}.reminder-24h.sms")  # Scheduler delivers at least once

    assert first == {"result": "sent", "reason": "sms_InvalidParameter"}
    assert again["result"] == "duplicate"
    assert [m["channel"] for m in aws.sent()] == ["email", "email"]  # the confirmation, then the reminder once
    delivery = reminders(api, clinic, booked["id"])["reminder-24h.sms"]["delivery"]
    assert (delivery["receipt"], delivery["fallback"]["channel"]) == ("failed", "email")


def test_with_no_next_channel_a_refused_sms_is_failed_with_snss_reason(
    api: Client, aws: World, clinic: ClinicKeys, refusals: SmsRefusals
) -> None:
    booked = book(api, clinic)

    assert aws.sent() == []
    confirmation = reminders(api, clinic, booked["id"])["confirmation.sms"]
    assert (confirmation["status"], confirmation["delivery"]) == (
        "failed",
        {"channel": "sms", "receipt": "failed", "failure": "sms_InvalidParameter"},
    )
