"""What a send reads and writes, and what happens when the patient or the clinic acts while a message is on its
way: a STOP that lands during the send is kept, and a reminder moved during the send still goes at its new time.
The races are staged at the exact moment of the send, with a hook on the SNS client that runs just before the
publish reaches (moto's) SNS."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pynamodb.exceptions import DoesNotExist

from chalicelib.appointments.request import parse_appointment_change, parse_new_appointment
from chalicelib.core.words import Channel
from chalicelib.fire.dispatch import DeliveryRequest
from chalicelib.fire.fire import parse_reminder_event
from chalicelib.patients.contacts import find_contact, opt_out
from chalicelib.store import models, reads
from chalicelib.store.models import Appointment, Clinic, Patient, Reminder
from infra.bench.aws_calls import CallLog
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import timer_event

PHONE = "+14155550100"  # the fictional 555-01xx range
NEW_PHONE = "+14155550177"


def book(world: World, clinic: ClinicKeys, start: str = "2026-12-02T10:00:00-05:00") -> str:
    body = {"patient": {"name": "Pat Example", "phone": PHONE}, "start": start}
    request = parse_new_appointment(json.dumps(body).encode(), world.services.clock.now())
    return world.services.appointments.book(clinic.clinic_id, request).appointment.appointment_id


def due_request(world: World, clinic: ClinicKeys, appointment_id: str, reminder_id: str) -> DeliveryRequest:
    reminder = Reminder.get(appointment_id, reminder_id)
    return DeliveryRequest(clinic.clinic_id, appointment_id, reminder_id, int(reminder.owner_version), reminder.send_at)


@contextmanager
def just_before_the_publish(world: World, action: Callable[[], object]) -> Iterator[None]:
    """Runs `action` once, after the reminder is claimed and worded, as the SMS is handed to SNS."""
    done: list[bool] = []

    def run(**_: Any) -> None:
        if not done:
            done.append(True)
            action()

    events = world.services.sns.meta.events
    events.register("before-call.sns.Publish", run)
    try:
        yield
    finally:
        events.unregister("before-call.sns.Publish", run)
    assert done, "the hook never ran: nothing was published"


def test_a_stop_that_lands_while_a_reminder_is_sent_is_kept(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    booked_at = clock.now()
    request = due_request(aws, clinic, appointment_id, "reminder-24h.sms")
    clock.set(request.occurrence)
    stop = lambda: opt_out(clinic.clinic_id, Channel.SMS, PHONE, "sms_reply", clock.now())  # noqa: E731

    with just_before_the_publish(aws, stop):
        assert aws.services.dispatcher.deliver(request).result == "sent"

    contact = find_contact(clinic.clinic_id, Channel.SMS, PHONE)
    assert contact is not None and contact.opted_out_at == clock.now() and contact.opt_out_source == "sms_reply"
    assert contact.recent_sends == [booked_at, clock.now()]  # the confirmation, then this send, for the caps
    # And the next reminder respects the STOP.
    later = due_request(aws, clinic, appointment_id, "reminder-2h.sms")
    clock.set(later.occurrence)
    sms_before = len(aws.sent("sms"))
    assert aws.services.dispatcher.deliver(later).reason == "opted_out_sms"
    assert len(aws.sent("sms")) == sms_before


def test_a_reminder_moved_while_its_message_is_sent_still_goes_at_the_new_time(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    request = due_request(aws, clinic, appointment_id, "reminder-24h.sms")
    clock.set(request.occurrence)
    change = parse_appointment_change(b'{"start": "2026-12-09T10:00:00-05:00"}', clock.now())
    move = lambda: aws.services.appointments.change(clinic.clinic_id, appointment_id, change)  # noqa: E731

    with just_before_the_publish(aws, move):
        assert aws.services.dispatcher.deliver(request).result == "sent"

    moved = Reminder.get(appointment_id, "reminder-24h.sms")
    assert (moved.status, int(moved.owner_version)) == ("scheduled", 2)  # not marked sent: it stands for 9 Dec
    clock.set(moved.send_at)
    assert aws.services.dispatcher.deliver(due_request(aws, clinic, appointment_id, "reminder-24h.sms")).result == (
        "sent"
    )
    assert "Wed 9 Dec at 10:00 AM" in aws.sent("sms")[-1]["body"]


@contextmanager
def counted_calls(world: World) -> Iterator[CallLog]:
    """Every AWS call of the app's DynamoDB (PynamoDB's) and SNS clients while inside, by the bench's call log
    (infra/bench/aws_calls.py), so that the calls a path makes cannot grow unseen."""
    assert models._shared_connection is not None
    log = CallLog()
    emitters = [models._shared_connection.client.meta.events, world.services.sns.meta.events]
    for events in emitters:
        log.attach(events)
    try:
        yield log
    finally:
        for events in emitters:
            events.unregister("before-parameter-build", log._parameters)
            events.unregister("before-call", log._before)
            events.unregister("after-call", log._after)


def test_a_sent_reminder_makes_four_aws_calls_the_contact_read_with_the_rest(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    booked_at = clock.now()
    request = parse_reminder_event(timer_event(aws, appointment_id, "reminder-24h.sms"))  # as the fire function does
    assert request.patient_id == Appointment.get(clinic.clinic_id, appointment_id).patient_id
    assert request.contact == PHONE  # the planned address's contact record, named by the timer
    clock.set(request.occurrence)

    with counted_calls(aws) as log:
        assert aws.services.dispatcher.deliver(request).result == "sent"

    # One read of reminder, appointment, patient, clinic, usage and contact; the claim with the usage count under
    # the cap; the publish; the delivery sent, the reminder sent at its version and the SMS noted for the caps.
    assert log.calls == Counter({"dynamodb.BatchGetItem": 1, "dynamodb.TransactWriteItems": 2, "sns.Publish": 1})
    assert reminder_state(appointment_id, "reminder-24h.sms") == "sent"
    usage = aws.services.usage.for_clinic(clinic.clinic_id, "2026-12")
    assert (usage.sms_messages, usage.sms_segments) == (1, 1)  # counted once (the confirmation went in November)
    contact = find_contact(clinic.clinic_id, Channel.SMS, PHONE)
    assert contact is not None and contact.recent_sends == [booked_at, clock.now()]


def test_a_patient_whose_phone_changed_since_the_timer_was_armed_gets_it_at_the_new_number(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    patient_id = Appointment.get(clinic.clinic_id, appointment_id).patient_id
    opt_out(clinic.clinic_id, Channel.SMS, PHONE, "sms_reply", clock.now())  # the old number said STOP
    # The record's phone changed since (a later booking's details, say), after the timer was armed.
    Patient(clinic.clinic_id, patient_id).update(actions=[Patient.phone.set(NEW_PHONE)])
    request = parse_reminder_event(timer_event(aws, appointment_id, "reminder-24h.sms"))
    clock.set(request.occurrence)

    with counted_calls(aws) as log:
        assert aws.services.dispatcher.deliver(request).result == "sent"

    # The timer's hint names the old number: the new number's contact record is read on its own (one call more),
    # and the old number's STOP does not hold back a message to the new one.
    assert [m["to"] for m in aws.sent("sms")][-1] == NEW_PHONE
    assert log.calls["dynamodb.GetItem"] == 1 and log.total == 5


def test_prefetched_items_come_from_several_tables_and_are_handed_out_once(aws: World, clinic: ClinicKeys) -> None:
    appointment_id = book(aws, clinic)
    appointment = Appointment.get(clinic.clinic_id, appointment_id)
    keys: list[reads.Key] = [
        (Clinic, clinic.clinic_id, None),
        (Appointment, clinic.clinic_id, appointment_id),
        (Patient, clinic.clinic_id, appointment.patient_id),
        (Reminder, appointment_id, "no-such-reminder"),
    ]

    with reads.prefetched(keys):
        assert reads.get(Appointment, clinic.clinic_id, appointment_id).start == appointment.start
        with pytest.raises(DoesNotExist):
            reads.get(Reminder, appointment_id, "no-such-reminder")
        # Handed out once; read again, an item comes from the table, so a write made since is seen.
        clinic_item = reads.get(Clinic, clinic.clinic_id)
        clinic_item.update(actions=[Clinic.name.set("Riverside Clinic East")])
        assert reads.get(Clinic, clinic.clinic_id).name == "Riverside Clinic East"


def test_more_keys_than_one_batch_holds_are_all_fetched(aws: World, clinic: ClinicKeys) -> None:
    appointment_ids = [book(aws, clinic) for _ in range(3)]
    keys: list[reads.Key] = [(Reminder, appointment_id, "reminder-24h.sms") for appointment_id in appointment_ids]
    keys += [(Reminder, "apt_00000000000000000000", f"missing-{n}") for n in range(120)]

    found = reads.batch_get(keys)

    assert len(found) == 123
    assert sorted(item.owner_id for item in found.values() if item is not None) == sorted(appointment_ids)


def reminder_state(appointment_id: str, reminder_id: str) -> str:
    return str(Reminder.get(appointment_id, reminder_id).status)
