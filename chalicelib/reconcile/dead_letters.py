"""Redriving the reminders' dead-letter queue: the timer events EventBridge Scheduler could not deliver to the
fire function after its hour of retries (the function was down, throttled or failing).

Each event goes back through the same dispatcher the fire function runs: it re-checks the booking and claims
the original occurrence (the scheduled time in the event) before sending, so a reminder that did go out, or
one redriven twice, is never sent again. An event whose reminder is now too late is not sent but marked
`missed`; one still in the future is re-armed; one that cannot be read stays in the queue for a person to see.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

from chalicelib.arm.envelope import OwnerType
from chalicelib.arm.timers import SCHEDULED_TIME, ReminderTimers, Timer
from chalicelib.core.clock import Clock, iso_utc
from chalicelib.core.errors import TimerError
from chalicelib.core.records import Reminder
from chalicelib.core.words import RedriveOutcome, Result, Status
from chalicelib.fire.dispatch import Dispatcher, TransientSendError
from chalicelib.fire.fire import BadTimerEvent, parse_reminder_event
from chalicelib.reconcile.reminders import ReminderReconciler
from chalicelib.store import pending

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# A reminder this late helps no one (a "tomorrow at 10" message the day after); it is marked missed instead.
DEFAULT_MAX_LATENESS = timedelta(hours=6)
# SQS hands out at most 10 messages a receive; the redrive reads until a receive comes back empty.
_BATCH = 10


class Redrive(Struct):
    outcomes: dict[str, int] = field(default_factory=dict)  # e.g. {"sent": 2, "missed": 1, "unreadable": 1}

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class DeadLetterRedrive:
    def __init__(
        self,
        clock: Clock,
        sqs: SQSClient,
        queue_url: str,
        dispatcher: Dispatcher,
        timers: ReminderTimers,
        reconciler: ReminderReconciler,
    ) -> None:
        self._clock = clock
        self._sqs = sqs
        self._queue_url = queue_url
        self._dispatcher = dispatcher
        self._timers = timers
        self._reconciler = reconciler

    def run(self, *, max_lateness: timedelta = DEFAULT_MAX_LATENESS, limit: int = 1000) -> Redrive:
        result = Redrive()
        handled = 0
        while handled < limit:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(_BATCH, limit - handled),
                # Long enough to send a batch; a crash leaves the rest to the next redrive.
                VisibilityTimeout=120,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                handled += 1
                outcome = self._redrive(message.get("Body", ""), max_lateness)
                result.add(outcome)
                if outcome not in (RedriveOutcome.UNREADABLE, RedriveOutcome.RETRY_LATER):
                    self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return result

    def _redrive(self, body: str, max_lateness: timedelta) -> RedriveOutcome | Result:
        try:
            event: Any = json.loads(body)
            if isinstance(event, dict) and event.get("scheduled_time") == SCHEDULED_TIME:
                # Not filled in: the occurrence is the reminder's planned time, as for the at() timer it came from.
                event = {**event, "scheduled_time": iso_utc(_reminder(event).send_at)}
            request = parse_reminder_event(event)
        except (ValueError, BadTimerEvent, _Gone, KeyError, TypeError):
            return RedriveOutcome.UNREADABLE
        now = self._clock.now()
        if request.occurrence > now:
            owner_type = request.owner_type
            if owner_type is None:  # a timer armed before the envelope: the stored reminder says whose it is
                stored = pending.reminder(request.owner_id, request.reminder_id)
                if stored is None:
                    return RedriveOutcome.STALE
                owner_type = OwnerType(stored.owner_type)
            try:
                self._timers.arm(
                    Timer(
                        request.clinic_id,
                        request.owner_id,
                        request.reminder_id,
                        request.version,
                        request.occurrence,
                        patient_id=request.patient_id,
                        owner_type=owner_type,
                        dose_time=request.dose_time,
                    )
                )
            except TimerError:
                return RedriveOutcome.RETRY_LATER
            return RedriveOutcome.REARMED
        if now - request.occurrence > max_lateness:
            reminder = pending.reminder(request.owner_id, request.reminder_id)
            if reminder is None:
                return RedriveOutcome.STALE
            if reminder.status != Status.SCHEDULED or reminder.send_at != request.occurrence:
                return RedriveOutcome.STALE
            return (
                RedriveOutcome.MISSED
                if self._reconciler.mark_missed(reminder, "dead_lettered")
                else RedriveOutcome.STALE
            )
        try:
            return self._dispatcher.deliver(request).result
        except TransientSendError:
            return RedriveOutcome.RETRY_LATER


class _Gone(Exception):
    """The event names a reminder that is not there: nothing to read its planned time from."""


def _reminder(event: dict[str, Any]) -> Reminder:
    reminder = pending.reminder(str(event["owner_id"]), str(event["reminder_id"]))
    if reminder is None:
        raise _Gone()
    return reminder
