"""The reconciler reads only the reminders that are due (the sparse `by-due` index, docs/performance.md), on
moto: a refused timer far ahead is armed anyway, a deleted timer is found once its reminder is near, a reminder
that was sent or cancelled is listed nowhere, and every shard is read."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.appointments.request import parse_new_appointment
from chalicelib.store.due_keys import shard
from chalicelib.store.models import Reminder
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_reconciler import delete_schedule, schedule
from tests.timer_support import fire, timer_event

FAR_START = "2026-12-21T10:00:00-05:00"  # three weeks after the test clock's Monday


def book_at(world: World, clinic: ClinicKeys, start: str, phone: str = "+14155550100") -> str:
    body = {"patient": {"name": "Pat Example", "phone": phone}, "start": start}
    request = parse_new_appointment(json.dumps(body).encode(), world.services.clock.now())
    return world.services.appointments.book(clinic.clinic_id, request).appointment.appointment_id


def stored_item(world: World, appointment_id: str, reminder_id: str) -> dict[str, Any]:
    """The reminder's item as DynamoDB holds it (what an admin sees in the console)."""
    table = f"{world.services.settings.resource_prefix}-reminders"
    item = world.session.client("dynamodb").get_item(
        TableName=table, Key={"owner_id": {"S": appointment_id}, "reminder_id": {"S": reminder_id}}
    )
    return dict(item["Item"])


def index_rows(world: World) -> set[tuple[str, str]]:
    """Every row of the `by-due` index: what any reader of it could ever be handed."""
    table = f"{world.services.settings.resource_prefix}-reminders"
    pages = world.session.client("dynamodb").get_paginator("scan").paginate(TableName=table, IndexName="by-due")
    return {(i["owner_id"]["S"], i["reminder_id"]["S"]) for page in pages for i in page["Items"]}


