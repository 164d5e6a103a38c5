"""Releasing reminders the spend cap held back, on moto: an admin raises the cap (with `set-spend-cap`, or by hand
in the console and the hourly reconciler notices), and the patients whose reminders are still of use get them,
once, at the local time of their appointment."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.admin.cli import main as admin
from chalicelib.appointments.request import parse_new_appointment
from chalicelib.store.models import Clinic, Reminder
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_fire import book, reminder_status
from tests.integration.test_reconciler import REMINDER_24H, run_hourly_function
from tests.replan_support import run_replan_jobs
from tests.timer_support import fire, timer_event


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def set_cap(clinic: ClinicKeys, usd: str, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]) -> Any:
    """`set-spend-cap` as an admin runs it, at the simulated time; what it printed."""
    capsys.readouterr()
    assert admin(["--stage", "test", "set-spend-cap", "--clinic", clinic.clinic_id, "--usd", usd], clock=clock) == 0
    return json.loads(capsys.readouterr().out)


def book_at(world: World, clinic: ClinicKeys, start: str, phone: str) -> str:
    body = {"patient": {"name": "Pat Example", "phone": phone}, "start": start}
    request = parse_new_appointment(json.dumps(body).encode(), world.services.clock.now())
    return world.services.appointments.book(clinic.clinic_id, request).appointment.appointment_id


def cap_timers(world: World) -> set[str]:
    return {name for name in world.services.reminder_timers.armed() if name.endswith(".cap")}


def held_reminder(world: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]) -> str:
    """A clinic whose $0.005 cap the booking's confirmation ($0.00831) reaches, so that the 24 h reminder of the
    appointment on Wed 2 Dec at 10:00 AM New York time is skipped when its timer fires on 1 Dec at 15:00 UTC."""
    clock.set(at("2026-12-01T09:00:00Z"))  # the booking and the reminder in one billing month
    set_cap(clinic, "0.005", clock, capsys)
    appointment_id = book(world, clinic)
    clock.set(at("2026-12-01T15:00:20Z"))
    assert fire(timer_event(world, appointment_id, "reminder-24h.sms")) == {"result": "skipped", "reason": "spend_cap"}
    return appointment_id


def test_raising_the_cap_releases_a_held_reminder_and_the_patient_gets_it_once(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a reminder the cap held back
    appointment_id = held_reminder(aws, clinic, clock, capsys)

    # WHEN an admin raises the cap an hour later, and runs the command again
    clock.set(at("2026-12-01T16:00:00Z"))
    first = set_cap(clinic, "250", clock, capsys)
    armed = aws.services.scheduler.get_schedule(
        Name=f"{appointment_id}.reminder-24h.sms.cap", GroupName=aws.services.settings.schedule_group
    )
    second = set_cap(clinic, "250", clock, capsys)

    # THEN the first run released it under a timer of its own, due a minute later; the second changed nothing
    assert (first["spend_cap_reached"], first["reminders_released"], second["reminders_released"]) == (False, 1, 0)
    reminder = Reminder.get(appointment_id, "reminder-24h.sms")
    assert (reminder.status, reminder.reason) == ("scheduled", "released_after_spend_cap")
    assert reminder.send_at == at("2026-12-01T16:01:00Z")
    assert reminder.schedule_name == f"{appointment_id}.reminder-24h.sms.cap"
    assert armed["ScheduleExpression"] == "at(2026-12-01T16:01:00)"
    again = aws.services.scheduler.get_schedule(Name=armed["Name"], GroupName=armed["GroupName"])
    assert again["LastModificationDate"] == armed["LastModificationDate"]

    # WHEN the released timer fires (and Scheduler delivers it twice)
    clock.set(at("2026-12-01T16:01:10Z"))
    event = timer_event(aws, appointment_id, "reminder-24h.sms.cap")
    outcomes = [fire(event)["result"], fire(event)["result"]]

    # THEN the patient has the reminder once, with the appointment's New York time, and nothing is left to release
    assert outcomes == ["sent", "duplicate"]
    assert sum(1 for m in aws.sent("sms") if m["body"].startswith(REMINDER_24H)) == 1
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("sent", None)
    assert aws.services.reconciler.run().released == 0
    assert set_cap(clinic, "250", clock, capsys)["reminders_released"] == 0


def test_only_what_is_still_of_use_is_released(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a clinic over its cap from the first booking's confirmation on
    clock.set(at("2026-12-01T09:00:00Z"))
    set_cap(clinic, "0.005", clock, capsys)
    cancelled = book(aws, clinic)  # Wed 2 Dec 10:00 AM New York
    started = book_at(aws, clinic, "2026-12-01T13:00:00-05:00", phone="+14155550101")  # its confirmation is held
    clock.set(at("2026-12-01T15:00:20Z"))
    assert fire(timer_event(aws, cancelled, "reminder-24h.sms"))["reason"] == "spend_cap"
    clock.set(at("2026-12-01T16:00:20Z"))
    assert fire(timer_event(aws, started, "reminder-2h.sms"))["reason"] == "spend_cap"
    # ... one appointment is then cancelled (its cancellation notice is held too), the other has begun
    clock.set(at("2026-12-01T16:30:00Z"))
    aws.services.appointments.cancel(clinic.clinic_id, cancelled)
    assert reminder_status(cancelled, "cancellation-notice.sms") == ("skipped", "spend_cap")

    # WHEN an admin raises the cap, late in the evening in New York
    clock.set(at("2026-12-02T03:00:00Z"))  # 22:00 on Tue 1 Dec
    released = set_cap(clinic, "250", clock, capsys)["reminders_released"]

    # THEN only the cancellation notice of the appointment still ahead is released, for the end of quiet hours
    assert released == 1
    assert cap_timers(aws) == {f"{cancelled}.cancellation-notice.sms.cap"}
    assert Reminder.get(cancelled, "cancellation-notice.sms").send_at == at("2026-12-02T13:00:00Z")  # 08:00 local
    assert reminder_status(cancelled, "reminder-24h.sms") == ("skipped", "spend_cap")
    assert reminder_status(started, "reminder-2h.sms") == ("skipped", "spend_cap")
    assert reminder_status(started, "confirmation.sms") == ("skipped", "spend_cap")
    clock.set(at("2026-12-02T13:00:05Z"))
    assert fire(timer_event(aws, cancelled, "cancellation-notice.sms.cap"))["result"] == "sent"
    assert (
        aws.sent("sms")[-1]["body"]
        == "Riverside Family Clinic: your appointment on Wed 2 Dec at 10:00 AM is cancelled."
    )
    assert [m["to"] for m in aws.sent("sms")].count("+14155550101") == 0


def test_a_reminder_planned_for_an_older_version_of_the_appointment_is_not_released(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a held 24 h reminder, then the clinic drops 24 h reminders: the appointment is replanned (version 2)
    appointment_id = held_reminder(aws, clinic, clock, capsys)
    clock.set(at("2026-12-01T15:30:00Z"))
    rules = {"reminders": [{"before": "PT2H", "channel": "sms"}]}
    assert aws.services.clinic_settings.replace(clinic.clinic_id, json.dumps(rules).encode())["replanned_appointments"]
    run_replan_jobs(aws)

    # WHEN an admin raises the cap
    released = set_cap(clinic, "250", clock, capsys)["reminders_released"]

    # THEN the old plan's reminder stays held; the new plan's own 2 h reminder is armed as it was
    assert released == 0
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("skipped", "spend_cap")
    assert cap_timers(aws) == set()
    assert reminder_status(appointment_id, "reminder-2h.sms") == ("scheduled", None)


def test_the_hourly_run_releases_after_the_cap_is_raised_by_hand_in_the_console(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    appointment_id = held_reminder(aws, clinic, clock, capsys)

    # WHEN an admin edits monthly_spend_cap_usd on the clinic's item in the DynamoDB console, and the hour strikes
    aws.session.client("dynamodb").update_item(
        TableName=f"{aws.services.settings.resource_prefix}-clinics",
        Key={"clinic_id": {"S": clinic.clinic_id}},
        UpdateExpression="SET monthly_spend_cap_usd = :cap",
        ExpressionAttributeValues={":cap": {"N": "250"}},
    )
    clock.set(at("2026-12-01T15:40:00Z"))
    capsys.readouterr()
    first, second = run_hourly_function(), run_hourly_function()
    printed = capsys.readouterr().out

    # THEN the first run released the reminder (counted in a metric, logged without patient data); its timer sends it
    assert (first["released"], second["released"]) == (1, 0)
    assert printed.count('{"Name":"RemindersReleased"') == 1  # one metric, in CloudWatch's embedded format
    assert "+14155550100" not in printed
    clock.set(at("2026-12-01T15:41:05Z"))
    assert fire(timer_event(aws, appointment_id, "reminder-24h.sms.cap"))["result"] == "sent"
    assert aws.sent("sms")[-1]["body"].startswith(REMINDER_24H)


def test_a_clinic_still_over_its_cap_or_suspended_releases_nothing(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    appointment_id = held_reminder(aws, clinic, clock, capsys)
    clock.set(at("2026-12-01T16:00:00Z"))

    # A cap raised, but not past the month's $0.00831
    still_over = set_cap(clinic, "0.008", clock, capsys)
    assert (still_over["spend_cap_reached"], still_over["reminders_released"]) == (True, 0)
    assert aws.services.reconciler.run().released == 0

    # A suspended clinic's cap raised
    assert admin(["--stage", "test", "suspend-clinic", "--clinic", clinic.clinic_id], clock=clock) == 0
    assert set_cap(clinic, "250", clock, capsys)["reminders_released"] == 0
    assert aws.services.reconciler.run().released == 0

    assert reminder_status(appointment_id, "reminder-24h.sms") == ("skipped", "spend_cap")
    assert cap_timers(aws) == set()
    assert len(aws.sent("sms")) == 1  # the confirmation only


def test_a_release_whose_timer_scheduler_refuses_stays_held_and_the_next_run_releases_it(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    appointment_id = held_reminder(aws, clinic, clock, capsys)
    Clinic(clinic.clinic_id).update(actions=[Clinic.monthly_spend_cap_usd.set(250)])
    clock.set(at("2026-12-01T15:40:00Z"))

    with Stubber(aws.services.scheduler) as scheduler:
        scheduler.add_client_error(
            "create_schedule", service_error_code="ServiceQuotaExceededException", http_status_code=402
        )
        refused = aws.services.spend_cap_release.release_all()
    assert ([r.reminder_id for r, _ in refused.not_armed], refused.released) == (["reminder-24h.sms"], [])
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("skipped", "spend_cap")
    assert cap_timers(aws) == set()

    assert aws.services.reconciler.run().released == 1
    assert cap_timers(aws) == {f"{appointment_id}.reminder-24h.sms.cap"}
