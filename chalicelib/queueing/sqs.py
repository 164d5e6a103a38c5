"""Background jobs on SQS: the adapter that puts a job's message on its queue.

The queue is found by name (one GetQueueUrl per process, then cached), so a stage needs no setting for it: every
stage's queues are named after its prefix (`chalicelib.settings`). What a message means is its sender's
business; this module only sends text and turns SQS's refusal into `QueueUnavailable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.errors import QueueUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsJobQueue:
    def __init__(self, sqs: SQSClient, queue_name: str) -> None:
        self._sqs = sqs
        self._queue_name = queue_name
        self._url: str | None = None

    def send(self, body: str) -> None:
        """Puts one message on the queue; `QueueUnavailable` when SQS refused it (nothing was queued)."""
        try:
            if self._url is None:
                self._url = self._sqs.get_queue_url(QueueName=self._queue_name)["QueueUrl"]
            self._sqs.send_message(QueueUrl=self._url, MessageBody=body)
        except ClientError as e:
            raise QueueUnavailable(str(e.response.get("Error", {}).get("Code", "unknown"))) from e
        except BotoCoreError as e:  # no connection, a timeout: the request could not reach SQS
            raise QueueUnavailable(type(e).__name__) from e

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        """Makes a message this queue handed out visible again after `seconds` (0: at once), instead of after the
        queue's visibility timeout; `QueueUnavailable` when SQS refused (it then waits out that timeout)."""
        try:
            if self._url is None:
                self._url = self._sqs.get_queue_url(QueueName=self._queue_name)["QueueUrl"]
            self._sqs.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except ClientError as e:
            raise QueueUnavailable(str(e.response.get("Error", {}).get("Code", "unknown"))) from e
        except BotoCoreError as e:
            raise QueueUnavailable(type(e).__name__) from e