def test_a_refused_timer_three_weeks_ahead_is_armed_by_the_next_run_and_the_record_cleared(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    with Stubber(aws.services.scheduler) as scheduler:
        for _ in range(2):
            scheduler.add_client_error(
                "create_schedule", service_error_code="ServiceQuotaExceededException", http_status_code=402
            )
        appointment_id = book_at(aws, clinic, FAR_START)
        scheduler.assert_no_pending_responses()
    assert stored_item(aws, appointment_id, "reminder-24h.sms")["arm_failed"] == {"BOOL": True}

    clock.advance(timedelta(minutes=40))
    first = aws.services.reconciler.run()
    second = aws.services.reconciler.run()

    assert (first.rearmed, second.rearmed, second.checked) == (2, 0, 0)
    assert schedule(aws, appointment_id, "reminder-24h.sms")["ScheduleExpression"] == "at(2026-12-20T15:00:00)"
    assert schedule(aws, appointment_id, "reminder-2h.sms")["ScheduleExpression"] == "at(2026-12-21T13:00:00)"
    assert "arm_failed" not in stored_item(aws, appointment_id, "reminder-24h.sms")


def test_a_deleted_timer_is_found_once_its_reminder_is_due_within_a_day_and_rearmed(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book_at(aws, clinic, FAR_START)
    armed = schedule(aws, appointment_id, "reminder-2h.sms")
    delete_schedule(aws, appointment_id, "reminder-2h.sms")

    # Three weeks ahead it is not looked at: a run's work is what is due soon.
    assert aws.services.reconciler.run().rearmed == 0

    clock.set(datetime.fromisoformat("2026-12-21T11:30:00Z"))  # its timer would fire in an hour and a half
    result = aws.services.reconciler.run()

    assert result.rearmed == 1
    rearmed = schedule(aws, appointment_id, "reminder-2h.sms")
    assert rearmed["ScheduleExpression"] == armed["ScheduleExpression"] == "at(2026-12-21T13:00:00)"
    assert rearmed["Target"]["Input"] == armed["Target"]["Input"]


def test_a_sent_reminder_and_a_cancelled_one_leave_the_index_and_the_pending_one_stays(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    sent_id = book_at(aws, clinic, "2026-12-02T10:00:00-05:00")
    cancelled_id = book_at(aws, clinic, "2026-12-03T10:00:00-05:00", phone="+14155550101")
    assert index_rows(aws) == {
        (sent_id, "reminder-24h.sms"),
        (sent_id, "reminder-2h.sms"),
        (cancelled_id, "reminder-24h.sms"),
        (cancelled_id, "reminder-2h.sms"),
    }

    aws.services.appointments.cancel(clinic.clinic_id, cancelled_id)
    clock.set(datetime.fromisoformat("2026-12-01T15:00:20Z"))
    assert fire(timer_event(aws, sent_id, "reminder-24h.sms"))["result"] == "sent"

    assert index_rows(aws) == {(sent_id, "reminder-2h.sms")}
    sent = stored_item(aws, sent_id, "reminder-24h.sms")
    assert sent["status"] == {"S": "sent"}
    assert "due_key" not in sent and "due_sort" not in sent
    assert Reminder.get(cancelled_id, "reminder-24h.sms").due_key is None


def test_one_run_reads_every_shard(aws: World, clinic: ClinicKeys) -> None:
    # Two appointments in different shards (ids are random: book until two shards differ).
    booked: dict[int, str] = {}
    for n in range(10):
        appointment_id = book_at(aws, clinic, "2026-12-01T10:00:00-05:00", phone=f"+1415555{n:04d}")
        booked.setdefault(shard(appointment_id), appointment_id)
        if len(booked) == 2:
            break
    first, second = booked.values()
    for appointment_id in (first, second):
        delete_schedule(aws, appointment_id, "reminder-2h.sms")

    result = aws.services.reconciler.run()

    assert result.rearmed == 2
    assert schedule(aws, first, "reminder-2h.sms")["ScheduleExpression"] == "at(2026-12-01T13:00:00)"
    assert schedule(aws, second, "reminder-2h.sms")["ScheduleExpression"] == "at(2026-12-01T13:00:00)"


def test_a_run_over_its_budget_for_due_reminders_still_checks_regimens_and_a_larger_budget_does_the_rest(
    aws: World, clinic: ClinicKeys
) -> None:
    from chalicelib.clinics.policy import clinic_policy
    from chalicelib.reconcile.reminders import Budgets, ReminderReconciler
    from chalicelib.regimens.request import parse_new_regimen
    from chalicelib.store.due_keys import SHARDS
    from chalicelib.store.models import Clinic

    # GIVEN more deleted timers due within the hour than a run with a budget of one per shard checks, and a
    # regimen's deleted timer
    booked = [book_at(aws, clinic, "2026-12-01T10:00:00-05:00", phone=f"+1415555{n:04d}") for n in range(SHARDS + 2)]
    for appointment_id in booked:
        delete_schedule(aws, appointment_id, "reminder-24h.sms")
    body = {
        "patient": {"name": "Pat Example", "phone": "+14155550199"},
        "medication": "Examplamab 10 mg",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00"]}},
    }
    when_times = clinic_policy(Clinic.get(clinic.clinic_id)).medication.when_times
    created, _ = aws.services.regimens.create(
        clinic.clinic_id, parse_new_regimen(json.dumps(body).encode(), when_times)
    )
    [timer] = created["timers"]
    group = aws.services.settings.schedule_group
    aws.services.scheduler.delete_schedule(Name=timer["name"], GroupName=group)
    services = aws.services
    reconciler = ReminderReconciler(
        services.clock,
        services.reminder_timers,
        services.regimen_timers,
        services.spend_cap_release,
        Budgets(due=SHARDS),
    )

    first = reconciler.run()
    rest = aws.services.reconciler.run()  # the default budget

    # THEN the first run re-armed at most one reminder per shard, and the regimen all the same
    assert 1 <= first.rearmed <= SHARDS < len(booked)
    assert first.regimens_rearmed == 1
    assert aws.services.scheduler.get_schedule(Name=timer["name"], GroupName=group)["ScheduleExpression"]
    # and a run with the default budget re-armed the rest, each once
    assert first.rearmed + rest.rearmed == len(booked)
    for appointment_id in booked:
        assert schedule(aws, appointment_id, "reminder-24h.sms")["ScheduleExpression"] == "at(2026-11-30T15:00:00)"


def test_index_pending_lists_reminders_stored_before_the_index_and_the_reconciler_then_repairs_them(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.admin.cli import main as admin

    # GIVEN a booking whose reminders were stored as the code before the index stored them (no index keys)
    appointment_id = book_at(aws, clinic, "2026-12-02T10:00:00-05:00")
    table = f"{aws.services.settings.resource_prefix}-reminders"
    for reminder_id in ("reminder-24h.sms", "reminder-2h.sms"):
        aws.session.client("dynamodb").update_item(
            TableName=table,
            Key={"owner_id": {"S": appointment_id}, "reminder_id": {"S": reminder_id}},
            UpdateExpression="REMOVE due_key, due_sort",
        )
    delete_schedule(aws, appointment_id, "reminder-24h.sms")
    assert aws.services.reconciler.run().rearmed == 0  # not listed: not seen

    # WHEN an admin runs the one-off backfill, twice
    capsys.readouterr()
    assert admin(["--stage", "test", "index-pending"], clock=clock) == 0
    first = json.loads(capsys.readouterr().out)
    assert admin(["--stage", "test", "index-pending"], clock=clock) == 0
    second = json.loads(capsys.readouterr().out)

    # THEN both reminders are listed once, and the next run re-arms the deleted timer
    assert (first["indexed"]["reminders"], second["indexed"]["reminders"]) == (2, 0)
    assert index_rows(aws) == {(appointment_id, "reminder-24h.sms"), (appointment_id, "reminder-2h.sms")}
    assert aws.services.reconciler.run().rearmed == 1
    assert schedule(aws, appointment_id, "reminder-24h.sms")["ScheduleExpression"] == "at(2026-12-01T15:00:00)"
