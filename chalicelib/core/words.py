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
    MESSENGER = "messenger"  # Meta's Send API, to a patient who linked the clinic's Page (chalicelib.send.messenger)


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
    REJECTED = "rejected"  # the timer's event could not be read (`fire()` answers it so Scheduler does not retry)


class WatchResult(StrEnum):
    """What a running-late watch's firing came to (the fire function's answer for a `watch` timer)."""

    WATCHED = "watched"  # the waiting room was refreshed (texts sent as due)
    DAY_CLOSED = "day_closed"  # closing time: what was still open of the day was closed


class DeliveryStatus(StrEnum):
    """A `deliveries` item: the claim on one send of one occurrence, then how it ended."""

    CLAIMED = "claimed"  # held by an invocation until its lease ends
    RETRYING = "retrying"  # a transient channel error ended the lease early: the retry may claim it
    SENT = "sent"
    FAILED = "failed"  # refused by the channel for good
    SKIPPED = "skipped"  # the claim sent nothing (the spend cap); the reminder's status says why


class DoseStatus(StrEnum):
    """A dose as stored: reminded when its message went out, then taken, or skipped (not sent)."""

    REMINDED = "reminded"
    TAKEN = "taken"
    SKIPPED = "skipped"


class DoseAdherence(StrEnum):
    """A dose as the adherence view reports it, from its status, when it was taken and the clinic's windows."""

    TAKEN = "taken"
    LATE = "late"  # taken, after the late window
    MISSED = "missed"  # not taken by the end of the missed window
    DUE = "due"  # not taken yet, still inside the window
    SKIPPED = "skipped"  # never sent


class ReplanStatus(StrEnum):
    """A clinic's background re-plan after `PUT /v1/clinic` (`chalicelib.clinics.replan`)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class WebhookOutcome(StrEnum):
    """What a booking tool's event did to its appointment (in the webhook's answer and its log line)."""

    BOOKED = "booked"
    CANCELLED_BEFORE_BOOKED = "cancelled_before_booked"  # the cancellation arrived first: stored cancelled
    ALREADY_APPLIED = "already_applied"  # the same event again
    STALE = "stale"  # an older event than the one applied
    STAYS_CANCELLED = "stays_cancelled"
    CANCELLED = "cancelled"
    UNCHANGED = "unchanged"
    MOVED = "moved"
    UPDATED = "updated"


class ReplyOutcome(StrEnum):
    """What an inbound SMS came to (`chalicelib.replies.inbound`, in its log line)."""

    DUPLICATE = "duplicate"  # SNS delivered the same message twice
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    HELPED = "helped"
    NOTHING_TO_CONFIRM = "nothing_to_confirm"
    NOT_CONFIRMABLE = "not_confirmable"
    CONFIRMED = "confirmed"
    DOSE_TAKEN = "dose_taken"
    SNOOZE_REFUSED = "snooze_refused"
    DOSE_SNOOZED = "dose_snoozed"
    UNKNOWN_NUMBER = "unknown_number"
    OPTED_OUT_NO_REPLY = "opted_out_no_reply"
    ALREADY_ANSWERED = "already_answered"
    ANSWERED_WITH_HELP = "answered_with_help"
    CHECKED_IN = "checked_in"
    CHECK_IN_NOT_OPEN = "check_in_not_open"
    NOTHING_TO_CHECK_IN = "nothing_to_check_in"
    IN_INBOX = "in_inbox"  # free text: in the clinic's inbox (chalicelib.inbox), with the day's automatic answer
    IN_INBOX_ANSWERED = "in_inbox_answered"  # the same, the day's automatic answer already given


class RedriveOutcome(StrEnum):
    """What the dead-letter redrive did with one failed timer event (`chalicelib.reconcile.dead_letters`), when it
    did not send it again (then the delivery's `Result` says what came of it)."""

    UNREADABLE = "unreadable"
    STALE = "stale"
    RETRY_LATER = "retry_later"
    REARMED = "rearmed"
    MISSED = "missed"


class ClosedBy(StrEnum):
    """Who closed a visit when it was not the front desk."""

    DAY_CLOSE = "day_close"  # closing time found it still in progress or waiting


class FeedbackKind(StrEnum):
    """What SES said of an email (`chalicelib.send.email_feedback`): a permanent bounce or a complaint stops
    email to the address; anything else is ignored."""

    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    IGNORED = "ignored"
