"""What a booking (`POST /v1/appointments`, two SMS reminders and the SMS confirmation) asks of AWS, counted with
the bench's own call log (infra/bench/aws_calls.py) so that its calls cannot grow unseen, and what it keeps for
them: the confirmation is checked on the records the booking has just written and read, and the claim checks
they are still so, so a cancel, a move or a STOP that lands between the booking's write and the confirmation's
claim (staged here at the booking's first timer) means nothing is sent (docs/performance.md, "A booking")."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.appointments.request import parse_appointment_change
from chalicelib.core.words import Channel
from chalicelib.patients.contacts import find_contact, opt_out
from chalicelib.store import models
from chalicelib.store.models import AuditEntry, Reminder
from infra.bench.aws_calls import CallLog
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World

PHONE = "+14155550100"  # the fictional 555-01xx range
START = "2026-12-02T10:00:00-05:00"
CONFIRMATION = "Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 10:00 AM."


@pytest.fixture
def api(aws: World) -> Iterator[Client]:
    with Client(app, stage_name="local") as client:
        yield client


def body(phone: str = PHONE, **more: Any) -> str:
    return json.dumps({"patient": {"name": "Pat Example", "phone": phone}, "start": START, **more})


@contextmanager
def calls_in_order(world: World) -> Iterator[tuple[CallLog, list[str]]]:
    """Every call of the app's DynamoDB (PynamoDB's), Scheduler and SNS clients while inside: the bench's call log,
    and the calls' names in the order they were made."""
    assert models._shared_connection is not None
    log, order = CallLog(), []
    emitters = [
        models._shared_connection.client.meta.events,
        world.services.scheduler.meta.events,
        world.services.sns.meta.events,
    ]

    def named(model: Any, **_: Any) -> None:
        order.append(f"{model.service_model.service_name}.{model.name}")

    for events in emitters:
        log.attach(events)
        events.register("before-call", named)
    try:
        yield log, order
    finally:
        for events in emitters:
            events.unregister("before-parameter-build", log._parameters)
            events.unregister("before-call", log._before)
            events.unregister("after-call", log._after)
            events.unregister("before-call", named)


@contextmanager
def at_the_first_timer(world: World, action: Callable[[], object]) -> Iterator[None]:
    """Runs `action` once, as the booking arms its first timer: after its transaction, before the confirmation."""
    done: list[bool] = []

    def run(**_: Any) -> None:
        if not done:
            done.append(True)
            action()

    events = world.services.scheduler.meta.events
    events.register("before-call.scheduler.CreateSchedule", run)
    try:
        yield
    finally:
        events.unregister("before-call.scheduler.CreateSchedule", run)
    assert done, "the hook never ran: no timer was armed"


