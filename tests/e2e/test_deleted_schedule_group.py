"""The stage's schedule group deleted by hand on the running stack (every timer in it goes with it, as on AWS): a
booking made meanwhile still answers 201 and its refused timers are recorded; the hourly reconciler recreates the
group and re-arms both the earlier booking's timers and the new one's, and every reminder reaches the patient
once, at its planned time. Its own stack: the other tests' timers would go with the group."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3

from tests.e2e.conftest import (
    NEW_YORK,
    ONE_SECOND,
    LocalStack,
    day_after,
    iso_z,
)
from tests.e2e.test_duplicates_send_once import SCHEDULE_GROUP, scheduler_client

EARLIER = "+14155550186"  # numbers no other test uses
LATER = "+14155550187"


def stored_reminder(stack: LocalStack, appointment_id: str, reminder_id: str) -> dict[str, Any]:
    """The reminder as the stage's table holds it (the local AWS, as the admin CLI reaches it)."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    key = {"owner_id": {"S": appointment_id}, "reminder_id": {"S": reminder_id}}
    return dict(dynamodb.get_item(TableName="carecue-local-reminders", Key=key, ConsistentRead=True)["Item"])


def pending_at(stack: LocalStack, appointment_id: str) -> list[tuple[str, str]]:
    return [(p["schedule"], p["at"]) for p in stack.pending(f"{appointment_id}.")]


def step_to(stack: LocalStack, moment: datetime) -> None:
    """The clock moved an hour at a time, so the reconciler runs at every whole hour on the way, as on AWS."""
    while stack.now() < moment:
        stack.advance_to(min(stack.now() + timedelta(hours=1), moment))


def test_a_deleted_schedule_group_is_recreated_by_the_hourly_reconciler_and_every_reminder_goes_once(
    own_stack: LocalStack,
) -> None:
    stack = own_stack
    clinic = stack.create_clinic()
    booked_at = stack.now()
    # GIVEN a booking two days ahead, its two reminders armed
    start = day_after(booked_at, 2, 10, 0, NEW_YORK)
    earlier = stack.book_for(clinic, {"patient": {"name": "Pat Example", "phone": EARLIER}, "start": start.isoformat()})
    early_id = earlier["id"]
    plan = {
        early_id: [start - timedelta(hours=24), start - timedelta(hours=2)],
    }
    assert pending_at(stack, early_id) == [
        (f"{early_id}.reminder-24h.sms", iso_z(plan[early_id][0])),
        (f"{early_id}.reminder-2h.sms", iso_z(plan[early_id][1])),
    ]

    # WHEN someone deletes the stage's schedule group (its timers go with it)
    scheduler_client(stack).delete_schedule_group(Name=SCHEDULE_GROUP)
    assert stack.pending() == []

    # THEN a booking made now still stands (201), its confirmation goes, and its refused timers are recorded
    later_start = start + timedelta(hours=1)
    status, later = stack.api(clinic).post(
        "/v1/appointments", {"patient": {"name": "Pat Example", "phone": LATER}, "start": later_start.isoformat()}
    )
    assert status == 201, later
    late_id = later["id"]
    plan[late_id] = [later_start - timedelta(hours=24), later_start - timedelta(hours=2)]
    assert [m["sent_at"] for m in stack.outbox(LATER)] == [iso_z(booked_at)]
    for reminder_id in ("reminder-24h.sms", "reminder-2h.sms"):
        stored = stored_reminder(stack, late_id, reminder_id)
        assert (stored["status"]["S"], stored["arm_failed"]["BOOL"]) == ("scheduled", True)
    assert stack.pending() == []

    # AND at the next whole hour the reconciler recreates the group and re-arms the earlier booking's next
    # timer (due within its look-ahead) and both of the new booking's
    next_hour = booked_at.replace(minute=0, second=0) + timedelta(hours=1)
    stack.advance_to(next_hour + ONE_SECOND)
    groups = [g["Name"] for g in scheduler_client(stack).list_schedule_groups()["ScheduleGroups"]]
    assert SCHEDULE_GROUP in groups
    assert pending_at(stack, early_id) == [(f"{early_id}.reminder-24h.sms", iso_z(plan[early_id][0]))]
    assert pending_at(stack, late_id) == [
        (f"{late_id}.reminder-24h.sms", iso_z(plan[late_id][0])),
        (f"{late_id}.reminder-2h.sms", iso_z(plan[late_id][1])),
    ]
    assert "arm_failed" not in stored_reminder(stack, late_id, "reminder-24h.sms")

    # AND as the days pass every reminder reaches its patient once, at its planned time (the earlier booking's
    # 2 h reminder re-armed by a later run, once it is within the look-ahead)
    step_to(stack, later_start + timedelta(hours=1))
    for phone, appointment_id in ((EARLIER, early_id), (LATER, late_id)):
        sent = stack.outbox(phone)
        assert [m["sent_at"] for m in sent] == [iso_z(booked_at)] + [iso_z(at) for at in plan[appointment_id]]
        assert all("reminder of your appointment" in m["body"] for m in sent[1:])
