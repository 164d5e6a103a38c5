"""Local stand-in for SNS refusing an SMS for good, which moto never does (it takes every E.164 number): a number
marked here is answered AWS's `InvalidParameter` on `Publish` ("Invalid parameter: PhoneNumber Reason: … is not
valid to publish to", what SNS answers for a number it will not route), in SNS's place, so the production adapter
(`chalicelib.send.sms`) raises the permanent `ChannelError` it raises on AWS and the dispatcher falls back to the
patient's next channel once (docs/receipts-and-fallback.md). Lives in infra/local, never in the Lambda package.

It answers through botocore's `before-call` event, as the WhatsApp emulator does, on the session the app's clients
are made from (the local stack) or on one client's events (a test). On the local stack:
`POST /_local/sms/refuse` `{"phone": "+14155550100"}`.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

_OPERATION = "sns.Publish"
INVALID_PARAMETER = {
    "Code": "InvalidParameter",
    # AWS names the number; the local stack does not, so its logs of a refusal carry none.
    "Message": "Invalid parameter: PhoneNumber Reason: the number is not valid to publish to",
    "Type": "Sender",
}


class SmsRefusals:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: set[str] = set()

    def attach(self, events: Any) -> None:
        """`events`: a boto3 session's or a client's event system (`session.events`, `client.meta.events`)."""
        events.register(f"before-parameter-build.{_OPERATION}", self._remember, unique_id="carecue-local-sms-number")
        events.register(f"before-call.{_OPERATION}", self._answer, unique_id="carecue-local-sms-refusals")

    def refuse(self, phone: str) -> None:
        """From now on an SMS to `phone` (E.164) is refused for good."""
        with self._lock:
            self._refused.add(phone)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["carecue_sms_number"] = params.get("PhoneNumber")  # before-call sees the serialised request only

    def _answer(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        with self._lock:
            refused = context.get("carecue_sms_number") in self._refused
        if not refused:
            return None  # moto answers
        return AWSResponse("", 400, HTTPHeaders(), None), {
            "Error": dict(INVALID_PARAMETER),
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
