"""A fault AWS can produce and moto can show: the usage table unavailable (here: gone). Metering is the clinic's
bill, not the patient's message: the booking stands, its confirmation reaches the patient, and the message is
counted as not metered (the UsageNotMetered metric) for billing to reconcile."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from tests.conftest import ClinicKeys, World


def test_with_the_usage_table_down_a_booking_stands_and_its_confirmation_goes_unmetered(
    api: Client, aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = aws.session.client("dynamodb")
    usage_table = next(name for name in dynamodb.list_tables()["TableNames"] if name.endswith("-usage"))
    dynamodb.delete_table(TableName=usage_table)
    body = {"patient": {"name": "Pat Example", "phone": "+14155550100"}, "start": "2026-12-02T10:00:00-05:00"}

    answer = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))

    assert answer.status_code == 201
    reminders = {r["id"]: r["status"] for r in answer.json_body["reminders"]}
    assert reminders["confirmation.sms"] == "sent"
    assert [m["body"] for m in aws.sent("sms")] == [
        "Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 10:00 AM."
    ]
    assert '"UsageNotMetered"' in capsys.readouterr().out
