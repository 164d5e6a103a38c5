"""Pay per use as a clinic sees it: `GET /v1/usage`, what each send adds to it, and the monthly spend cap."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.admin.cli import main as admin
from chalicelib.store.models import Delivery, Reminder
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import fire_when_due

US_SMS = 0.00831
EMAIL = 0.0001


def book(api: Client, clinic: ClinicKeys, start: str = "2026-12-02T10:00:00-05:00", **patient: Any) -> str:
    body = {"patient": {"name": "Pat Example", **patient}, "start": start}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return str(response.json_body["id"])


def usage(api: Client, clinic: ClinicKeys, query: str = "") -> Any:
    response = api.http.get(f"/v1/usage{query}", headers=clinic.headers)
    assert response.status_code == 200, response.json_body
    return response.json_body


def test_every_send_is_counted_in_the_month_with_its_estimated_cost(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    # the clinic asks for its notices on both channels: the confirmation goes by SMS and by email
    both = {"notice_channel": "both"}
    assert api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps(both)).status_code == 200
    appointment_id = book(api, clinic, phone="+14155550100", email="pat@example.org")

    after_booking = usage(api, clinic)
    assert fire_when_due(aws, appointment_id, "reminder-24h.sms") == {"result": "sent", "reason": None}
    after_reminder = usage(api, clinic, "?month=2026-12")  # the reminder went out on 1 Dec (UTC)

    assert after_booking == {
        "clinic_id": clinic.clinic_id,
        "month": "2026-11",
        "messages": {"sms": 1, "email": 1, "whatsapp": 0, "messenger": 0},
        "sms_segments": 1,
        "emails": 1,
        "estimated_cost_usd": pytest.approx(US_SMS + EMAIL),
        "spend_cap": {"usd": 100.0, "reached": False, "reminders_skipped": 0},
    }
    assert after_reminder["messages"] == {"sms": 1, "email": 0, "whatsapp": 0, "messenger": 0}
    assert after_reminder["estimated_cost_usd"] == pytest.approx(US_SMS)
    assert Delivery.get(f"{appointment_id}/reminder-24h.sms", "2026-12-01T15:00:00Z").sms_segments == 1
    assert usage(api, clinic, "?month=2026-10")["messages"] == {"sms": 0, "email": 0, "whatsapp": 0, "messenger": 0}


def test_usage_is_per_clinic(api: Client, aws: World, clinic: ClinicKeys) -> None:
    other = aws.services.clinics.create("Other Clinic", "Europe/Berlin")
    book(api, clinic, phone="+14155550100")

    theirs = api.http.get("/v1/usage", headers={"Authorization": f"Bearer {other.api_key}"}).json_body

    assert usage(api, clinic)["messages"]["sms"] == 1
    assert theirs["clinic_id"] == other.clinic_id
    assert theirs["messages"] == {"sms": 0, "email": 0, "whatsapp": 0, "messenger": 0}


def test_a_bad_month_is_a_400_naming_the_field(api: Client, clinic: ClinicKeys) -> None:
    for month in ("2026-13", "2026-1", "December", ""):
        response = api.http.get(f"/v1/usage?month={month}", headers=clinic.headers)

        assert response.status_code == 400, month
        assert response.json_body["error"]["fields"] == [
            {"field": "month", "problem": "must be a month as YYYY-MM, e.g. 2026-12"}
        ]


def test_usage_needs_an_api_key(api: Client) -> None:
    assert api.http.get("/v1/usage").status_code == 401


def test_past_the_spend_cap_reminders_are_skipped_until_an_admin_raises_it(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.set(datetime.fromisoformat("2026-12-01T09:00:00Z"))  # booking and both reminders in December
    assert (
        admin(
            ["--stage", "test", "set-spend-cap", "--clinic", clinic.clinic_id, "--usd", "0.005"],
            clock=aws.services.clock,
        )
        == 0
    )
    appointment_id = book(api, clinic, phone="+14155550100", start="2026-12-20T10:00:00-05:00")
    capsys.readouterr()

    skipped = fire_when_due(aws, appointment_id, "reminder-24h.sms")
    printed = capsys.readouterr().out

    assert skipped == {"result": "skipped", "reason": "spend_cap"}
    assert len(aws.sent("sms")) == 1  # only the confirmation, which took the month to $0.00831
    reminder = Reminder.get(appointment_id, "reminder-24h.sms")
    assert (reminder.status, reminder.reason) == ("skipped", "spend_cap")
    assert '"SpendCapReached"' in printed
    assert usage(api, clinic)["spend_cap"] == {"usd": 0.005, "reached": True, "reminders_skipped": 1}

    assert admin(["--stage", "test", "set-spend-cap", "--clinic", clinic.clinic_id, "--usd", "250"], clock=clock) == 0
    # The reminder the cap held back goes out after all (chalicelib/meter/release.py; its own tests fire it).
    released = Reminder.get(appointment_id, "reminder-24h.sms")
    assert (released.status, released.reason) == ("scheduled", "released_after_spend_cap")
    assert fire_when_due(aws, appointment_id, "reminder-2h.sms") == {"result": "sent", "reason": None}
    assert len(aws.sent("sms")) == 2
    assert usage(api, clinic)["spend_cap"] == {"usd": 250.0, "reached": False, "reminders_skipped": 1}


def test_the_cap_is_per_month(api: Client, aws: World, clinic: ClinicKeys) -> None:
    assert (
        admin(
            ["--stage", "test", "set-spend-cap", "--clinic", clinic.clinic_id, "--usd", "0.005"],
            clock=aws.services.clock,
        )
        == 0
    )
    appointment_id = book(api, clinic, phone="+14155550100")  # November is over its cap at once

    assert usage(api, clinic)["spend_cap"]["reached"] is True
    assert fire_when_due(aws, appointment_id, "reminder-24h.sms") == {"result": "sent", "reason": None}  # 1 December