def test_a_booking_makes_seven_aws_calls_and_answers_what_it_stored(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    with calls_in_order(aws) as (log, order):
        booked = api.http.post("/v1/appointments", headers=clinic.headers, body=body())

    assert booked.status_code == 201
    assert order == [
        "dynamodb.GetItem",  # the authorizer: the key's clinic, its key hash and status (cached by API Gateway on AWS)
        "dynamodb.BatchGetItem",  # clinic, the patient's lookup row, the phone's contact record, the month's usage
        "dynamodb.TransactWriteItems",  # appointment, patient and its lookup row, reminders, the audit entry
        "scheduler.CreateSchedule",  # the 24 h reminder's timer
        "scheduler.CreateSchedule",  # the 2 h reminder's timer
        "dynamodb.TransactWriteItems",  # the confirmation: claim, usage count, guards of what it was checked on
        "sns.Publish",  # the confirmation
        "dynamodb.TransactWriteItems",  # the confirmation: delivery sent, reminder sent, the SMS noted for the caps
    ]
    assert log.calls == Counter(order)
    # Built from the records in hand, the answer is what is stored: the same as a read of it.
    stored = api.http.get(f"/v1/appointments/{booked.json_body['id']}", headers=clinic.headers)
    assert booked.json_body == stored.json_body
    confirmation = {r["id"]: r for r in booked.json_body["reminders"]}["confirmation.sms"]
    assert confirmation["status"] == "sent" and confirmation["delivery"]["receipt"] == "sent"
    assert [m["body"] for m in aws.sent("sms")] == [CONFIRMATION]
    assert [e.action for e in AuditEntry.scan()] == ["POST /v1/appointments"]  # in the booking's transaction
    contact = find_contact(clinic.clinic_id, Channel.SMS, PHONE)
    assert contact is not None and contact.recent_sends == [clock.now()]


def test_a_phone_without_a_country_code_reads_the_clinic_first(api: Client, aws: World, clinic: ClinicKeys) -> None:
    with calls_in_order(aws) as (log, order):
        booked = api.http.post("/v1/appointments", headers=clinic.headers, body=body("(415) 555-0100"))

    assert booked.status_code == 201 and booked.json_body["patient"]["phone"] == PHONE
    # The clinic's country reads the number, so the clinic comes before the rest: one GetItem more.
    assert order[1:3] == ["dynamodb.GetItem", "dynamodb.BatchGetItem"] and log.total == 9


def test_a_returning_patient_costs_the_read_of_its_record(api: Client, aws: World, clinic: ClinicKeys) -> None:
    first = api.http.post("/v1/appointments", headers=clinic.headers, body=body())
    with calls_in_order(aws) as (log, order):
        again = api.http.post("/v1/appointments", headers=clinic.headers, body=body(start="2026-12-09T10:00:00-05:00"))

    assert again.json_body["patient"]["id"] == first.json_body["patient"]["id"]
    assert again.json_body["patient"]["matched"] == "phone"
    # The lookup row names the patient; its record is read on its own, after the first batch.
    assert order[1:3] == ["dynamodb.BatchGetItem", "dynamodb.GetItem"] and log.total == 9


def test_the_same_booking_twice_stores_and_sends_nothing_more(api: Client, aws: World, clinic: ClinicKeys) -> None:
    first = api.http.post("/v1/appointments", headers=clinic.headers, body=body(external_id="ext-1"))
    with calls_in_order(aws) as (log, _):
        repeat = api.http.post("/v1/appointments", headers=clinic.headers, body=body(external_id="ext-1"))

    assert (first.status_code, repeat.status_code) == (201, 200)
    assert (
        repeat.json_body == api.http.get(f"/v1/appointments/{first.json_body['id']}", headers=clinic.headers).json_body
    )
    assert [m["body"] for m in aws.sent("sms")] == [CONFIRMATION]
    assert log.count("scheduler") == 0 and log.count("sns") == 0
    assert len(list(Reminder.query(first.json_body["id"]))) == 3


def test_a_cancel_between_the_bookings_write_and_its_confirmation_sends_no_confirmation(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    def cancel() -> None:
        (item,) = models.Appointment.query(clinic.clinic_id)
        aws.services.appointments.cancel(clinic.clinic_id, item.appointment_id)

    with at_the_first_timer(aws, cancel):
        booked = api.http.post("/v1/appointments", headers=clinic.headers, body=body())

    assert booked.status_code == 201
    assert CONFIRMATION not in [m["body"] for m in aws.sent("sms")]
    reminders = {r["id"]: r["status"] for r in booked.json_body["reminders"]}
    assert reminders["confirmation.sms"] == "cancelled"  # as stored: read back, the records in hand were stale


def test_a_move_between_the_bookings_write_and_its_confirmation_sends_only_the_new_time(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    def move() -> None:
        (item,) = models.Appointment.query(clinic.clinic_id)
        change = parse_appointment_change(b'{"start": "2026-12-09T10:00:00-05:00"}', clock.now())
        aws.services.appointments.change(clinic.clinic_id, item.appointment_id, change)

    with at_the_first_timer(aws, move):
        booked = api.http.post("/v1/appointments", headers=clinic.headers, body=body())

    texts = [m["body"] for m in aws.sent("sms")]
    assert CONFIRMATION not in texts  # the confirmation was for the old time
    assert len(texts) == 1 and "Wed 9 Dec at 10:00 AM" in texts[0]  # the reschedule notice
    assert {r["id"]: r["status"] for r in booked.json_body["reminders"]}["confirmation.sms"] == "scheduled"


def test_a_stop_between_the_bookings_read_and_its_confirmation_is_kept(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    stop = lambda: opt_out(clinic.clinic_id, Channel.SMS, PHONE, "sms_reply", clock.now())  # noqa: E731

    with at_the_first_timer(aws, stop):
        booked = api.http.post("/v1/appointments", headers=clinic.headers, body=body())

    assert aws.sent("sms") == []
    confirmation = {r["id"]: r for r in booked.json_body["reminders"]}["confirmation.sms"]
    assert (confirmation["status"], confirmation["reason"]) == ("skipped", "opted_out_sms")
    contact = find_contact(clinic.clinic_id, Channel.SMS, PHONE)
    assert contact is not None and contact.opted_out_at == clock.now()


def test_a_patient_who_said_stop_stays_opted_out_when_booked_again(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    api.http.post("/v1/appointments", headers=clinic.headers, body=body())
    opt_out(clinic.clinic_id, Channel.SMS, PHONE, "sms_reply", clock.now())

    again = api.http.post("/v1/appointments", headers=clinic.headers, body=body(start="2026-12-09T10:00:00-05:00"))

    assert again.status_code == 201
    assert [m["body"] for m in aws.sent("sms")] == [CONFIRMATION]  # the first booking's only
    contact = find_contact(clinic.clinic_id, Channel.SMS, PHONE)
    assert contact is not None and contact.opted_out_at == clock.now() and contact.opt_out_source == "sms_reply"
