"""Local stand-in for SES's event publishing (moto sends nothing for a configuration set): every email the app sends
with a configuration set (`CARECUE_SES_CONFIGURATION_SET`, as the AWS stage does) produces the event SES would
publish to the set's SNS event destination, in SES's own shape (`{"eventType", "mail": {"messageId",
"destination", "tags": {"ses:configuration-set": [...], "carecue-delivery": [...]}, ...}, "<kind>": {...}}`,
docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html), which the stack hands to the
email_feedback function as SNS delivers it. Lives in infra/local, never in the Lambda package.

Which event, by recipient (as the SES mailbox simulator answers, and one domain of our own for test addresses):
- `bounce@simulator.amazonses.com`, or any address `@bounce.example.com`: a permanent `General` bounce (5.1.1);
- `complaint@simulator.amazonses.com`, or any address `@complaint.example.com`: a `Delivery`, then a `Complaint`;
- anyone else: a `Delivery`.
An email sent without a configuration set produces nothing, as on AWS. It watches the session the app's clients are
made from through botocore's events (`before-parameter-build` for what was asked, `after-call` for SES's message id).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from typing import Any

from chalicelib.core.clock import Clock
from infra.local.sns_events import sns_lambda_event

_OPERATIONS = ("ses.SendEmail", "ses.SendRawEmail")
BOUNCE_ADDRESSES = frozenset({"bounce@simulator.amazonses.com"})
BOUNCE_DOMAINS = frozenset({"bounce.example.com"})
COMPLAINT_ADDRESSES = frozenset({"complaint@simulator.amazonses.com"})
COMPLAINT_DOMAINS = frozenset({"complaint.example.com"})


class SesEventEmulator:
    def __init__(self, clock: Clock, account_id: str = "123456789012") -> None:
        self._clock = clock
        self._account = account_id
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []

    def attach(self, session: Any) -> None:
        for operation in _OPERATIONS:
            session.events.register(f"before-parameter-build.{operation}", self._remember)
            session.events.register(f"after-call.{operation}", self._sent)

    def take_events(self) -> list[dict[str, Any]]:
        """The events queued since the last call, each the JSON SES publishes to SNS."""
        with self._lock:
            events, self._events = self._events, []
        return events

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["carecue_ses_request"] = dict(params)

    def _sent(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        request = context.get("carecue_ses_request") or {}
        message_id = parsed.get("MessageId")
        configuration_set = request.get("ConfigurationSetName")
        if not message_id or not configuration_set:
            return  # refused, or sent without a configuration set: SES publishes nothing
        destination = request.get("Destinations") or (request.get("Destination") or {}).get("ToAddresses") or []
        now = self._clock.now()
        mail = {
            "timestamp": _stamp(now),
            "source": request.get("Source"),
            "sendingAccountId": self._account,
            "messageId": message_id,
            "destination": list(destination),
            "headersTruncated": False,
            "tags": {
                "ses:configuration-set": [configuration_set],
                "ses:caller-identity": ["carecue-local"],
                **{tag["Name"]: [tag["Value"]] for tag in request.get("Tags") or []},
            },
        }
        for address in destination:
            for kind, details in _events_for(str(address), now):
                with self._lock:
                    self._events.append({"eventType": kind, "mail": mail, kind.lower(): details})


def _events_for(address: str, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    domain = address.rpartition("@")[2].lower()
    if address.lower() in BOUNCE_ADDRESSES or domain in BOUNCE_DOMAINS:
        bounce = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": _stamp(now),
            "feedbackId": f"local-{uuid.uuid4()}",
            "reportingMTA": "dsn; carecue-local",
        }
        return [("Bounce", bounce)]
    delivery = {
        "timestamp": _stamp(now),
        "processingTimeMillis": 0,
        "recipients": [address],
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": "carecue-local",
    }
    if address.lower() in COMPLAINT_ADDRESSES or domain in COMPLAINT_DOMAINS:
        complaint = {
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": _stamp(now),
            "feedbackId": f"local-{uuid.uuid4()}",
            "complaintFeedbackType": "abuse",
        }
        return [("Delivery", delivery), ("Complaint", complaint)]
    return [("Delivery", delivery)]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def lambda_event(message: dict[str, Any], topic_arn: str, published: datetime) -> dict[str, Any]:
    """The Lambda event SNS delivers for one SES event (`take_events`' items)."""
    return sns_lambda_event(message, topic_arn, published, subject="Amazon SES Email Event Notification")
