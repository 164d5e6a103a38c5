"""The timer-fire path stays as light as it was: reading a timer event, the dispatcher, the dose and watch
handlers and a clinic's stored policy never import pydantic (the request-body validation kit), so a fire's cold
start does not pay for it. Checked in a fresh interpreter: this test process has imported pydantic already."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIRE_PATH = """
import json, sys
from datetime import UTC, datetime
import app
from chalicelib.arm.envelope import parse_timer_event
from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.records import Clinic
import chalicelib.composition, chalicelib.fire.fire, chalicelib.fire.dispatch, chalicelib.fire.appointment_messages
import chalicelib.regimens.doses, chalicelib.waiting.service, chalicelib.meter.sender

policy = json.dumps({"reminders": [{"before": "PT2H", "channel": "sms"}], "quiet_hours": None})
clinic = Clinic(
    clinic_id="clinic_1",
    name="Example Clinic",
    timezone="America/New_York",
    api_key_hash="h1",
    created_at=datetime(2026, 12, 1, tzinfo=UTC),
    policy=policy,
)
assert clinic_policy(clinic).quiet_hours is None
"""
BOOKING = """
from chalicelib.appointments.request import parse_new_appointment
from chalicelib.core.errors import InvalidRequest
try:
    parse_new_appointment(b'{"start": "2026-12-20"}', datetime.now(UTC))
except InvalidRequest:
    pass
"""
LOADED = 'print(sorted(name for name in sys.modules if name.split(".")[0] in ("pydantic", "pydantic_core")))'


def loaded_after(code: str) -> str:
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code + LOADED], cwd=root, capture_output=True, text=True, check=True)
    return run.stdout.strip()


def test_the_fire_path_does_not_import_pydantic() -> None:
    assert loaded_after(FIRE_PATH) == "[]"


def test_a_request_route_does_import_it() -> None:
    # The other side of the same check: the booking route's reader validates with the kit.
    assert "'pydantic'" in loaded_after(FIRE_PATH + BOOKING)
