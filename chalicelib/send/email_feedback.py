"""What SES tells CareCue about sent email: a permanent bounce or a complaint makes the address undeliverable,
and the email channel stops sending to it. SES publishes these events from the stage's configuration set to an
SNS topic (the template's EmailFeedbackTopic), which invokes the email-feedback function.

Both of SES's shapes are read: configuration-set events (`eventType`) and identity notifications
(`notificationType`). A transient bounce (a full mailbox) changes nothing: the next reminder may get through.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.core.clock import Clock
from chalicelib.core.observability import count, logger
from chalicelib.core.words import FeedbackKind
from chalicelib.store import deliveries


@dataclass(frozen=True)
class Feedback:
    kind: FeedbackKind
    addresses: list[str]
    detail: str | None = None


def address_hash(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def undeliverable(address: str) -> bool:
    """Whether CareCue stopped emailing `address`. One strongly consistent read: a bounce is honoured at once."""
    return deliveries.address_suppressed(address_hash(address))


def parse_feedback(message: str) -> Feedback:
    try:
        event: Any = json.loads(message)
    except ValueError:
        return Feedback(FeedbackKind.IGNORED, [], "not_json")
    if not isinstance(event, dict):
        return Feedback(FeedbackKind.IGNORED, [], "not_an_object")
    kind = str(event.get("eventType") or event.get("notificationType") or "").lower()
    if kind == FeedbackKind.BOUNCE:
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return Feedback(FeedbackKind.IGNORED, [], f"bounce_{bounce.get('bounceType', 'unknown')}".lower())
        recipients = bounce.get("bouncedRecipients") or []
        return Feedback(FeedbackKind.BOUNCE, _addresses(recipients), bounce.get("bounceSubType"))
    if kind == FeedbackKind.COMPLAINT:
        complaint = event.get("complaint") or {}
        recipients = complaint.get("complainedRecipients") or []
        return Feedback(FeedbackKind.COMPLAINT, _addresses(recipients), complaint.get("complaintFeedbackType"))
    return Feedback(FeedbackKind.IGNORED, [], kind or "unknown")


def _addresses(recipients: Any) -> list[str]:
    return [str(r["emailAddress"]) for r in recipients if isinstance(r, dict) and r.get("emailAddress")]


class EmailFeedback:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def record(self, message: str) -> Feedback:
        feedback = parse_feedback(message)
        for address in feedback.addresses:
            deliveries.suppress_address(address_hash(address), feedback.kind, feedback.detail, self._clock.now())
        if feedback.addresses:
            count("EmailAddressesSuppressed", channel="email", value=len(feedback.addresses))
        # Never the address itself: it is patient data.
        logger.info(
            "email feedback",
            extra={"kind": feedback.kind, "detail": feedback.detail, "addresses": len(feedback.addresses)},
        )
        return feedback
