"""Timers fired in a batch (the fire queue hands the fire function up to 10 at once: `Dispatcher.deliver_all`): each
patient gets the message they would have got one timer at a time, with the batch's reads made once and its claims
and records each in one transaction; where a transaction does not go through (a timer twice, a reminder already
sent, one moved meanwhile, the spend cap), each send is made on its own and ends as it would have alone."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from botocore.awsrequest import AWSResponse

from chalicelib.appointments.request import parse_appointment_change, parse_new_appointment
from chalicelib.fire.dispatch import DeliveryRequest, Outcome, TransientSendError
from chalicelib.fire.fire import parse_reminder_event
from chalicelib.store.models import Clinic, Delivery, Reminder, Usage
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_fire_reads_and_races import counted_calls, just_before_the_publish
from tests.timer_support import timer_event

START = "2026-12-02T10:00:00-05:00"  # Wed 2 Dec at 10:00 AM in the clinic's zone (America/New_York)


def phone(n: int) -> str:
    return f"+1415555{100 + n:04d}"  # the fictional 555-01xx range


def book_all(world: World, clinic: ClinicKeys, count: int) -> list[str]:
    """`count` patients, each with an appointment at START (so each reminder is due at the same moment), booked
    the morning before, in the month their reminders go."""
    clock = world.services.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(datetime.fromisoformat("2026-12-01T09:00:00Z"))
    booked = []
    for n in range(count):
        body = {"patient": {"name": f"Patient {n}", "phone": phone(n)}, "start": START}
        request = parse_new_appointment(json.dumps(body).encode(), world.services.clock.now())
        booked.append(world.services.appointments.book(clinic.clinic_id, request).appointment.appointment_id)
    return booked


def due_requests(world: World, clock: SimulatedClock, appointments: list[str]) -> list[DeliveryRequest]:
    """The 24-hour reminders' timer events as the fire function reads them, the clock at their due time."""
    requests = [parse_reminder_event(timer_event(world, a, "reminder-24h.sms")) for a in appointments]
    clock.set(requests[0].occurrence)
    return requests


def answers(outcomes: list[Outcome | Exception]) -> list[tuple[str, str | None]]:
    return [(type(o).__name__, None) if isinstance(o, Exception) else (str(o.result), o.reason) for o in outcomes]


def test_ten_timers_due_together_are_sent_with_one_read_and_two_transactions(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 10)
    requests = due_requests(aws, clock, appointments)
    month = billing_month_of(clock)
    before = Usage.get(clinic.clinic_id, month).sms_messages

    with counted_calls(aws) as log:
        outcomes = aws.services.dispatcher.deliver_all(requests)

    assert answers(outcomes) == [("sent", None)] * 10
    assert log.calls == Counter({"dynamodb.BatchGetItem": 1, "dynamodb.TransactWriteItems": 2, "sns.Publish": 10})
    reminders = [m for m in aws.sent("sms") if "Wed 2 Dec at 10:00 AM" in m["body"] and "reminder" in m["body"]]
    assert sorted(m["to"] for m in reminders) == sorted(phone(n) for n in range(10))  # each patient once
    for appointment_id in appointments:
        reminder = Reminder.get(appointment_id, "reminder-24h.sms")
        assert reminder.status == "sent"
        delivery = Delivery.get(f"{appointment_id}/reminder-24h.sms", timer_time(requests[0]))
        assert (delivery.status, delivery.sms_segments) == ("sent", 1)
    assert Usage.get(clinic.clinic_id, month).sms_messages == before + 10  # counted once for the ten, all of them


