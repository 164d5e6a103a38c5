"""Each AWS adapter against moto: the timers on EventBridge Scheduler, SMS on SNS, email on SES, and what
the local stack's outbox records of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from chalicelib.arm.envelope import OwnerType
from chalicelib.arm.timers import ReminderTimers, Timer
from chalicelib.core.errors import ChannelError
from chalicelib.send.email import EmailChannel
from chalicelib.send.sms import SmsChannel
from tests.conftest import World


def timers(world: World) -> ReminderTimers:
    settings = world.services.settings
    return ReminderTimers(
        world.services.scheduler,
        group=settings.schedule_group,
        target_arn=settings.fire_function_arn,
        role_arn=settings.scheduler_role_arn,
        dead_letter_arn=settings.dead_letter_queue_arn,
    )


def test_arming_twice_moves_the_one_timer_and_disarming_twice_is_harmless(aws: World) -> None:
    gateway = timers(aws)
    group = aws.services.settings.schedule_group
    first = Timer(
        "cln_1",
        "apt_1",
        "reminder-24h.sms",
        1,
        datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
        owner_type=OwnerType.APPOINTMENT,
    )
    moved = Timer(
        "cln_1",
        "apt_1",
        "reminder-24h.sms",
        2,
        datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        owner_type=OwnerType.APPOINTMENT,
    )

    gateway.arm(first)
    gateway.arm(moved)

    listed = aws.services.scheduler.list_schedules(GroupName=group)["Schedules"]
    assert [s["Name"] for s in listed] == ["apt_1.reminder-24h.sms"]
    stored = aws.services.scheduler.get_schedule(Name="apt_1.reminder-24h.sms", GroupName=group)
    assert stored["ScheduleExpression"] == "at(2026-12-03T09:30:00)"
    assert json.loads(stored["Target"]["Input"])["version"] == 2

    gateway.disarm("apt_1", "reminder-24h.sms")
    gateway.disarm("apt_1", "reminder-24h.sms")
    assert aws.services.scheduler.list_schedules(GroupName=group)["Schedules"] == []


def test_a_recurring_timer_whose_start_has_passed_on_the_real_clock_is_armed_from_now(aws: World) -> None:
    # Scheduler (and moto) check StartDate against the real clock, whatever clock CareCue runs on: the rule is
    # about the wall clock, so this test builds its times from it rather than from the simulated one.
    gateway = timers(aws)
    group = aws.services.settings.schedule_group
    real_now = datetime.now(UTC).replace(microsecond=0)
    event = {"kind": "dose", "clinic_id": "cln_1", "regimen_id": "rgm_1", "instruction": 0, "version": 1}

    gateway.arm_recurring("rgm_1.i0.c0", "cron(0 8 * * ? *)", "Europe/Berlin", event, real_now - timedelta(days=3))
    gateway.arm_recurring("rgm_2.i0.c0", "cron(0 8 * * ? *)", "Europe/Berlin", event, real_now + timedelta(days=3))

    started = aws.services.scheduler.get_schedule(Name="rgm_1.i0.c0", GroupName=group)
    assert "StartDate" not in started
    assert started["ScheduleExpressionTimezone"] == "Europe/Berlin"
    later = aws.services.scheduler.get_schedule(Name="rgm_2.i0.c0", GroupName=group)
    assert later["StartDate"] == real_now + timedelta(days=3)


def test_an_sms_reaches_sns_as_a_transactional_message(aws: World) -> None:
    message_id = SmsChannel(aws.services.sns).send("+14155550100", "Riverside Family Clinic: test")

    backend = sns_backends[DEFAULT_ACCOUNT_ID][aws.services.settings.region]
    assert backend.sms_messages[message_id][:2] == ("+14155550100", "Riverside Family Clinic: test")
    assert aws.sent("sms")[0]["message_id"] == message_id


def test_an_email_reaches_ses_from_the_verified_sender(aws: World) -> None:
    channel = EmailChannel(aws.services.ses, aws.services.settings.ses_sender)

    message_id = channel.send("pat@example.org", "Appointment reminder", "See you soon.")

    (sent,) = ses_backends[DEFAULT_ACCOUNT_ID][aws.services.settings.region].sent_messages
    assert sent.id == message_id
    assert sent.destinations["ToAddresses"] == ["pat@example.org"]
    assert sent.source == aws.services.settings.ses_sender
    assert aws.sent("email")[0]["subject"] == "Appointment reminder"


def test_an_unverified_sender_is_a_set_up_error_to_retry_and_nothing_is_in_the_outbox(aws: World) -> None:
    # The sender's identity is CareCue's own set-up, fixed by an operator: the message goes once it is verified.
    channel = EmailChannel(aws.services.ses, "someone-else@carecue.example")

    with pytest.raises(ChannelError) as error:
        channel.send("pat@example.org", "Appointment reminder", "See you soon.")

    assert not error.value.permanent
    assert error.value.code == "MessageRejected_sender"
    assert aws.sent() == []
