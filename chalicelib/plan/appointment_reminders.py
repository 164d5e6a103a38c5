"""Which messages an appointment gets, on which channel and when: a pure function of the appointment, the
patient's contacts and preferences, the clinic's policy and the current time. Nothing here knows AWS.

A clinic's reminder schedule is a list of rules: an offset before the start (elapsed time, so "2 hours before"
is 2 real hours across a DST change) or a local-clock rule ("the day before at 18:00", on the wall clocks of the
patient's zone, by the DST rule of `local_clock`). Each rule names a channel (`ChannelChoice`): by default one
message, on the first channel of the patient's channel order (`chalicelib.plan.channel_order`); or sms, email,
or both. Quiet hours then defer a reminder (see `quiet_hours`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from msgspec import Struct

from chalicelib.core.clock import to_utc
from chalicelib.core.words import Channel, Kind, Status
from chalicelib.plan.channel_order import slot_of
from chalicelib.plan.local_clock import local_instant
from chalicelib.plan.quiet_hours import QuietHours, defer_for_quiet_hours


class ChannelChoice(StrEnum):
    """Where one rule's reminder goes. Never two channels for one reminder unless the rule says `both`."""

    # The default: one message, on the first channel of the patient's channel order they can receive it on.
    ORDER = "order"
    SMS = "sms"  # the patient's phone only: SMS, or WhatsApp / Messenger ahead of SMS in the patient's order
    EMAIL = "email"  # email only
    # Two messages, one to the phone (the first of WhatsApp, Messenger and SMS in the patient's order that can
    # carry it) and one by email, for a patient who has both; one message for a patient with one of them.
    BOTH = "both"
    PREFERRED = "preferred"  # the older name of `order` (the preferred channel is first in the order): the same


class OffsetRule(Struct, frozen=True):
    """A reminder this long before the start, in elapsed time."""

    before: timedelta
    channel: ChannelChoice = ChannelChoice.ORDER

    @property
    def label(self) -> str:
        return lead_label(self.before)

    def due(self, start: datetime, zone: str) -> datetime:
        return to_utc(start) - self.before


class LocalClockRule(Struct, frozen=True):
    """A reminder `days_before` calendar days before the start's local date, at `at` on the local wall clock."""

    days_before: int
    at: time
    channel: ChannelChoice = ChannelChoice.ORDER

    @property
    def label(self) -> str:
        return f"d{self.days_before}-{self.at:%H%M}"

    def due(self, start: datetime, zone: str) -> datetime:
        local_day = start.astimezone(ZoneInfo(zone)).date()
        return local_instant(local_day - timedelta(days=self.days_before), self.at, zone)


ReminderRule = OffsetRule | LocalClockRule


class ReminderPolicy(Struct, frozen=True):
    """By default: confirm at booking, remind 24 h and 2 h before, no quiet hours. A clinic's policy
    (`chalicelib.clinics.policy`) gives its own `rules` and quiet hours; `reminders_before` is the short form of
    offset rules on the patient's channel order."""

    confirm_at_booking: bool = True
    reminders_before: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    rules: tuple[ReminderRule, ...] | None = None
    quiet_hours: QuietHours | None = None

    def effective_rules(self) -> tuple[ReminderRule, ...]:
        if self.rules is not None:
            return self.rules
        return tuple(OffsetRule(lead) for lead in self.reminders_before)


DEFAULT_POLICY = ReminderPolicy()


class PlannedReminder(Struct, frozen=True):
    reminder_id: str
    kind: Kind
    channel: Channel
    send_at: datetime
    status: Status
    reason: str | None = None

    @property
    def needs_timer(self) -> bool:
        return self.status is Status.SCHEDULED and self.kind is Kind.REMINDER


def channels_for(phone: str | None, email: str | None) -> list[Channel]:
    return [channel for channel, contact in ((Channel.SMS, phone), (Channel.EMAIL, email)) if contact]


def lead_label(lead: timedelta) -> str:
    """`24h`, `2h`, `90m`: the readable part of a reminder id."""
    minutes = int(lead.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def rule_channels(
    choice: ChannelChoice,
    channels: list[Channel],
    preferred: Channel | None,
    opted_out: Collection[Channel] = (),
    order: Sequence[Channel] | None = None,
) -> list[Channel]:
    """The channels one rule sends on, among those the patient has a contact for (`channels`). `order`: the
    channels the patient can receive a message on, in their channel order (a chat channel stands for the phone);
    without it, the preferred channel, else the first of `channels` not opted out."""
    if choice is ChannelChoice.BOTH:
        return list(channels)
    if choice in (ChannelChoice.ORDER, ChannelChoice.PREFERRED):
        if order is not None:
            first = [slot_of(channel) for channel in order if slot_of(channel) in channels]
            if first:
                return first[:1]
        reachable = [channel for channel in channels if channel not in opted_out] or list(channels)
        if preferred in reachable:
            return [preferred]
        return reachable[:1]
    return [channel for channel in channels if channel.value == choice.value]


def plan_reminders(
    start: datetime,
    channels: list[Channel],
    now: datetime,
    policy: ReminderPolicy = DEFAULT_POLICY,
    *,
    zone: str = "UTC",
    preferred: Channel | None = None,
    opted_out: Collection[Channel] = (),
    order: Sequence[Channel] | None = None,
) -> list[PlannedReminder]:
    """The timed reminders before `start`, earliest first, with times read in `zone` (the patient's).

    One whose time is not after `now` is skipped (`send_time_passed`), not armed; one due in quiet hours is
    deferred to their end, or skipped (`quiet_hours`) when that is not before the start; a local-clock rule
    that falls at or after the start is skipped (`after_start`).
    """
    start = to_utc(start)
    timed: list[tuple[datetime, int, PlannedReminder]] = []
    for position, rule in enumerate(policy.effective_rules()):
        due = rule.due(start, zone)
        for channel in rule_channels(rule.channel, channels, preferred, opted_out, order):
            reminder_id = f"reminder-{rule.label}.{channel}"
            status, reason, send_at = Status.SCHEDULED, None, due
            if due <= now:
                status, reason = Status.SKIPPED, "send_time_passed"
            elif due >= start:
                status, reason = Status.SKIPPED, "after_start"
            else:
                deferred = defer_for_quiet_hours(due, zone, policy.quiet_hours, start)
                if deferred is None:
                    status, reason = Status.SKIPPED, "quiet_hours"
                else:
                    send_at = deferred
            timed.append(
                (to_utc(due), position, PlannedReminder(reminder_id, Kind.REMINDER, channel, send_at, status, reason))
            )
    # Earliest first; rules due at the same instant keep the clinic's order.
    return [item for _, _, item in sorted(timed, key=lambda entry: (entry[0], entry[1]))]


def plan_notice(kind: Kind, channels: list[Channel], now: datetime, version: int) -> list[PlannedReminder]:
    """Messages sent at once: the confirmation, and a notice per reschedule (one per version) or cancellation."""
    suffix = {
        Kind.CONFIRMATION: "confirmation",
        Kind.RESCHEDULE_NOTICE: f"reschedule-notice-v{version}",
        Kind.CANCELLATION_NOTICE: "cancellation-notice",
    }[kind]
    return [PlannedReminder(f"{suffix}.{channel}", kind, channel, now, Status.SCHEDULED) for channel in channels]
