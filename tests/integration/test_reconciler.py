"""The hourly reconciler on moto: timers that Scheduler refused at booking or that someone deleted by hand are
re-armed from the tables; a reminder whose time passed with nothing sent is marked missed; nothing goes twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from chalice.test import Client

from app import app
from chalicelib.store.models import Appointment, Delivery
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_fire import book, reminder_status
from tests.timer_support import fire, timer_event

# Reminders end with a confirm link; what identifies the 24 h one is its text before it.
REMINDER_24H = "Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00 AM."


def reminders_24h(bodies: list[str]) -> int:
    return sum(1 for body in bodies if body.startswith(REMINDER_24H))


def schedule(world: World, appointment_id: str, reminder_id: str) -> dict[str, Any]:
    return dict(
        world.services.scheduler.get_schedule(
            Name=f"{appointment_id}.{reminder_id}", GroupName=world.services.settings.schedule_group
        )
    )


def delete_schedule(world: World, appointment_id: str, reminder_id: str) -> None:
    """What an admin clicking Delete in the Scheduler console does."""
    world.services.scheduler.delete_schedule(
        Name=f"{appointment_id}.{reminder_id}", GroupName=world.services.settings.schedule_group
    )


def run_hourly_function() -> dict[str, Any]:
    """The reconciler as its hourly EventBridge rule invokes it."""
    with Client(app, stage_name="local") as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        return dict(client.lambda_.invoke("reconcile", event).payload)


def test_a_timer_deleted_by_hand_is_rearmed_as_it_was_and_then_sends_once(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    armed = schedule(aws, appointment_id, "reminder-24h.sms")
    delete_schedule(aws, appointment_id, "reminder-24h.sms")

    first = aws.services.reconciler.run()
    second = aws.services.reconciler.run()

    assert (first.rearmed, second.rearmed) == (1, 0)
    rearmed = schedule(aws, appointment_id, "reminder-24h.sms")
    assert rearmed["ScheduleExpression"] == armed["ScheduleExpression"] == "at(2026-12-01T15:00:00)"
    assert rearmed["Target"]["Input"] == armed["Target"]["Input"]
    clock.set(datetime.fromisoformat("2026-12-01T15:00:20Z"))
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    assert [fire(event)["result"], fire(event)["result"]] == ["sent", "duplicate"]
    assert reminders_24h([m["body"] for m in aws.sent("sms")]) == 1


def test_a_booking_whose_timers_scheduler_refused_stands_and_the_hourly_run_arms_them(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # GIVEN Scheduler refuses both timers of a booking
    with Stubber(aws.services.scheduler) as scheduler:
        for _ in range(2):
            scheduler.add_client_error(
                "create_schedule", service_error_code="ServiceQuotaExceededException", http_status_code=402
            )
        appointment_id = book(aws, clinic)
        scheduler.assert_no_pending_responses()

    # THEN the booking stands, confirmed to the patient, its reminders planned but not armed
    assert Appointment.get(clinic.clinic_id, appointment_id).status == "booked"
    assert len(aws.sent("sms")) == 1
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("scheduled", None)
    assert aws.services.reminder_timers.armed() == set()

    # WHEN the hourly reconciler runs
    clock.advance(timedelta(minutes=40))
    result = run_hourly_function()

    # THEN both timers exist, due when the reminders are
    assert result == {
        "checked": 2,
        "rearmed": 2,
        "missed": 0,
        "rearm_failed": 0,
        "regimens_rearmed": 0,
        "released": 0,
    }
    assert schedule(aws, appointment_id, "reminder-24h.sms")["ScheduleExpression"] == "at(2026-12-01T15:00:00)"
    assert schedule(aws, appointment_id, "reminder-2h.sms")["ScheduleExpression"] == "at(2026-12-02T13:00:00)"


def test_a_reminder_whose_time_passed_unsent_is_marked_missed_after_scheduler_stopped_retrying(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    appointment_id = book(aws, clinic)
    lost_event = timer_event(aws, appointment_id, "reminder-24h.sms")
    delete_schedule(aws, appointment_id, "reminder-24h.sms")

    # Half an hour after its time Scheduler may still be retrying it: left alone.
    clock.set(datetime.fromisoformat("2026-12-01T15:30:00Z"))
    assert aws.services.reconciler.run().missed == 0
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("scheduled", None)

    # Past Scheduler's hour of retries, nothing will send it.
    clock.set(datetime.fromisoformat("2026-12-01T17:30:00Z"))
    capsys.readouterr()
    result = aws.services.reconciler.run()

    assert (result.missed, result.rearmed) == (1, 0)
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("missed", "no_delivery")
    assert '"RemindersMissed"' in capsys.readouterr().out  # the metric, in CloudWatch's embedded format
    assert reminder_status(appointment_id, "reminder-2h.sms") == ("scheduled", None)
    # A late copy of the lost timer finds the reminder missed and sends nothing.
    sent_before = len(aws.sent("sms"))
    assert fire(lost_event)["result"] == "stale"
    assert len(aws.sent("sms")) == sent_before


def test_a_reminder_with_a_send_under_way_is_not_marked_missed(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # GIVEN a send that claimed its occurrence and died before recording the outcome
    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    due = datetime.fromisoformat(event["scheduled_time"])
    Delivery(
        f"{appointment_id}/reminder-24h.sms",
        event["scheduled_time"],
        clinic_id=clinic.clinic_id,
        channel="sms",
        status="claimed",
        claimed_at=due,
        lease_until=due + timedelta(minutes=5),
    ).save()
    delete_schedule(aws, appointment_id, "reminder-24h.sms")

    clock.set(due + timedelta(hours=3))
    result = aws.services.reconciler.run()

    assert result.missed == 0
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("scheduled", None)


def test_a_cancelled_appointments_reminders_are_not_rearmed(aws: World, clinic: ClinicKeys) -> None:
    appointment_id = book(aws, clinic)
    aws.services.appointments.cancel(clinic.clinic_id, appointment_id)

    result = aws.services.reconciler.run()

    assert (result.checked, result.rearmed) == (0, 0)
    assert aws.services.reminder_timers.armed() == set()


def test_a_regimen_whose_dose_timer_was_deleted_gets_it_back_and_only_once(aws: World, clinic: ClinicKeys) -> None:
    from chalicelib.clinics.policy import clinic_policy
    from chalicelib.regimens.request import parse_new_regimen
    from chalicelib.store.models import Clinic

    body = {
        "patient": {"name": "Pat Example", "phone": "+14155550100"},
        "medication": "Examplamab 10 mg",
        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00", "20:00:00"]}},
    }
    when_times = clinic_policy(Clinic.get(clinic.clinic_id)).medication.when_times
    created, _ = aws.services.regimens.create(
        clinic.clinic_id, parse_new_regimen(json.dumps(body).encode(), when_times)
    )
    [timer] = created["timers"]
    group = aws.services.settings.schedule_group
    before = aws.services.scheduler.get_schedule(Name=timer["name"], GroupName=group)
    aws.services.scheduler.delete_schedule(Name=timer["name"], GroupName=group)

    first, second = run_hourly_function(), run_hourly_function()

    after = aws.services.scheduler.get_schedule(Name=timer["name"], GroupName=group)
    assert after["ScheduleExpression"] == before["ScheduleExpression"] == "cron(0 8,20 * * ? *)"
    assert after["ScheduleExpressionTimezone"] == "America/New_York"
    assert (first["regimens_rearmed"], second["regimens_rearmed"]) == (1, 0)


def test_a_deferred_reminder_whose_timer_was_deleted_gets_it_back_under_its_own_name_once(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    clock.set(datetime.fromisoformat("2026-12-02T03:30:00Z"))  # Scheduler ran late: 10:30 PM in New York
    assert fire(event) == {"result": "deferred", "reason": "quiet_hours"}
    deferred = schedule(aws, appointment_id, "reminder-24h.sms.quiet")
    delete_schedule(aws, appointment_id, "reminder-24h.sms.quiet")

    first = aws.services.reconciler.run()
    second = aws.services.reconciler.run()

    assert (first.rearmed, second.rearmed) == (1, 0)
    assert (
        schedule(aws, appointment_id, "reminder-24h.sms.quiet")["ScheduleExpression"]
        == (deferred["ScheduleExpression"])
    )
