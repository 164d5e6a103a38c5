"""The dispatcher's metering: a message is counted before it goes, under the spend cap, and taken off again when
the channel refuses it; when DynamoDB refuses the usage write itself, the reminder still goes (a patient's
reminder matters more than the count) and the gap is counted for billing to reconcile."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from chalicelib.appointments.request import parse_new_appointment
from chalicelib.fire.appointment_messages import AppointmentMessages
from chalicelib.fire.dispatch import DeliveryRequest, Dispatcher
from chalicelib.meter.meter import UsageMeter
from chalicelib.send.email import EmailChannel
from chalicelib.send.sms import SmsChannel
from chalicelib.store import models
from chalicelib.store.models import Clinic, Reminder, Usage
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World


def refuse_usage_writes(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    """DynamoDB refusing every write that touches the usage table (the claim's transaction with the count
    included), as it answers a throttle past botocore's retries or a policy that denies the table: an error."""
    if '-usage"' not in str(params.get("body")):
        return None
    error = {"Code": "AccessDeniedException", "Message": "not authorized to write the usage table"}
    return AWSResponse("", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}


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
        UsageMeter(settings.prices, settings.default_spend_cap_usd),
    )
    reminder = Reminder.get(appointment_id, "reminder-24h.sms")
    capsys.readouterr()
    assert models._shared_connection is not None
    events = models._shared_connection.client.meta.events
    for operation in ("UpdateItem", "TransactWriteItems"):
        events.register(f"before-call.dynamodb.{operation}", refuse_usage_writes, unique_id=f"refuse-{operation}")

    try:
        outcome = dispatcher.deliver(
            DeliveryRequest(clinic.clinic_id, appointment_id, reminder.reminder_id, 1, reminder.send_at)
        )
    finally:
        for operation in ("UpdateItem", "TransactWriteItems"):
            events.unregister(f"before-call.dynamodb.{operation}", unique_id=f"refuse-{operation}")

    printed = capsys.readouterr().out
    assert outcome.result == "sent"
    assert Reminder.get(appointment_id, "reminder-24h.sms").status == "sent"
    assert len(aws.sent("sms")) == 2  # the confirmation (metered) and this reminder (not)
    assert Usage.get(clinic.clinic_id, "2026-11").sms_messages == 1
    assert '"UsageNotMetered"' in printed
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert error.getMessage() == "usage not metered"
    assert "+14155550100" not in printed + caplog.text


def book_sms(world: World, clinic: ClinicKeys, phone: str) -> str:
    body = {"patient": {"name": "Pat Example", "phone": phone}, "start": "2026-12-02T10:00:00-05:00"}
    request = parse_new_appointment(json.dumps(body).encode(), world.services.clock.now())
    return world.services.appointments.book(clinic.clinic_id, request).appointment.appointment_id


def reminder_request(clinic: ClinicKeys, appointment_id: str) -> DeliveryRequest:
    reminder = Reminder.get(appointment_id, "reminder-24h.sms")
    return DeliveryRequest(clinic.clinic_id, appointment_id, reminder.reminder_id, 1, reminder.send_at)


