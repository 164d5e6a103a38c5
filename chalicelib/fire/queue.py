"""Reminder timers taken from the fire queue, up to `FIRE_BATCH_SIZE` at a time (app.py `fire_batch`).

Scheduler delivers a reminder's timer to the stage's fire queue, its Input (the timer's envelope,
`chalicelib.arm.envelope`) as the message body; Lambda's event source mapping hands the fire_batch function the
messages waiting, up to 10 at once, and the reminders among them are sent together (`Dispatcher.deliver_all`: one
read, one transaction of claims, one of records, for all of them). So a 9:00 burst of reminders costs about 1.3
AWS calls a reminder instead of 4, and a quiet clinic's single reminder is a batch of one, sent as before.

Faults, as Scheduler's retry policy handled them when it invoked the fire function itself: a send that raises (a
transient channel error, a claim another invocation holds, a DynamoDB fault) is reported failed alone
(ReportBatchItemFailures: the others are done and deleted) and made visible again after Scheduler's back-off,
`retry_delay_seconds` (1, 2, 4, 8, 16 minutes: attempts at +0, +1, +3, +7, +15 and +31 minutes). After the last
(`FIRE_ATTEMPTS`) it is made visible at once, and SQS moves it to the reminders' dead-letter queue on that
receive (the queue's redrive policy, infra/aws), where `redrive-dlq` sends it at most once, as an event
Scheduler dead-lettered. A message that is not a timer's event is logged (its problem, never its contents) and
dropped: a retry cannot fix it. Timers of other kinds are not queued (Scheduler invokes the fire function for
them), but one that arrives here is handled as the fire function handles it, alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from msgspec import Struct

if TYPE_CHECKING:
    from chalicelib.fire.dispatch import Dispatcher
    from chalicelib.queueing.sqs import SqsJobQueue

FIRE_BATCH_SIZE = 10  # the event source mapping's batch size: a round of `Dispatcher.deliver_all`
FIRE_ATTEMPTS = 6  # the queue's maxReceiveCount: as often as Scheduler's retry policy tried a timer in its hour
FIRST_RETRY_SECONDS = 60
# How long SQS waits before it hands a batch out again if the function never answered (it timed out or died):
# more than the function's 30 s timeout, as Lambda requires of an event source.
FIRE_QUEUE_VISIBILITY_SECONDS = 180


def retry_delay_seconds(attempt: int) -> int:
    """How long a timer whose attempt `attempt` (SQS's receive count, from 1) failed waits for its next one; 0 after
    the last, so that SQS dead-letters it when it is received again, at once."""
    return 0 if attempt >= FIRE_ATTEMPTS else FIRST_RETRY_SECONDS * 2 ** (attempt - 1)


class QueuedTimer(Struct, frozen=True):
    """One message of the batch: its id (what a failure is reported by), its receipt, its body, its attempt."""

    message_id: str
    receipt_handle: str
    body: str
    attempt: int


def queued_timers(records: Sequence[Mapping[str, Any]]) -> list[QueuedTimer]:
    """The messages of an SQS event as Lambda passes it (`Records`)."""
    return [
        QueuedTimer(
            str(record["messageId"]),
            str(record.get("receiptHandle", "")),
            str(record.get("body", "")),
            int(record.get("attributes", {}).get("ApproximateReceiveCount", "1")),
        )
        for record in records
    ]


class FireBatch:
    def __init__(self, dispatcher: Callable[[], Dispatcher], queue: Callable[[], SqsJobQueue]) -> None:
        self._dispatcher = dispatcher
        self._queue = queue  # built only when a send failed: a batch that went through makes no SQS call

    def run(
        self, timers: Sequence[QueuedTimer], others: Mapping[Any, Callable[[Any], dict[str, Any]]]
    ) -> dict[str, list[dict[str, str]]]:
        """Sends the batch's reminders together and hands a timer of any other kind to its handler in `others`
        (the fire function's table); the answer names the messages to try again, each delayed by its back-off."""
        answered = list(zip(timers, self.answers(timers, others), strict=True))
        for timer, answer in answered:
            if isinstance(answer, Exception):
                self._retry_later(timer, answer)
        return {
            "batchItemFailures": [
                {"itemIdentifier": timer.message_id} for timer, answer in answered if isinstance(answer, Exception)
            ]
        }

    def answers(
        self, timers: Sequence[QueuedTimer], others: Mapping[Any, Callable[[Any], dict[str, Any]]]
    ) -> list[dict[str, Any] | Exception]:
        """Each message's answer, as the fire function answers its timer (`{"result": ..., "reason": ...}`), or
        the exception its send raised, in the batch's order (the local stack retries by it)."""
        from chalicelib.arm.envelope import BadTimerEvent, ReminderTimerEvent, parse_timer_event
        from chalicelib.core.observability import logger
        from chalicelib.core.words import Result
        from chalicelib.fire.fire import delivery_request

        answers: list[dict[str, Any] | Exception] = [{"result": Result.REJECTED}] * len(timers)
        reminders: list[tuple[int, ReminderTimerEvent]] = []
        for index, timer in enumerate(timers):
            try:
                event = parse_timer_event(json.loads(timer.body))
            except (BadTimerEvent, ValueError) as e:
                problem = str(e) if isinstance(e, BadTimerEvent) else "the body is not JSON"
                logger.error("timer event rejected", extra={"problem": problem})
                continue
            if isinstance(event, ReminderTimerEvent):
                reminders.append((index, event))
                continue
            try:
                answers[index] = others[event.kind](event)
            except Exception as e:  # that timer alone is tried again
                answers[index] = e
        if reminders:
            outcomes = self._dispatcher().deliver_all([delivery_request(event) for _, event in reminders])
            for (index, _), outcome in zip(reminders, outcomes, strict=True):
                answers[index] = (
                    outcome if isinstance(outcome, Exception) else {"result": outcome.result, "reason": outcome.reason}
                )
        return answers

    def _retry_later(self, timer: QueuedTimer, error: Exception) -> None:
        from chalicelib.core.errors import QueueUnavailable
        from chalicelib.core.observability import logger

        delay = retry_delay_seconds(timer.attempt)
        extra = {"error": type(error).__name__, "attempt": timer.attempt, "retry_in_seconds": delay}
        logger.warning("timer to be tried again", extra=extra)
        try:
            self._queue().retry_after(timer.receipt_handle, delay)
        except QueueUnavailable as e:  # it is tried again after the queue's visibility timeout instead
            logger.warning("timer's retry not delayed", extra={"code": str(e)})
