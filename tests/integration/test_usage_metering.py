"""The dispatcher's metering when DynamoDB refuses the usage write: the message has gone, so the send stands
and nothing is retried (a retry would send it again); the gap is counted for billing to reconcile."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pynamodb.exceptions import UpdateError

from chalicelib.appointments.request import parse_new_appointment
from chalicelib.channels.email import EmailChannel
from chalicelib.channels.sms import SmsChannel
from chalicelib.delivery.appointment_messages import AppointmentMessages
from chalicelib.delivery.dispatch import DeliveryRequest, Dispatcher
from chalicelib.store.models import Reminder, Usage
from chalicelib.usage.meter import UsageMeter
from chalicelib.usage.pricing import Charge
from tests.conftest import ClinicKeys, World


class RefusingMeter(UsageMeter):
    """A meter whose usage table refuses every write, as DynamoDB does when throttled past botocore's retries."""

    def record(self, clinic_id: str, at: datetime, charge: Charge) -> None:
        raise UpdateError("ProvisionedThroughputExceededException")


def test_a_refused_usage_write_keeps_the_send_and_is_counted(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    body = {"patient": {"name": "Pat Example", "phone": "+14155550100"}, "start": "2026-12-02T10:00:00-05:00"}
    request = parse_new_appointment(json.dumps(body).encode(), aws.services.clock.now())
    appointment_id = aws.services.appointments.book(clinic.clinic_id, request).appointment.appointment_id
    settings = aws.services.settings
    dispatcher = Dispatcher(
        aws.services.clock,
        SmsChannel(aws.services.sns),
        EmailChannel(aws.services.ses, settings.ses_sender),
        {"appointment": AppointmentMessages()},
        RefusingMeter(settings.prices, settings.default_spend_cap_usd),
    )
    reminder = Reminder.get(appointment_id, "reminder-24h.sms")
    capsys.readouterr()

    outcome = dispatcher.deliver(
        DeliveryRequest(clinic.clinic_id, appointment_id, reminder.reminder_id, 1, reminder.send_at)
    )

    printed = capsys.readouterr().out
    assert outcome.result == "sent"
    assert Reminder.get(appointment_id, "reminder-24h.sms").status == "sent"
    assert len(aws.sent("sms")) == 2  # the confirmation (metered) and this reminder (not)
    assert Usage.get(clinic.clinic_id, "2026-11").sms_messages == 1
    assert '"UsageNotMetered"' in printed
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert error.getMessage() == "usage not metered"
    assert "+14155550100" not in printed + caplog.text
