"""Quiet hours defer and never drop; local-clock rules land on the wall clock in every zone, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.timezones import known_timezones
from chalicelib.core.words import Channel, Status
from chalicelib.plan.appointment_reminders import (
    ChannelChoice,
    LocalClockRule,
    OffsetRule,
    ReminderPolicy,
    plan_reminders,
)
from chalicelib.plan.local_clock import exists_locally, local_instant
from chalicelib.plan.quiet_hours import DEFAULT_QUIET_HOURS, QuietHours, defer_for_quiet_hours

NEW_YORK = "America/New_York"
_ZONES = st.sampled_from(sorted(known_timezones()))
_MINUTE = timedelta(minutes=1)
_instants_2026_2030 = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
_clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


def test_a_reminder_due_at_2330_waits_until_0800_local() -> None:
    due = datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo(NEW_YORK))
    start = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo(NEW_YORK))

    allowed = defer_for_quiet_hours(due, NEW_YORK, DEFAULT_QUIET_HOURS, start)

    assert allowed == datetime(2026, 12, 2, 8, 0, tzinfo=ZoneInfo(NEW_YORK))


def test_a_reminder_that_cannot_fit_before_the_appointment_is_dropped_with_a_reason() -> None:
    # A 07:30 appointment: its 2 h reminder is due at 05:30, quiet hours end at 08:00, after the start.
    start = datetime(2026, 12, 2, 7, 30, tzinfo=ZoneInfo(NEW_YORK))
    policy = ReminderPolicy(quiet_hours=DEFAULT_QUIET_HOURS)

    planned = plan_reminders(start, [Channel.SMS], datetime(2026, 11, 1, tzinfo=UTC), policy, zone=NEW_YORK)

    by_id = {p.reminder_id: p for p in planned}
    assert (by_id["reminder-2h.sms"].status, by_id["reminder-2h.sms"].reason) == (Status.SKIPPED, "quiet_hours")
    # The 24 h one (07:30 the day before) is quiet too, but has room: it waits until 08:00 that morning.
    assert by_id["reminder-24h.sms"].status is Status.SCHEDULED
    assert by_id["reminder-24h.sms"].send_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    due=_instants_2026_2030,
    zone=_ZONES,
    start_hour=_clock_times,
    end_hour=_clock_times,
    lead=st.integers(1, 3 * 24 * 60).map(lambda m: timedelta(minutes=m)),
)
def test_quiet_hours_defer_to_the_first_allowed_minute_and_never_past_the_start(
    due: datetime, zone: str, start_hour: time, end_hour: time, lead: timedelta
) -> None:
    quiet = QuietHours(start_hour, end_hour)
    appointment = due + lead

    allowed = defer_for_quiet_hours(due, zone, quiet, appointment)

    if allowed is None:
        # Dropped only when the whole stretch from `due` to the start is quiet.
        assert quiet.contains(due, zone)
        assert quiet.next_allowed(due, zone) >= appointment
        return
    assert due <= allowed < appointment
    assert not quiet.contains(allowed, zone)
    if allowed != due:
        # Deferred, not moved arbitrarily: the minute before is still quiet (no earlier allowed time exists).
        assert quiet.contains(allowed - _MINUTE, zone)


@settings(max_examples=300, deadline=None)
@given(day=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)), zone=_ZONES, at=_clock_times)
def test_a_local_clock_time_is_that_wall_time_or_the_written_dst_rule(day: date, zone: str, at: time) -> None:
    instant = local_instant(day, at, zone)
    wall = datetime.combine(day, at, tzinfo=ZoneInfo(zone))
    local = instant.astimezone(ZoneInfo(zone))

    if exists_locally(wall):
        # It exists: exactly that wall time, and the first of the two when it happens twice.
        assert (local.date(), local.time()) == (day, at)
        twice = datetime.combine(day, at.replace(fold=1), tzinfo=ZoneInfo(zone)).astimezone(UTC)
        assert instant <= twice
    else:
        # In a spring-forward gap: moved forward by the gap, to a wall time after `at` on the same night.
        gap = local.utcoffset() - (instant - timedelta(hours=6)).astimezone(ZoneInfo(zone)).utcoffset()  # type: ignore[operator]
        assert gap > timedelta(0)
        assert local.replace(tzinfo=None) == datetime.combine(day, at) + gap


@settings(max_examples=200, deadline=None)
@given(start=_instants_2026_2030, zone=_ZONES, days_before=st.integers(1, 3), at=_clock_times)
def test_the_day_before_at_1800_is_at_1800_local_whatever_dst_did_in_between(
    start: datetime, zone: str, days_before: int, at: time
) -> None:
    rule = LocalClockRule(days_before, at, ChannelChoice.SMS)
    planned = plan_reminders(start, [Channel.SMS], start - timedelta(days=40), ReminderPolicy(rules=(rule,)), zone=zone)

    (reminder,) = planned
    local = reminder.send_at.astimezone(ZoneInfo(zone))
    expected_day = start.astimezone(ZoneInfo(zone)).date() - timedelta(days=days_before)
    wall = datetime.combine(expected_day, at, tzinfo=ZoneInfo(zone))
    if exists_locally(wall):
        assert (local.date(), local.time()) == (expected_day, at)
    assert reminder.reminder_id == f"reminder-d{days_before}-{at:%H%M}.sms"


def test_day_before_at_1800_on_both_sides_of_the_new_york_fall_back() -> None:
    # Clocks go back on Sun 1 Nov 2026 at 02:00 EDT; appointments on the Sunday and the Monday.
    rule = LocalClockRule(1, time(18, 0))
    policy = ReminderPolicy(rules=(rule,))
    now = datetime(2026, 10, 1, tzinfo=UTC)

    sunday = plan_reminders(datetime(2026, 11, 1, 14, 0, tzinfo=UTC), [Channel.SMS], now, policy, zone=NEW_YORK)
    monday = plan_reminders(datetime(2026, 11, 2, 15, 0, tzinfo=UTC), [Channel.SMS], now, policy, zone=NEW_YORK)

    assert sunday[0].send_at == datetime(2026, 10, 31, 22, 0, tzinfo=UTC)  # 18:00 EDT
    assert monday[0].send_at == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)  # 18:00 EST


def test_a_local_clock_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist in New York on 8 Mar 2026: it is taken as 03:30 EDT.
    assert local_instant(date(2026, 3, 8), time(2, 30), NEW_YORK) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_an_ambiguous_local_time_means_its_first_occurrence() -> None:
    # 01:30 happens twice in New York on 1 Nov 2026: first at EDT (05:30Z), then at EST (06:30Z).
    assert local_instant(date(2026, 11, 1), time(1, 30), NEW_YORK) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_preferred_channel_rules_use_the_preference_and_fall_back_when_opted_out() -> None:
    policy = ReminderPolicy(rules=(OffsetRule(timedelta(hours=24), ChannelChoice.PREFERRED),))
    start, now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    both = [Channel.SMS, Channel.EMAIL]

    assert [p.channel for p in plan_reminders(start, both, now, policy, preferred=Channel.EMAIL)] == [Channel.EMAIL]
    opted_out = [Channel.EMAIL]
    fallback = plan_reminders(start, both, now, policy, preferred=Channel.EMAIL, opted_out=opted_out)
    assert [p.channel for p in fallback] == [Channel.SMS]


@settings(max_examples=200, deadline=None)
@given(
    start=_instants_2026_2030,
    zone=_ZONES,
    leads=st.lists(st.integers(5, 3 * 24 * 60), min_size=1, max_size=4, unique=True),
    clock_rule=st.tuples(st.integers(0, 2), _clock_times),
)
def test_every_planned_reminder_is_outside_quiet_hours_and_before_the_start_or_skipped_with_a_reason(
    start: datetime, zone: str, leads: list[int], clock_rule: tuple[int, time]
) -> None:
    rules = (*(OffsetRule(timedelta(minutes=m)) for m in leads), LocalClockRule(*clock_rule))
    now = start - timedelta(days=10)
    policy = ReminderPolicy(rules=rules, quiet_hours=DEFAULT_QUIET_HOURS)

    planned = plan_reminders(start, [Channel.SMS], now, policy, zone=zone)

    assert len(planned) == len(rules)  # nothing dropped silently
    for item in planned:
        if item.status is Status.SCHEDULED:
            assert now < item.send_at < start
            assert not DEFAULT_QUIET_HOURS.contains(item.send_at, zone)
        else:
            assert item.reason in ("quiet_hours", "after_start")