def test_a_timer_delivered_twice_in_one_batch_sends_once(aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
    appointments = book_all(aws, clinic, 3)
    requests = due_requests(aws, clock, appointments)
    sms_before = len(aws.sent("sms"))

    outcomes = aws.services.dispatcher.deliver_all([requests[0], requests[1], requests[0], requests[2]])

    assert answers(outcomes) == [("sent", None), ("sent", None), ("duplicate", "already_sent"), ("sent", None)]
    assert sorted(m["to"] for m in aws.sent("sms")[sms_before:]) == [phone(0), phone(1), phone(2)]


def test_a_reminder_sent_before_the_batch_is_not_sent_again_and_the_rest_go(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 3)
    requests = due_requests(aws, clock, appointments)
    assert aws.services.dispatcher.deliver(requests[1]).result == "sent"  # a retry of it comes in the batch
    sms_before = len(aws.sent("sms"))

    outcomes = aws.services.dispatcher.deliver_all(requests)

    assert answers(outcomes) == [("sent", None), ("duplicate", "already_sent"), ("sent", None)]
    assert sorted(m["to"] for m in aws.sent("sms")[sms_before:]) == [phone(0), phone(2)]


def test_a_reminder_moved_while_its_batch_is_sent_still_goes_at_its_new_time(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 3)
    requests = due_requests(aws, clock, appointments)
    change = parse_appointment_change(b'{"start": "2026-12-09T10:00:00-05:00"}', clock.now())
    move = lambda: aws.services.appointments.change(clinic.clinic_id, appointments[1], change)  # noqa: E731

    with just_before_the_publish(aws, move):
        outcomes = aws.services.dispatcher.deliver_all(requests)

    assert answers(outcomes) == [("sent", None)] * 3  # its message was on the way when it moved
    moved = Reminder.get(appointments[1], "reminder-24h.sms")
    assert (moved.status, int(moved.owner_version)) == ("scheduled", 2)  # not marked sent: it stands for 9 Dec
    assert [Reminder.get(a, "reminder-24h.sms").status for a in (appointments[0], appointments[2])] == ["sent"] * 2
    clock.set(moved.send_at)
    again = parse_reminder_event(timer_event(aws, appointments[1], "reminder-24h.sms"))
    assert answers(aws.services.dispatcher.deliver_all([again])) == [("sent", None)]
    assert "Wed 9 Dec at 10:00 AM" in aws.sent("sms")[-1]["body"]


def test_a_batch_that_would_pass_the_spend_cap_sends_what_one_at_a_time_would(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 3)  # three confirmations: the month is at $0.02493
    month = billing_month_of(clock)
    assert round(float(Usage.get(clinic.clinic_id, month).estimated_cost_usd), 5) == 0.02493
    # Under $0.04 one at a time: $0.02493 and $0.03324 are under it, so two go; at $0.04155 the third does not.
    Clinic.get(clinic.clinic_id).update(actions=[Clinic.monthly_spend_cap_usd.set(0.04)])
    requests = due_requests(aws, clock, appointments)

    outcomes = aws.services.dispatcher.deliver_all(requests)

    assert answers(outcomes) == [("sent", None), ("sent", None), ("skipped", "spend_cap")]
    used = Usage.get(clinic.clinic_id, month)
    assert (used.sms_messages, used.spend_cap_skips) == (5, 1)
    assert Reminder.get(appointments[2], "reminder-24h.sms").reason == "spend_cap"


def test_a_batch_under_the_spend_cap_is_counted_in_one_write(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 3)
    Clinic.get(clinic.clinic_id).update(actions=[Clinic.monthly_spend_cap_usd.set(0.05)])  # room for all three
    requests = due_requests(aws, clock, appointments)

    with counted_calls(aws) as log:
        outcomes = aws.services.dispatcher.deliver_all(requests)

    assert answers(outcomes) == [("sent", None)] * 3
    assert log.calls["dynamodb.TransactWriteItems"] == 2
    used = Usage.get(clinic.clinic_id, billing_month_of(clock))
    assert (used.sms_messages, round(float(used.estimated_cost_usd), 5)) == (6, 0.04986)


def test_a_send_the_channel_throttles_is_answered_for_a_retry_and_the_rest_go(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 3)
    requests = due_requests(aws, clock, appointments)
    with throttled_sms(aws, phone(1)):
        outcomes = aws.services.dispatcher.deliver_all(requests)

    assert answers(outcomes) == [("sent", None), ("TransientSendError", None), ("sent", None)]
    assert isinstance(outcomes[1], TransientSendError)
    assert Delivery.get(requests[1].reminder_key, timer_time(requests[1])).status == "retrying"
    assert answers(aws.services.dispatcher.deliver_all([requests[1]])) == [("sent", None)]  # the retry sends it


@contextmanager
def throttled_sms(world: World, number: str) -> Iterator[None]:
    """SNS answering Throttling (past botocore's retries) for SMS to `number`."""

    def refuse(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        body = str(params.get("body"))
        if number not in body and number.replace("+", "%2B") not in body:
            return None
        error = {"Code": "Throttling", "Message": "Rate exceeded"}
        return AWSResponse("", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    events = world.services.sns.meta.events
    events.register("before-call.sns.Publish", refuse, unique_id="throttled")
    try:
        yield
    finally:
        events.unregister("before-call.sns.Publish", unique_id="throttled")


def billing_month_of(clock: SimulatedClock) -> str:
    return f"{clock.now():%Y-%m}"


def timer_time(request: DeliveryRequest) -> str:
    return request.occurrence.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_retry_in_a_batch_is_claimed_on_its_own_and_the_first_attempts_together(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 3)
    requests = due_requests(aws, clock, appointments)
    dispatcher = aws.services.dispatcher
    with throttled_sms(aws, phone(0)):
        assert isinstance(dispatcher.deliver_all([requests[0]])[0], TransientSendError)  # its claim released

    with counted_calls(aws) as log:
        outcomes = dispatcher.deliver_all(requests)

    assert answers(outcomes) == [("sent", None)] * 3
    # The two first attempts' claims in one transaction, the retry's on its own, the three records in one.
    assert log.calls == Counter({"dynamodb.BatchGetItem": 1, "dynamodb.TransactWriteItems": 3, "sns.Publish": 3})
    retried = Delivery.get(requests[0].reminder_key, timer_time(requests[0]))
    assert (retried.status, retried.attempts) == ("sent", 2)
    assert sorted(m["to"] for m in aws.sent("sms") if "reminder" in m["body"]) == [phone(0), phone(1), phone(2)]


def test_a_receipt_that_lands_before_the_batch_records_its_send_is_kept(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointments = book_all(aws, clinic, 3)
    requests = due_requests(aws, clock, appointments)
    first = requests[0]

    def receipt(**_: Any) -> None:  # the channel reports the first message delivered at once
        if Delivery.count(first.reminder_key) and Delivery.get(first.reminder_key, timer_time(first)).receipt is None:
            Delivery(first.reminder_key, timer_time(first)).update(
                actions=[Delivery.receipt.set("delivered"), Delivery.receipt_rank.set(2)]
            )

    events = aws.services.sns.meta.events
    events.register("after-call.sns.Publish", receipt, unique_id="receipt")
    try:
        outcomes = aws.services.dispatcher.deliver_all(requests)
    finally:
        events.unregister("after-call.sns.Publish", unique_id="receipt")

    assert answers(outcomes) == [("sent", None)] * 3
    delivery = Delivery.get(first.reminder_key, timer_time(first))
    assert (delivery.status, delivery.receipt, delivery.message_id is not None) == ("sent", "delivered", True)
    assert [Reminder.get(a, "reminder-24h.sms").status for a in appointments] == ["sent"] * 3
