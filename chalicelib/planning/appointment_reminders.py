"""Which messages an appointment gets, on which channel and when: a pure function of the appointment, the
patient's contacts, the policy and the current time. Nothing here knows AWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chalicelib.clock import to_utc


class Kind(StrEnum):
    CONFIRMATION = "confirmation"
    REMINDER = "reminder"
    RESCHEDULE_NOTICE = "reschedule_notice"
    CANCELLATION_NOTICE = "cancellation_notice"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Status(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    MISSED = "missed"  # its time passed and nothing was delivered (the reconciler's finding)


@dataclass(frozen=True)
class ReminderPolicy:
    """Until clinics configure their own (a later issue): confirm at booking, remind 24 h and 2 h before."""

    confirm_at_booking: bool = True
    reminders_before: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))


DEFAULT_POLICY = ReminderPolicy()


@dataclass(frozen=True)
class PlannedReminder:
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


def plan_reminders(
    start: datetime,
    channels: list[Channel],
    now: datetime,
    policy: ReminderPolicy = DEFAULT_POLICY,
) -> list[PlannedReminder]:
    """The timed reminders before `start`; one whose time is not after `now` is skipped, not armed."""
    planned = []
    # Leads are elapsed time: in UTC, "2 hours before" is 2 real hours even across a DST change.
    start = to_utc(start)
    for lead in sorted(policy.reminders_before, reverse=True):
        send_at = start - lead
        for channel in channels:
            reminder_id = f"reminder-{lead_label(lead)}.{channel}"
            if send_at <= now:
                planned.append(
                    PlannedReminder(reminder_id, Kind.REMINDER, channel, send_at, Status.SKIPPED, "send_time_passed")
                )
            else:
                planned.append(PlannedReminder(reminder_id, Kind.REMINDER, channel, send_at, Status.SCHEDULED))
    return planned


def plan_notice(kind: Kind, channels: list[Channel], now: datetime, version: int) -> list[PlannedReminder]:
    """Messages sent at once: the confirmation, and a notice per reschedule (one per version) or cancellation."""
    suffix = {
        Kind.CONFIRMATION: "confirmation",
        Kind.RESCHEDULE_NOTICE: f"reschedule-notice-v{version}",
        Kind.CANCELLATION_NOTICE: "cancellation-notice",
    }[kind]
    return [PlannedReminder(f"{suffix}.{channel}", kind, channel, now, Status.SCHEDULED) for channel in channels]
