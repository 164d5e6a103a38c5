"""A dose timer is trusted for nothing: it wakes the fire function, which sends a dose reminder only for one of
the instruction's own doses. A cron armed "from now" (its start already past on the real clock, so Scheduler is
given no StartDate) or a timer edited by hand can wake at other times; those send nothing and store nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from app import fire
from chalicelib.store.models import Dose
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World

PHONE = "+14155550142"


def dose_event(clinic: ClinicKeys, regimen_id: str, scheduled_time: str) -> dict[str, Any]:
    return {
        "kind": "dose",
        "clinic_id": clinic.clinic_id,
        "regimen_id": regimen_id,
        "instruction": 0,
        "version": 1,
        "scheduled_time": scheduled_time,
    }


@pytest.mark.parametrize(
    ("scheduled_time", "why"),
    [
        ("2026-12-03T13:00:00Z", "08:00 in New York, the day before the regimen starts"),
        ("2026-12-04T15:00:00Z", "10:00 in New York, not a dose time"),
        ("2026-12-07T13:00:00Z", "08:00 in New York, the day after the regimen ends"),
    ],
)
def test_a_dose_timer_outside_the_instructions_doses_sends_nothing(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock, scheduled_time: str, why: str
) -> None:
    # GIVEN a daily 08:00 regimen from Friday 4 to Sunday 6 December (the clock is Monday 30 November)
    body = {
        "patient": {"name": "Pat Example", "phone": PHONE},
        "medication": "Examplamab 10 mg",
        "timing": {
            "repeat": {
                "frequency": 1,
                "period": 1,
                "periodUnit": "d",
                "timeOfDay": ["08:00:00"],
                "boundsPeriod": {"start": "2026-12-04T00:00:00-05:00", "end": "2026-12-06T23:59:00-05:00"},
            }
        },
    }
    created = api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(body))
    assert created.status_code == 201, created.json_body
    regimen_id = created.json_body["id"]

    # WHEN its timer wakes at a time that is not one of its doses
    result = fire(dose_event(clinic, regimen_id, scheduled_time), None)

    # THEN nothing is sent or recorded, and the log says why
    assert result == {"result": "stale", "reason": "not_a_planned_dose"}, why
    assert aws.sent("sms") == []
    assert list(Dose.query(regimen_id)) == []

    # AND the same timer at a real dose time sends the reminder
    assert fire(dose_event(clinic, regimen_id, "2026-12-05T13:00:00Z"), None)["result"] == "sent"
    assert [m["to"] for m in aws.sent("sms")] == [PHONE]
