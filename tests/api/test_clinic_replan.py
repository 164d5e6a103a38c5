"""`PUT /v1/clinic` re-plans in the background: the request answers before any reminder moves and shows the
re-plan pending; the queued job moves the reminders in pages and records the re-plan done on the clinic. A job
for older settings, or one delivered twice, changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client
from pynamodb.exceptions import QueryError

from app import app
from chalicelib.appointments.service import AppointmentService
from chalicelib.clinics.replan import MAX_RECEIVES, ClinicReplans
from chalicelib.core.clock import iso_utc
from chalicelib.queueing.sqs import SqsJobQueue
from chalicelib.store.models import Appointment
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.replan_support import run_replan_job, run_replan_jobs, take_replan_jobs

PHONE = "+14155550101"
EVENING_SMS = [{"days_before": 1, "at": "18:00", "channel": "sms"}]
MORNING_SMS = [{"days_before": 1, "at": "09:00", "channel": "sms"}]


@pytest.fixture
def api(aws: World) -> Iterator[Client]:
    with Client(app, stage_name="local") as client:
        yield client


def book(api: Client, clinic: ClinicKeys, start: str) -> str:
    body = {"patient": {"name": "Pat Example", "phone": PHONE}, "start": start}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return str(response.json_body["id"])


def put_reminders(api: Client, clinic: ClinicKeys, rules: list[dict[str, Any]]) -> Any:
    response = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps({"reminders": rules}))
    assert response.status_code == 200, response.json_body
    return response.json_body


def scheduled(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, str]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return {r["id"]: r["send_at"] for r in body["reminders"] if r["status"] == "scheduled"}


def shown_replan(api: Client, clinic: ClinicKeys) -> Any:
    return api.http.get("/v1/clinic", headers=clinic.headers).json_body["replan"]


def queue(world: World) -> SqsJobQueue:
    return SqsJobQueue(world.services.sqs, world.services.settings.replan_queue_name)


class UnreadableAppointments(AppointmentService):
    def upcoming_page(
        self, clinic_id: str, after: datetime, cursor: str | None, limit: int
    ) -> tuple[list[Appointment], str | None]:
        raise QueryError("Failed to query items: ProvisionedThroughputExceededException")


def appointment_versions(clinic: ClinicKeys, *appointment_ids: str) -> list[int]:
    """What every re-plan raises, as stored: a needless second re-plan would show here."""
    return [int(Appointment.get(clinic.clinic_id, a).version) for a in appointment_ids]


def test_the_put_answers_before_any_reminder_moves_and_shows_the_replan_pending(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # GIVEN an appointment on Wed 2 Dec at 10:00 New York with the default 24 h and 2 h reminders
    appointment_id = book(api, clinic, "2026-12-02T10:00:00-05:00")
    before = scheduled(api, clinic, appointment_id)

    # WHEN the clinic moves to one SMS the day before at 18:00
    settings = put_reminders(api, clinic, EVENING_SMS)

    # THEN the answer shows the new settings and a pending re-plan, and no reminder has moved yet
    assert settings["reminders"] == EVENING_SMS
    assert settings["replan"] == {"status": "pending", "requested_at": iso_utc(clock.now()), "settings_version": 1}
    assert scheduled(api, clinic, appointment_id) == before
    assert shown_replan(api, clinic)["status"] == "pending"

    # WHEN the queued job runs, later
    clock.set(clock.now() + timedelta(seconds=5))
    assert run_replan_jobs(aws) == 1

    # THEN the reminders follow the new schedule and the clinic shows the re-plan done
    assert scheduled(api, clinic, appointment_id) == {"reminder-d1-1800.sms": "2026-12-01T23:00:00Z"}
    assert shown_replan(api, clinic) == {
        "status": "done",
        "requested_at": "2026-11-30T14:00:00Z",
        "finished_at": "2026-11-30T14:00:05Z",
        "appointments": 1,
        "settings_version": 1,
    }


def test_a_change_that_does_not_touch_timing_queues_no_replan(api: Client, aws: World, clinic: ClinicKeys) -> None:
    book(api, clinic, "2026-12-02T10:00:00-05:00")

    response = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps({"contact_phone": "+14155550199"}))

    assert response.status_code == 200
    assert (response.json_body["replanned_appointments"], response.json_body["replan"]) == (0, None)
    assert take_replan_jobs(aws) == []


def test_a_large_clinic_is_replanned_in_pages_each_its_own_job(api: Client, aws: World, clinic: ClinicKeys) -> None:
    # GIVEN five upcoming appointments, and a worker that re-plans two per invocation
    appointment_ids = [book(api, clinic, f"2026-12-0{day}T10:00:00-05:00") for day in range(2, 7)]
    aws.services.__dict__["clinic_replans"] = ClinicReplans(
        aws.services.clock,
        aws.services.appointments,
        queue(aws),
        page_size=2,
    )

    # WHEN the schedule changes
    assert put_reminders(api, clinic, EVENING_SMS)["replanned_appointments"] == 5

    # THEN one job runs first, re-plans one page and queues the rest; the rest run as jobs of their own
    (first,) = take_replan_jobs(aws)
    assert run_replan_job(first) == ["continued"]
    assert shown_replan(api, clinic)["status"] == "pending"
    assert run_replan_jobs(aws) >= 2
    assert [scheduled(api, clinic, a) for a in appointment_ids] == [
        {"reminder-d1-1800.sms": f"2026-12-0{day - 1}T23:00:00Z"} for day in range(2, 7)
    ]
    assert (shown_replan(api, clinic)["status"], shown_replan(api, clinic)["appointments"]) == ("done", 5)


def test_a_job_for_older_settings_does_nothing(api: Client, aws: World, clinic: ClinicKeys) -> None:
    # GIVEN the clinic changed its schedule twice before its first job ran
    appointment_id = book(api, clinic, "2026-12-02T10:00:00-05:00")
    put_reminders(api, clinic, EVENING_SMS)
    (older,) = take_replan_jobs(aws)
    put_reminders(api, clinic, MORNING_SMS)

    # WHEN the first change's job arrives late, after the second was stored
    outcome = run_replan_job(older)

    # THEN it moves nothing and leaves the newer re-plan pending, which its own job then finishes
    assert outcome == ["stale"]
    assert set(scheduled(api, clinic, appointment_id)) == {"reminder-24h.sms", "reminder-2h.sms"}
    assert shown_replan(api, clinic)["status"] == "pending"
    assert shown_replan(api, clinic)["settings_version"] == 2
    run_replan_jobs(aws)
    assert scheduled(api, clinic, appointment_id) == {"reminder-d1-0900.sms": "2026-12-01T14:00:00Z"}
    assert shown_replan(api, clinic)["status"] == "done"


def test_a_job_delivered_twice_is_harmless(api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
    # GIVEN a schedule change whose job SQS delivers twice
    first_id = book(api, clinic, "2026-12-02T10:00:00-05:00")
    second_id = book(api, clinic, "2026-12-03T10:00:00-05:00")
    put_reminders(api, clinic, EVENING_SMS)
    (job,) = take_replan_jobs(aws)

    # WHEN it runs, and again a minute later
    assert run_replan_job(job) == ["done"]
    replanned = [scheduled(api, clinic, first_id), scheduled(api, clinic, second_id)]
    versions = appointment_versions(clinic, first_id, second_id)
    done = shown_replan(api, clinic)
    clock.set(clock.now() + timedelta(minutes=1))
    assert run_replan_job(job, attempt=2) == ["finished"]

    # THEN the second run changed nothing: the same reminders, the same versions, the same record of the re-plan
    assert [scheduled(api, clinic, first_id), scheduled(api, clinic, second_id)] == replanned
    assert appointment_versions(clinic, first_id, second_id) == versions
    assert shown_replan(api, clinic) == done
    assert take_replan_jobs(aws) == []


def test_a_page_delivered_twice_while_the_replan_is_pending_replans_nothing_again(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    appointment_ids = [book(api, clinic, f"2026-12-0{day}T10:00:00-05:00") for day in range(2, 5)]
    aws.services.__dict__["clinic_replans"] = ClinicReplans(
        aws.services.clock,
        aws.services.appointments,
        queue(aws),
        page_size=2,
    )
    put_reminders(api, clinic, EVENING_SMS)
    (first,) = take_replan_jobs(aws)
    assert run_replan_job(first) == ["continued"]
    versions = appointment_versions(clinic, *appointment_ids)

    # WHEN the first page's job is delivered again before the next page ran
    assert run_replan_job(first, attempt=2) == ["continued"]

    # THEN its appointments are not re-planned again, and the re-plan still finishes with each counted once
    assert appointment_versions(clinic, *appointment_ids) == versions
    run_replan_jobs(aws)
    assert (shown_replan(api, clinic)["status"], shown_replan(api, clinic)["appointments"]) == ("done", 3)


def test_a_job_that_fails_on_its_last_attempt_is_recorded_failed_and_a_put_again_retries_it(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    appointment_id = book(api, clinic, "2026-12-02T10:00:00-05:00")
    put_reminders(api, clinic, EVENING_SMS)
    (job,) = take_replan_jobs(aws)
    # A job whose every attempt fails: DynamoDB refuses to read the clinic's appointments
    services = aws.services
    unreadable = UnreadableAppointments(services.clock, services.reminder_timers, services.dispatcher)
    services.__dict__["clinic_replans"] = ClinicReplans(services.clock, unreadable, queue(aws))

    with pytest.raises(QueryError):  # the function fails: SQS tries again
        run_replan_job(job, attempt=1)
    assert shown_replan(api, clinic)["status"] == "pending"
    with pytest.raises(QueryError):
        run_replan_job(job, attempt=MAX_RECEIVES)

    replan = shown_replan(api, clinic)
    assert (replan["status"], replan["settings_version"]) == ("failed", 1)
    assert replan["reason"] == f"QueryError after {MAX_RECEIVES} attempts"
    assert "finished_at" in replan
    del aws.services.__dict__["clinic_replans"]  # DynamoDB reads again

    # WHEN the clinic sends its settings again, unchanged, the re-plan is queued once more and finishes
    assert put_reminders(api, clinic, EVENING_SMS)["replan"]["status"] == "pending"
    run_replan_jobs(aws)
    assert scheduled(api, clinic, appointment_id) == {"reminder-d1-1800.sms": "2026-12-01T23:00:00Z"}
    assert shown_replan(api, clinic)["status"] == "done"


def test_a_get_edited_and_put_back_is_accepted(api: Client, aws: World, clinic: ClinicKeys) -> None:
    put_reminders(api, clinic, EVENING_SMS)
    shown = api.http.get("/v1/clinic", headers=clinic.headers).json_body

    response = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps({**shown, "frequency_caps": True}))

    assert response.status_code == 200, response.json_body
    assert response.json_body["frequency_caps"] is True
