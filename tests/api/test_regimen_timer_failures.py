"""Regimens when EventBridge Scheduler fails: nothing half armed. The fault is Scheduler's own answer in an
outage, a 503 ServiceUnavailableException, given to the app's real boto3 client for the chosen calls (a
botocore `before-call` handler answers in Scheduler's place, so the call never reaches moto; everything above
the wire is the app's code). Deleting the schedule group is no use on moto: its create_schedule then raises a
bare KeyError, not the ResourceNotFoundException AWS answers. Each answer is a 503 in the error envelope, and
nothing is left armed or stored for a regimen that was not created; a resume that fails leaves it paused."""

from __future__ import annotations

import json
from typing import Any

from botocore.awsrequest import AWSResponse
from chalice.test import Client

from chalicelib.store.models import Patient, Regimen
from tests.conftest import ClinicKeys, World
from tests.timer_support import fire_stored

PATIENT = {"name": "Pat Example", "phone": "+14155550140"}


def chained_taper() -> dict[str, Any]:
    """Two steps that both chain one-time timers (every 36 hours for 3 days, then every other day)."""
    return {
        "patient": PATIENT,
        "medication": "Examplamab 5 mg",
        "instructions": [
            {
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 36,
                        "periodUnit": "h",
                        "boundsDuration": {"value": 3, "unit": "d"},
                    }
                }
            },
            {"timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}}},
        ],
    }


def armed(aws: World) -> list[str]:
    group = aws.services.settings.schedule_group
    return [s["Name"] for s in aws.services.scheduler.list_schedules(GroupName=group)["Schedules"]]


class Outage:
    """Scheduler answering `operation` with a 503 from its `fail_from`-th call on, until ended."""

    def __init__(self, aws: World, operation: str = "CreateSchedule", fail_from: int = 1) -> None:
        self._events = aws.services.scheduler.meta.events
        self._event = f"before-call.scheduler.{operation}"
        self._fail_from = fail_from
        self.calls = 0
        self._events.register(self._event, self._answer, unique_id="test-outage")

    def _answer(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        self.calls += 1
        if self.calls < self._fail_from:
            return None  # this one goes through to Scheduler (moto)
        error = {"Code": "ServiceUnavailableException", "Message": "Service Unavailable"}
        return AWSResponse("", 503, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 503}}

    def end(self) -> None:
        self._events.unregister(self._event, unique_id="test-outage")


def test_a_scheduler_failure_on_create_is_503_and_nothing_is_stored_or_armed(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    outage = Outage(aws)

    response = api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(chained_taper()))

    assert response.status_code == 503
    assert response.json_body == {
        "error": {
            "code": "scheduler_unavailable",
            "message": "the reminder scheduler refused the dose timers (ServiceUnavailableException); "
            "nothing was stored or armed: retry",
            "fields": [],
        }
    }
    assert list(Regimen.scan()) == [] and list(Patient.scan()) == []
    assert armed(aws) == []
    outage.end()
    # AND the retry, once Scheduler is back, creates it
    retried = api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(chained_taper()))
    assert retried.status_code == 201, retried.json_body
    assert sorted(armed(aws)) == sorted(t["name"] for t in retried.json_body["timers"])


def test_a_failure_half_way_disarms_the_timers_already_armed(api: Client, aws: World, clinic: ClinicKeys) -> None:
    outage = Outage(aws, fail_from=2)  # the first step's timer is armed, the second step's refused

    response = api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(chained_taper()))

    assert response.status_code == 503
    assert response.json_body["error"]["code"] == "scheduler_unavailable"
    assert outage.calls == 2
    assert armed(aws) == []  # the first timer was disarmed again
    assert list(Regimen.scan()) == [] and list(Patient.scan()) == []


def test_a_resume_scheduler_refuses_is_503_and_the_regimen_stays_paused_with_nothing_armed(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    created = api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(chained_taper())).json_body
    path = f"/v1/regimens/{created['id']}"
    paused = api.http.patch(path, headers=clinic.headers, body=json.dumps({"status": "paused"}))
    assert paused.status_code == 200 and armed(aws) == []
    outage = Outage(aws)

    resumed = api.http.patch(path, headers=clinic.headers, body=json.dumps({"status": "active"}))

    assert resumed.status_code == 503
    assert resumed.json_body["error"]["code"] == "scheduler_unavailable"
    assert "the regimen stays paused" in resumed.json_body["error"]["message"]
    shown = api.http.get(path, headers=clinic.headers).json_body
    assert (shown["status"], shown["timers"], shown["next_doses"]) == ("paused", [], [])
    assert armed(aws) == []
    outage.end()
    # AND resuming again once Scheduler is back arms the timers for the new version
    again = api.http.patch(path, headers=clinic.headers, body=json.dumps({"status": "active"}))
    assert again.status_code == 200, again.json_body
    assert sorted(armed(aws)) == sorted(t["name"] for t in again.json_body["timers"]) != []


def test_a_pause_scheduler_cannot_disarm_is_stored_and_the_timer_left_behind_sends_nothing(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    created = api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(chained_taper())).json_body
    outage = Outage(aws, operation="DeleteSchedule")

    paused = api.http.patch(
        f"/v1/regimens/{created['id']}", headers=clinic.headers, body=json.dumps({"status": "paused"})
    )

    assert paused.status_code == 200, paused.json_body
    assert (paused.json_body["status"], paused.json_body["version"], paused.json_body["timers"]) == ("paused", 2, [])
    names = sorted(t["name"] for t in created["timers"])
    assert outage.calls == len(names) == 2
    assert sorted(armed(aws)) == names  # Scheduler kept them
    left = names[0]
    assert fire_stored(aws, left, "2026-11-30T14:00:00Z") == {"result": "stale", "reason": "regimen_changed"}
    assert aws.sent() == []
