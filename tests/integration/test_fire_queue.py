"""The fire queue as AWS runs it: Scheduler puts a reminder's timer on the stage's queue (its Input as the body),
Lambda's event source mapping hands the fire_batch function the messages waiting, up to 10, and the function
answers which to try again (ReportBatchItemFailures). Here moto's SQS holds the messages and the event is built
from what it hands out, as the event source mapping builds it; a failed send is delayed by Scheduler's back-off,
and after its last attempt SQS moves it to the reminders' dead-letter queue, where `redrive-dlq` sends it once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.fire.queue import FIRE_ATTEMPTS, retry_delay_seconds
from chalicelib.reconcile.dead_letters import DeadLetterRedrive
from chalicelib.store.models import Reminder
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_fire_batch import book_all, phone, throttled_sms
from tests.integration.test_fire_reads_and_races import counted_calls
from tests.timer_support import stored_event


def queue_url(world: World, name: str | None = None) -> str:
    settings = world.services.settings
    return world.services.sqs.get_queue_url(QueueName=name or settings.fire_queue_name)["QueueUrl"]


def queue_timers(world: World, clock: SimulatedClock, appointments: list[str]) -> None:
    """What Scheduler does at the 24-hour reminders' time: each timer's Input, its time filled in, on the queue."""
    settings = world.services.settings
    for appointment_id in appointments:
        name = f"{appointment_id}.reminder-24h.sms"
        schedule = world.services.scheduler.get_schedule(Name=name, GroupName=settings.schedule_group)
        assert schedule["Target"]["Arn"] == settings.fire_queue_arn
        event = stored_event(world, name)
        world.services.sqs.send_message(QueueUrl=queue_url(world), MessageBody=json.dumps(event))
    clock.set(datetime.fromisoformat(event["scheduled_time"]))


def received(world: World) -> dict[str, Any]:
    """The event the event source mapping passes for what the queue hands out now (up to 10 messages)."""
    answer = world.services.sqs.receive_message(
        QueueUrl=queue_url(world), MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=0
    )
    arn = world.services.settings.fire_queue_arn
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for m in answer.get("Messages", [])
        ]
    }


def fire_batch(event: dict[str, Any]) -> dict[str, Any]:
    with Client(app, stage_name="local") as client:
        return dict(client.lambda_.invoke("fire_batch", event).payload)


@contextmanager
def visibility_changes(world: World) -> Iterator[list[int]]:
    """The visibility timeouts the function asks SQS for, in order (SQS's own answer is left as it is)."""
    asked: list[int] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        asked.append(int(params["VisibilityTimeout"]))

    events = world.services.sqs.meta.events
    events.register("provide-client-params.sqs.ChangeMessageVisibility", note, unique_id="visibility")
    try:
        yield asked
    finally:
        events.unregister("provide-client-params.sqs.ChangeMessageVisibility", unique_id="visibility")


def reminder_texts(world: World) -> list[str]:
    return sorted(m["to"] for m in world.sent("sms") if "reminder of your appointment" in m["body"])


def test_reminders_queued_together_are_sent_in_one_batch_and_none_is_tried_again(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 4)
    queue_timers(aws, clock, appointments)
    event = received(aws)
    assert len(event["Records"]) == 4

    with counted_calls(aws) as log:
        assert fire_batch(event) == {"batchItemFailures": []}

    assert log.calls == Counter({"dynamodb.BatchGetItem": 1, "dynamodb.TransactWriteItems": 2, "sns.Publish": 4})
    assert reminder_texts(aws) == [phone(n) for n in range(4)]
    assert all("Wed 2 Dec at 10:00 AM" in m["body"] for m in aws.sent("sms"))
    assert [Reminder.get(a, "reminder-24h.sms").status for a in appointments] == ["sent"] * 4


def test_a_send_that_fails_is_reported_alone_and_tried_again_a_minute_later(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 3)
    queue_timers(aws, clock, appointments)
    event = received(aws)
    throttled_id = next(
        r["messageId"] for r in event["Records"] if json.loads(r["body"])["owner_id"] == appointments[1]
    )

    with throttled_sms(aws, phone(1)), visibility_changes(aws) as asked:
        answer = fire_batch(event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": throttled_id}]}
    assert asked == [60]  # Scheduler's first back-off
    assert reminder_texts(aws) == [phone(0), phone(2)]
    assert Reminder.get(appointments[1], "reminder-24h.sms").status == "scheduled"


@pytest.mark.parametrize(("attempt", "seconds"), [(1, 60), (2, 120), (3, 240), (4, 480), (5, 960), (FIRE_ATTEMPTS, 0)])
def test_retries_follow_schedulers_back_off_and_the_last_is_dead_lettered_at_once(attempt: int, seconds: int) -> None:
    # Attempts at +0, +1, +3, +7, +15 and +31 minutes, as Scheduler tried a timer within its hour.
    assert retry_delay_seconds(attempt) == seconds


def test_a_reminder_failing_its_last_attempt_goes_to_the_dead_letter_queue_and_is_redriven_once(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    (appointment_id,) = book_all(aws, clinic, 1)
    queue_timers(aws, clock, [appointment_id])
    sqs = aws.services.sqs
    with throttled_sms(aws, phone(0)), visibility_changes(aws) as asked:
        for attempt in range(1, FIRE_ATTEMPTS + 1):
            event = received(aws)
            assert [r["attributes"]["ApproximateReceiveCount"] for r in event["Records"]] == [str(attempt)]
            assert fire_batch(event)["batchItemFailures"] != []
            if attempt < FIRE_ATTEMPTS:  # its back-off, waited out: visible again now
                (record,) = event["Records"]
                sqs.change_message_visibility(
                    QueueUrl=queue_url(aws), ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
    assert asked[-1] == 0  # the last attempt: visible at once, for SQS to dead-letter it
    assert received(aws) == {"Records": []}  # that receive moved it to the dead-letter queue
    assert reminder_texts(aws) == []

    dead_letters = queue_url(aws, aws.services.settings.dead_letter_queue_arn.rpartition(":")[2])
    redrive = DeadLetterRedrive(
        aws.services.clock,
        sqs,
        dead_letters,
        aws.services.dispatcher,
        aws.services.reminder_timers,
        aws.services.reconciler,
    )
    clock.set(clock.now() + timedelta(minutes=40))
    assert redrive.run().outcomes == {"sent": 1}
    assert redrive.run().outcomes == {}
    assert reminder_texts(aws) == [phone(0)]
    assert Reminder.get(appointment_id, "reminder-24h.sms").status == "sent"


def test_a_message_that_is_not_a_timer_is_dropped_with_a_log_line_and_nothing_sent(
    aws: World, clinic: ClinicKeys, caplog: pytest.LogCaptureFixture
) -> None:
    aws.services.sqs.send_message(QueueUrl=queue_url(aws), MessageBody="not json")
    aws.services.sqs.send_message(QueueUrl=queue_url(aws), MessageBody=json.dumps({"owner_id": "apt_x"}))

    assert fire_batch(received(aws)) == {"batchItemFailures": []}  # a retry cannot fix them

    assert aws.sent() == []
    rejected = [r for r in caplog.records if r.getMessage() == "timer event rejected"]
    assert len(rejected) == 2
