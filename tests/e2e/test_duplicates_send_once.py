"""Everything that may arrive twice on the running stack (a clinic system re-sending a booking, Scheduler
invoking a timer twice, the clock crossing a due time in two steps) reaches the patient once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import boto3

from tests.e2e.conftest import NEW_YORK, ONE_SECOND, Clinic, LocalStack, day_after, fired_for, iso_z

# The `local` stage's schedule group (`carecue-{stage}`), where the app arms every reminder timer.
SCHEDULE_GROUP = "carecue-local"


def scheduler_client(stack: LocalStack) -> Any:
    """The local AWS's EventBridge Scheduler, as the admin CLI reaches it (moto accepts any credentials)."""
    return boto3.client(
        "scheduler",
        endpoint_url=stack.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def invoke_twice(stack: LocalStack, schedule_name: str) -> str:
    """Arms a copy of a timer with the same target and Input, as Scheduler's at-least-once delivery may act."""
    scheduler = scheduler_client(stack)
    original = scheduler.get_schedule(Name=schedule_name, GroupName=SCHEDULE_GROUP)
    copy_name = f"{schedule_name}.again"
    scheduler.create_schedule(
        Name=copy_name,
        GroupName=SCHEDULE_GROUP,
        ScheduleExpression=original["ScheduleExpression"],
        ScheduleExpressionTimezone=original.get("ScheduleExpressionTimezone", "UTC"),
        FlexibleTimeWindow=original["FlexibleTimeWindow"],
        Target=original["Target"],
        ActionAfterCompletion="DELETE",
    )
    return copy_name


def test_a_booking_sent_twice_and_a_timer_fired_twice_reach_the_patient_once(stack: LocalStack, clinic: Clinic) -> None:
    stack.ask_for_both(clinic)  # SMS and email, as this test checks both
    phone, email = "+14155550104", "pat.twice@example.org"
    now = stack.now()
    start = day_after(now, 2, 10, 0, NEW_YORK)
    body = {
        "patient": {"name": "Pat Example", "phone": phone, "email": email},
        "start": start.isoformat(),
        "external_id": "ehr-e2e-4001",
    }

    # WHEN the clinic system sends the same booking twice
    first_status, first = stack.api(clinic).post("/v1/appointments", body)
    second_status, second = stack.api(clinic).post("/v1/appointments", body)

    # THEN it is booked once and confirmed once
    assert (first_status, second_status) == (201, 200), (first, second)
    assert second["id"] == first["id"]
    appointment_id = first["id"]
    assert sorted(m["channel"] for m in stack.outbox(phone, email)) == ["email", "sms"]
    assert len(stack.pending(f"{appointment_id}.")) == 4

    # WHEN Scheduler delivers the day-before SMS timer twice, and the clock crosses its due time in two steps
    day_before, two_hours_before = start - timedelta(hours=24), start - timedelta(hours=2)
    copy_name = invoke_twice(stack, f"{appointment_id}.reminder-24h.sms")
    at_due_time = fired_for(stack.advance_to(day_before), appointment_id)
    after_due_time = fired_for(stack.advance_to(day_before + timedelta(minutes=5)), appointment_id)

    # THEN both invocations ran at the due time, one sent and the other found it sent already
    results = {f["schedule"]: f["result"] for f in at_due_time}
    assert sorted(results) == sorted(
        [f"{appointment_id}.reminder-24h.email", f"{appointment_id}.reminder-24h.sms", copy_name]
    )
    assert sorted(results[name]["result"] for name in (f"{appointment_id}.reminder-24h.sms", copy_name)) == [
        "duplicate",
        "sent",
    ]
    assert {f["scheduled_time"] for f in at_due_time} == {iso_z(day_before)}
    assert after_due_time == []

    # WHEN the 2 h reminder is also crossed in two steps
    assert len(fired_for(stack.advance_to(two_hours_before), appointment_id)) == 2
    assert fired_for(stack.advance_to(two_hours_before + ONE_SECOND), appointment_id) == []

    # THEN the patient has exactly one message per reminder per channel, each at its own time
    sent = Counter((m["channel"], m["sent_at"]) for m in stack.outbox(phone, email))
    assert sent == {
        ("sms", iso_z(now)): 1,
        ("email", iso_z(now)): 1,
        ("sms", iso_z(day_before)): 1,
        ("email", iso_z(day_before)): 1,
        ("sms", iso_z(two_hours_before)): 1,
        ("email", iso_z(two_hours_before)): 1,
    }
    assert stack.pending(f"{appointment_id}.") == []
