"""The dispatcher's order: every re-check that may discard a message (clinic, spend cap, opt-out) comes before
the message is worded, so a message that will not go is never rendered. The wording is observed through the
owner the dispatcher is built with: the appointment owner, counting each time its words are asked for."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from msgspec.structs import replace

from chalicelib.appointments.request import parse_new_appointment
from chalicelib.arm.envelope import OwnerType
from chalicelib.core.words import Channel
from chalicelib.fire.appointment_messages import AppointmentMessages
from chalicelib.fire.dispatch import DeliveryRequest, Dispatcher
from chalicelib.fire.preparation import NotSending, Ready
from chalicelib.patients.contacts import opt_out
from chalicelib.render.templates import Message
from chalicelib.send.email import EmailChannel
from chalicelib.send.sms import SmsChannel
from chalicelib.store.models import Clinic, Reminder
from chalicelib.store.reads import Key
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World

PHONE = "+14155550100"  # the fictional 555-01xx range


class CountingOwner:
    """The real appointment owner, counting the messages it is asked to word."""

    def __init__(self, owner: AppointmentMessages) -> None:
        self._owner = owner
        self.rendered = 0

    def first_reads(self, request: DeliveryRequest) -> list[Key]:
        return self._owner.first_reads(request)

    def prepare(self, request: DeliveryRequest, reminder: Reminder) -> Ready | NotSending:
        prepared = self._owner.prepare(request, reminder)
        if isinstance(prepared, NotSending):
            return prepared
        words = prepared.render

        def render() -> Message:
            self.rendered += 1
            return words()

        return replace(prepared, render=render)


@pytest.fixture
def owner() -> CountingOwner:
    return CountingOwner(AppointmentMessages())


@pytest.fixture
def dispatcher(aws: World, owner: CountingOwner) -> Dispatcher:
    settings = aws.services.settings
    return Dispatcher(
        aws.services.clock,
        SmsChannel(aws.services.sns),
        EmailChannel(aws.services.ses, settings.ses_sender),
        {"appointment": owner},
        aws.services.usage,
    )


def due_reminder(aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> DeliveryRequest:
    clock.set(datetime.fromisoformat("2026-12-01T09:00:00Z"))
    body = {"patient": {"name": "Pat Example", "phone": PHONE}, "start": "2026-12-02T10:00:00-05:00"}
    request = parse_new_appointment(json.dumps(body).encode(), aws.services.clock.now())
    appointment_id = aws.services.appointments.book(clinic.clinic_id, request).appointment.appointment_id
    reminder = Reminder.get(appointment_id, "reminder-24h.sms")
    clock.set(reminder.send_at)
    return DeliveryRequest(
        clinic.clinic_id, appointment_id, reminder.reminder_id, 1, reminder.send_at, owner_type=OwnerType.APPOINTMENT
    )


def test_a_message_that_goes_is_worded_once(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, dispatcher: Dispatcher, owner: CountingOwner
) -> None:
    request = due_reminder(aws, clinic, clock)

    assert dispatcher.deliver(request).result == "sent"
    assert owner.rendered == 1
    assert "reminder of your appointment on Wed 2 Dec at 10:00 AM" in aws.sent("sms")[-1]["body"]


def test_a_message_the_spend_cap_holds_back_is_never_worded(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, dispatcher: Dispatcher, owner: CountingOwner
) -> None:
    Clinic.get(clinic.clinic_id).update(actions=[Clinic.monthly_spend_cap_usd.set(0.005)])
    request = due_reminder(aws, clinic, clock)  # its booking's confirmation reached the cap
    sent = len(aws.sent("sms"))

    outcome = dispatcher.deliver(request)

    assert (outcome.result, outcome.reason) == ("skipped", "spend_cap")
    assert owner.rendered == 0
    assert len(aws.sent("sms")) == sent


def test_a_message_to_an_opted_out_number_is_never_worded(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, dispatcher: Dispatcher, owner: CountingOwner
) -> None:
    request = due_reminder(aws, clinic, clock)
    opt_out(clinic.clinic_id, Channel.SMS, PHONE, "sms_reply", clock.now())
    sent = len(aws.sent("sms"))

    outcome = dispatcher.deliver(request)

    assert (outcome.result, outcome.reason) == ("skipped", "opted_out_sms")
    assert owner.rendered == 0
    assert len(aws.sent("sms")) == sent


def test_a_message_of_a_suspended_clinic_is_never_worded(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, dispatcher: Dispatcher, owner: CountingOwner
) -> None:
    request = due_reminder(aws, clinic, clock)
    Clinic.get(clinic.clinic_id).update(actions=[Clinic.status.set("suspended")])

    assert dispatcher.deliver(request).reason == "clinic_suspended"
    assert owner.rendered == 0
