"""Which reminders and notices an appointment gets, on which channel and when (`chalicelib.plan`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.clock import to_utc
from chalicelib.core.words import Channel, Kind, Status
from chalicelib.plan.appointment_reminders import (
    ChannelChoice,
    OffsetRule,
    PlannedReminder,
    ReminderPolicy,
    channels_for,
    lead_label,
    plan_notice,
    plan_reminders,
)

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
# Tue 1 Dec 2026, 9:00 AM in New York (EST, UTC-5).
START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
BOTH = [Channel.SMS, Channel.EMAIL]


# --- channels_for -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "email", "expected"),
    [
        ("+14155550100", "ana@example.com", [Channel.SMS, Channel.EMAIL]),
        ("+14155550100", None, [Channel.SMS]),
        (None, "ana@example.com", [Channel.EMAIL]),
        (None, None, []),
        ("", "", []),
    ],
)
def test_channels_follow_the_contacts_the_patient_gave(
    phone: str | None, email: str | None, expected: list[Channel]
) -> None:
    assert channels_for(phone, email) == expected


# --- lead_label ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lead", "label"),
    [
        (timedelta(hours=24), "24h"),
        (timedelta(days=1), "24h"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=2), "48h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(minutes=30), "30m"),
    ],
)
def test_lead_label_is_whole_hours_or_minutes(lead: timedelta, label: str) -> None:
    assert lead_label(lead) == label


# --- plan_reminders ------------------------------------------------------------------------------------------


def test_default_policy_plans_24h_and_2h_reminders_on_one_channel() -> None:
    # A patient with a phone and an email gets each reminder once, on the first channel of the order (SMS).
    planned = plan_reminders(START, BOTH, NOW)

    day_before = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    two_hours_before = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert planned == [
        PlannedReminder("reminder-24h.sms", Kind.REMINDER, Channel.SMS, day_before, Status.SCHEDULED),
        PlannedReminder("reminder-2h.sms", Kind.REMINDER, Channel.SMS, two_hours_before, Status.SCHEDULED),
    ]
    assert all(item.needs_timer for item in planned)
    assert all(item.reason is None for item in planned)


def test_both_plans_one_reminder_to_the_phone_and_one_by_email() -> None:
    rules = (OffsetRule(timedelta(hours=24), ChannelChoice.BOTH),)

    planned = plan_reminders(START, BOTH, NOW, ReminderPolicy(rules=rules))

    assert [item.reminder_id for item in planned] == ["reminder-24h.sms", "reminder-24h.email"]


def test_the_order_picks_the_first_channel_the_patient_can_receive_on() -> None:
    # email first in the order: the reminder goes by email; a chat channel first stands for the phone
    assert [p.channel for p in plan_reminders(START, BOTH, NOW, order=[Channel.EMAIL, Channel.SMS])] == [
        Channel.EMAIL,
        Channel.EMAIL,
    ]
    assert [p.channel for p in plan_reminders(START, BOTH, NOW, order=[Channel.WHATSAPP, Channel.EMAIL])] == [
        Channel.SMS,
        Channel.SMS,
    ]
    # a Messenger-only patient's phone is unknown: the first channel with an address is email
    assert [p.channel for p in plan_reminders(START, [Channel.EMAIL], NOW, order=[Channel.MESSENGER])] == [
        Channel.EMAIL,
        Channel.EMAIL,
    ]


def test_reminder_whose_time_has_passed_is_skipped_not_armed() -> None:
    # GIVEN an appointment booked 5 hours ahead: the 24 h reminder's time is already gone
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    # WHEN the reminders are planned
    planned = plan_reminders(START, [Channel.SMS], now)

    # THEN the 24 h one is recorded as skipped and only the 2 h one needs a timer
    assert [(p.reminder_id, p.status, p.reason, p.needs_timer) for p in planned] == [
        ("reminder-24h.sms", Status.SKIPPED, "send_time_passed", False),
        ("reminder-2h.sms", Status.SCHEDULED, None, True),
    ]
    assert planned[0].send_at == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def test_reminder_due_exactly_now_is_skipped() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # exactly 2 h before START

    planned = plan_reminders(START, [Channel.EMAIL], now)

    assert [(p.reminder_id, p.status) for p in planned] == [
        ("reminder-24h.email", Status.SKIPPED),
        ("reminder-2h.email", Status.SKIPPED),
    ]


def test_reminder_due_one_second_after_now_is_scheduled() -> None:
    now = datetime(2026, 12, 1, 11, 59, 59, tzinfo=UTC)

    planned = plan_reminders(START, [Channel.EMAIL], now)

    assert [(p.reminder_id, p.status) for p in planned] == [
        ("reminder-24h.email", Status.SKIPPED),
        ("reminder-2h.email", Status.SCHEDULED),
    ]


def test_no_channels_means_no_reminders() -> None:
    assert plan_reminders(START, [], NOW) == []


def test_custom_leads_are_planned_longest_first_with_readable_ids() -> None:
    policy = ReminderPolicy(reminders_before=(timedelta(minutes=90), timedelta(days=2)))

    planned = plan_reminders(START, [Channel.SMS], NOW, policy)

    assert [(p.reminder_id, p.send_at) for p in planned] == [
        ("reminder-48h.sms", datetime(2026, 11, 29, 14, 0, tzinfo=UTC)),
        ("reminder-90m.sms", datetime(2026, 12, 1, 12, 30, tzinfo=UTC)),
    ]


def test_start_with_a_utc_offset_is_reminded_at_the_same_instants_as_in_utc() -> None:
    # The API accepts `2026-12-01T09:00:00-05:00`: the same instant as START.
    start = datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5)))

    planned = plan_reminders(start, [Channel.SMS], NOW)

    assert [to_utc(p.send_at) for p in planned] == [
        datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    ]


def test_zoned_start_across_spring_forward_is_still_reminded_2h_and_24h_before() -> None:
    # GIVEN an appointment at 3:30 AM New York on the morning clocks jump from 2:00 EST to 3:00 EDT
    start = datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)  # 07:30Z

    # WHEN reminders are planned from the zoned start
    planned = plan_reminders(start, [Channel.SMS], datetime(2026, 3, 1, tzinfo=UTC))

    # THEN each goes out exactly its lead before the appointment, in elapsed time
    assert [(p.reminder_id, to_utc(p.send_at)) for p in planned] == [
        ("reminder-24h.sms", datetime(2026, 3, 7, 7, 30, tzinfo=UTC)),
        ("reminder-2h.sms", datetime(2026, 3, 8, 5, 30, tzinfo=UTC)),
    ]


# --- property: every planned reminder is consistent with start, lead and now --------------------------------

_fixed_offsets = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(min_value=-23 * 60, max_value=23 * 60)
)
_instants = {"min_value": datetime(2000, 1, 3), "max_value": datetime(2100, 1, 1)}
_any_aware = st.datetimes(**_instants, timezones=st.one_of(st.just(UTC), _fixed_offsets, st.timezones()))
# `now` comes from a Clock, which returns UTC; any fixed offset is the same instant written differently.
_clock_now = st.datetimes(**_instants, timezones=st.one_of(st.just(UTC), _fixed_offsets))
_leads = st.lists(
    st.integers(min_value=1, max_value=14 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    min_size=1,
    max_size=4,
    unique=True,
)


@given(start=_any_aware, now=_clock_now, leads=_leads, channels=st.sampled_from([[Channel.SMS], [Channel.EMAIL], BOTH]))
def test_every_reminder_is_scheduled_in_the_future_or_skipped_in_the_past(
    start: datetime, now: datetime, leads: list[timedelta], channels: list[Channel]
) -> None:
    planned = plan_reminders(start, channels, now, ReminderPolicy(reminders_before=tuple(leads)))

    # one channel per reminder by default: the first the patient has
    expected_order = [(lead, channel) for lead in sorted(leads, reverse=True) for channel in channels[:1]]
    assert len(planned) == len(expected_order)
    for item, (lead, channel) in zip(planned, expected_order, strict=True):
        assert item.reminder_id == f"reminder-{lead_label(lead)}.{channel}"
        assert item.kind is Kind.REMINDER
        assert item.channel is channel
        assert item.send_at == to_utc(start) - lead  # elapsed time: a lead across a DST change stays exact
        if to_utc(item.send_at) > to_utc(now):
            assert (item.status, item.reason, item.needs_timer) == (Status.SCHEDULED, None, True)
        else:
            assert (item.status, item.reason, item.needs_timer) == (Status.SKIPPED, "send_time_passed", False)


@given(start=st.datetimes(**_instants, timezones=st.one_of(st.just(UTC), _fixed_offsets)), now=_clock_now)
def test_reminder_goes_out_exactly_its_lead_before_a_start_with_a_fixed_offset(start: datetime, now: datetime) -> None:
    # Starts reach the planner as UTC (the service) or with the request's fixed offset (the API).
    planned = plan_reminders(start, [Channel.SMS], now)

    assert [to_utc(start) - to_utc(p.send_at) for p in planned] == [timedelta(hours=24), timedelta(hours=2)]


# --- plan_notice ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "version", "ids"),
    [
        (Kind.CONFIRMATION, 1, ["confirmation.sms", "confirmation.email"]),
        (Kind.RESCHEDULE_NOTICE, 3, ["reschedule-notice-v3.sms", "reschedule-notice-v3.email"]),
        (Kind.CANCELLATION_NOTICE, 4, ["cancellation-notice.sms", "cancellation-notice.email"]),
    ],
)
def test_notices_are_sent_at_once_one_per_channel(kind: Kind, version: int, ids: list[str]) -> None:
    planned = plan_notice(kind, BOTH, NOW, version)

    assert [p.reminder_id for p in planned] == ids
    assert [p.channel for p in planned] == BOTH
    assert all(p.kind is kind and p.send_at == NOW and p.status is Status.SCHEDULED for p in planned)
    # Sent immediately by the service, so no timer is armed for them.
    assert not any(p.needs_timer for p in planned)


def test_each_reschedule_gets_its_own_notice_id() -> None:
    second = plan_notice(Kind.RESCHEDULE_NOTICE, [Channel.SMS], NOW, 2)
    third = plan_notice(Kind.RESCHEDULE_NOTICE, [Channel.SMS], NOW, 3)

    assert [p.reminder_id for p in second + third] == ["reschedule-notice-v2.sms", "reschedule-notice-v3.sms"]


def test_confirmation_id_does_not_depend_on_version() -> None:
    assert [p.reminder_id for p in plan_notice(Kind.CONFIRMATION, [Channel.EMAIL], NOW, 7)] == ["confirmation.email"]
