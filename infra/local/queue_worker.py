"""Local stand-in for Lambda's SQS event source mapping: takes the messages waiting on a queue in moto and
invokes a handler with the event Lambda would pass it, one message per event (the stack's batch size).

As on AWS, a message is deleted only when the handler returned; one whose handler raised stays on the queue,
becomes visible again after the queue's visibility timeout, and after the redrive policy's last receive moves
to the dead-letter queue (moto applies the policy). It does not own when it runs: the local stack drains after
every HTTP request and on its tick, the tests when they mean the job to have run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

# A handler that queues a message for every one it takes would otherwise loop for ever; a re-plan queues one
# per page of 25 appointments, so this is a clinic of 25,000 upcoming appointments.
MAX_MESSAGES_PER_DRAIN = 1_000


class QueueWorker:
    def __init__(
        self,
        sqs: SQSClient,
        queue_name: str,
        invoke: Callable[[dict[str, Any]], Any],
        interrupted: Callable[[], bool] | None = None,
    ) -> None:
        self._interrupted = interrupted  # asked before each message: the local stack's stop
        self._sqs = sqs
        self._queue_name = queue_name
        self._invoke = invoke
        self._url: str | None = None

    def drain(self) -> int:
        """Runs every message waiting on the queue, and those the handlers queue meanwhile, until the stack
        stops; returns how many ran (failed ones included)."""
        ran = 0
        while ran < MAX_MESSAGES_PER_DRAIN and not (self._interrupted is not None and self._interrupted()):
            received = self._sqs.receive_message(
                QueueUrl=self._queue_url(),
                MaxNumberOfMessages=1,
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages = received.get("Messages", [])
            if not messages:
                return ran
            message = messages[0]
            ran += 1
            try:
                self._invoke(self._event(message))
            except Exception:  # as on AWS: logged, left for its visibility timeout and the redrive policy
                logger.exception("queued job failed", extra={"queue": self._queue_name})
                continue
            self._sqs.delete_message(QueueUrl=self._queue_url(), ReceiptHandle=message["ReceiptHandle"])
        return ran

    def _queue_url(self) -> str:
        if self._url is None:
            self._url = self._sqs.get_queue_url(QueueName=self._queue_name)["QueueUrl"]
        return self._url

    def _event(self, message: Any) -> dict[str, Any]:
        """The event Lambda's SQS event source passes for one message."""
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": dict(message.get("Attributes", {})),
                    "messageAttributes": {},
                    "md5OfBody": message.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{self._queue_name}",
                    "awsRegion": "us-east-1",
                }
            ]
        }