def test_two_sends_racing_for_the_last_room_under_the_cap_send_one_message(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    from chalicelib.store import models

    Clinic.get(clinic.clinic_id).update(actions=[Clinic.monthly_spend_cap_usd.set(0.02)])
    clock.set(datetime.fromisoformat("2026-12-01T09:00:00Z"))  # the bookings and their reminders in one month
    first, second = book_sms(aws, clinic, "+14155550100"), book_sms(aws, clinic, "+14155550101")
    # Both confirmations went: the month is at $0.01662, under the $0.02 cap by less than two more SMS.
    first_request, second_request = reminder_request(clinic, first), reminder_request(clinic, second)
    clock.set(first_request.occurrence)
    assert models._shared_connection is not None
    events = models._shared_connection.client.meta.events
    raced: list[str] = []

    def the_other_send_lands(**_: object) -> None:
        # The second send has read the month (still under the cap); now the first one goes through whole.
        if not raced:
            raced.append("racing")
            raced[0] = aws.services.dispatcher.deliver(first_request).result

    events.register("after-call.dynamodb.BatchGetItem", the_other_send_lands)
    try:
        outcome = aws.services.dispatcher.deliver(second_request)
    finally:
        events.unregister("after-call.dynamodb.BatchGetItem", the_other_send_lands)

    assert raced == ["sent"]
    assert (outcome.result, outcome.reason) == ("skipped", "spend_cap")
    assert [m["to"] for m in aws.sent("sms")] == ["+14155550100", "+14155550101", "+14155550100"]
    month = Usage.get(clinic.clinic_id, "2026-12")
    assert (month.sms_messages, month.spend_cap_skips) == (3, 1)
    assert Reminder.get(second, "reminder-24h.sms").reason == "spend_cap"


def test_a_message_the_channel_refuses_is_not_counted(aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
    clock.set(datetime.fromisoformat("2026-12-01T09:00:00Z"))
    appointment_id = book_sms(aws, clinic, "+14155550100")
    request = reminder_request(clinic, appointment_id)
    clock.set(request.occurrence)

    with Stubber(aws.services.sns) as sns:
        sns.add_client_error("publish", service_error_code="InvalidParameter", http_status_code=400)
        assert aws.services.dispatcher.deliver(request).result == "failed"

    month = Usage.get(clinic.clinic_id, "2026-12")
    # Only the confirmation is in the month.
    assert (month.sms_messages, month.sms_segments, round(float(month.estimated_cost_usd), 6)) == (1, 1, 0.00831)


def test_a_clinic_at_its_cap_sets_off_the_alarm_that_emails_the_admin(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.aws.template import merge_template

    Clinic.get(clinic.clinic_id).update(actions=[Clinic.monthly_spend_cap_usd.set(0.005)])
    clock.set(datetime.fromisoformat("2026-12-01T09:00:00Z"))
    request = reminder_request(clinic, book_sms(aws, clinic, "+14155550100"))  # the confirmation reaches the cap
    clock.set(request.occurrence)
    capsys.readouterr()

    assert aws.services.dispatcher.deliver(request).reason == "spend_cap"

    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"SpendCapReached"' in line]
    assert emitted, "no SpendCapReached metric was written"
    (directive,) = emitted[0]["_aws"]["CloudWatchMetrics"]
    dimensions = {name: emitted[0][name] for name in directive["Dimensions"][0]}
    watching = [
        resource["Properties"]
        for resource in merge_template("prod")["Resources"].values()
        if resource.get("Type") == "AWS::CloudWatch::Alarm"
        and resource["Properties"].get("MetricName") == "SpendCapReached"
        and resource["Properties"]["Namespace"] == directive["Namespace"]
        and {d["Name"]: d["Value"] for d in resource["Properties"]["Dimensions"]} == dimensions
    ]
    assert len(watching) == 1 and watching[0]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_an_sms_answer_the_channel_refuses_is_taken_back_off_the_count(aws: World, clinic: ClinicKeys) -> None:
    from chalicelib.replies.inbound import InboundSms

    book_sms(aws, clinic, "+14155550100")

    with Stubber(aws.services.sns) as sns:
        sns.add_client_error("publish", service_error_code="InvalidParameter", http_status_code=400)
        assert aws.services.replies.handle(InboundSms("in-1", "+14155550100", None, "HELP")) == "helped"
    assert aws.services.replies.handle(InboundSms("in-2", "+14155550100", None, "HELP")) == "helped"

    month = Usage.get(clinic.clinic_id, "2026-11")
    # The confirmation and the second answer; the refused first answer was counted, then taken back.
    assert len(aws.sent("sms")) == 2
    assert (month.sms_messages, month.sms_segments) == (2, 2)
    assert aws.sent("sms")[-1]["body"].startswith("Riverside Family Clinic appointment reminders.")
