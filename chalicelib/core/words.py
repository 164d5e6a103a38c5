"""The words every layer shares: what a message is (`Kind`), how it travels (`Channel`), where a reminder
stands (`Status`), and the other statuses and outcomes stored as words. StrEnums, so a stored value and a
JSON value are the word itself."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    CONFIRMATION = "confirmation"
    REMINDER = "reminder"
    RESCHEDULE_NOTICE = "reschedule_notice"
    CANCELLATION_NOTICE = "cancellation_notice"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"  # through AWS End User Messaging Social: only to a patient who opted in


class Status(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    MISSED = "missed"  # its time passed and nothing was delivered (the reconciler's finding)


class AppointmentStatus(StrEnum):
    """An appointment's state: booked or cancelled, and on the day the visit's moves (`chalicelib.visits.status`)."""

    BOOKED = "booked"
    ARRIVED = "arrived"
    IN_PROGRESS = "in-progress"
    FULFILLED = "fulfilled"
    NOSHOW = "noshow"
    CANCELLED = "cancelled"


class ClinicStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # its API key is refused and its reminders skipped until an admin resumes it


class RegimenStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"  # for good: a stopped regimen is never resumed


class Result(StrEnum):
    """What one delivery attempt came to (a delivery `Outcome`'s result, in logs and the fire function's answer)."""

    SENT = "sent"
    SKIPPED = "skipped"  # not sent, for good: the reminder's status says why
    FAILED = "failed"
    DUPLICATE = "duplicate"  # already sent, or being sent by another invocation
    STALE = "stale"  # the timer is out of date: the reminder is left alone
    DEFERRED = "deferred"  # quiet hours: re-armed for later
