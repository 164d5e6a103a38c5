"""What SES tells CareCue about sent email. SES publishes its events from the stage's configuration set to an SNS
topic (the template's EmailFeedbackTopic), which invokes the email-feedback function.

- A permanent bounce or a complaint makes the address undeliverable, and the email channel stops sending to it.
  A transient bounce (a full mailbox) changes nothing: the next reminder may get through.
- Each event also carries the message's tags, among them `carecue-delivery`, the key of the delivery the email was
  sent for (`chalicelib.send.email.delivery_tag_value`): the event becomes that delivery's receipt (`Delivery` →
  delivered, `Open` → read, a permanent `Bounce` → failed with `email_bounce_<subtype>`, a `Complaint` → delivered:
  it arrived), and a permanent bounce sends the same message once on the patient's next channel (`fall_back`).
  Identity notifications (`notificationType`, no configuration set) carry no tags: they suppress addresses only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from msgspec import Struct

from chalicelib.core.clock import Clock, to_utc
from chalicelib.core.observability import count, logger
from chalicelib.core.words import FeedbackKind
from chalicelib.send.email import DELIVERY_TAG, delivery_of_tag
from chalicelib.store import deliveries

# (reminder key, occurrence, receipt, at, failure) → whether it changed the delivery (chalicelib.fire.receipts)
RecordReceipt = Callable[[str, str, str, datetime, str | None], bool]
# (reminder key, occurrence, reason) → whether the message went on the next channel (the dispatcher's fall_back)
FallBack = Callable[[str, str, str], bool]


class Feedback(Struct, frozen=True):
    kind: FeedbackKind
    addresses: list[str]
    detail: str | None = None
    # The delivery the email was sent for (its tag), and what the event says of it.
    delivery: tuple[str, str] | None = None
    receipt: str | None = None  # delivered | read | failed
    at: datetime | None = None
    failure: str | None = None


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
    delivery = _delivery(event.get("mail"))
    if kind == FeedbackKind.BOUNCE:
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return Feedback(FeedbackKind.IGNORED, [], f"bounce_{bounce.get('bounceType', 'unknown')}".lower())
        recipients = bounce.get("bouncedRecipients") or []
        subtype = bounce.get("bounceSubType")
        failure = f"email_bounce_{str(subtype or 'unknown').lower()}"
        at = _instant(bounce.get("timestamp"))
        return Feedback(FeedbackKind.BOUNCE, _addresses(recipients), subtype, delivery, "failed", at, failure)
    if kind == FeedbackKind.COMPLAINT:
        complaint = event.get("complaint") or {}
        recipients = complaint.get("complainedRecipients") or []
        at = _instant(complaint.get("timestamp"))
        detail = complaint.get("complaintFeedbackType")
        return Feedback(FeedbackKind.COMPLAINT, _addresses(recipients), detail, delivery, "delivered", at)
    if kind in ("delivery", "open"):
        details = event.get(kind) or {}
        receipt = "delivered" if kind == "delivery" else "read"
        at = _instant(details.get("timestamp") if isinstance(details, dict) else None)
        return Feedback(FeedbackKind.IGNORED, [], kind, delivery, receipt, at)
    return Feedback(FeedbackKind.IGNORED, [], kind or "unknown")


def _delivery(mail: Any) -> tuple[str, str] | None:
    tags = mail.get("tags") if isinstance(mail, dict) else None
    values = tags.get(DELIVERY_TAG) if isinstance(tags, dict) else None
    if not isinstance(values, list) or not values or not isinstance(values[0], str):
        return None
    return delivery_of_tag(values[0])


def _instant(value: Any) -> datetime | None:
    try:
        return to_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00"))) if value else None
    except ValueError:
        return None


def _addresses(recipients: Any) -> list[str]:
    return [str(r["emailAddress"]) for r in recipients if isinstance(r, dict) and r.get("emailAddress")]


class EmailFeedback:
    def __init__(self, clock: Clock, record_receipt: RecordReceipt | None = None, fall_back: FallBack | None = None):
        self._clock = clock
        self._record_receipt = record_receipt
        self._fall_back = fall_back

    def record(self, message: str) -> Feedback:
        feedback = parse_feedback(message)
        for address in feedback.addresses:
            deliveries.suppress_address(address_hash(address), feedback.kind, feedback.detail, self._clock.now())
        if feedback.addresses:
            count("EmailAddressesSuppressed", channel="email", value=len(feedback.addresses))
        changed = False
        if feedback.delivery is not None and feedback.receipt is not None and self._record_receipt is not None:
            reminder_key, occurrence = feedback.delivery
            at = min(feedback.at or self._clock.now(), self._clock.now())
            changed = self._record_receipt(reminder_key, occurrence, feedback.receipt, at, feedback.failure)
            if changed:
                count("EmailReceipts", channel="email")
            if feedback.receipt == "failed" and feedback.failure and self._fall_back is not None:
                # Asked even when the receipt was recorded already (a function that died just after recording it
                # must not lose the fallback): the fallback's own claim makes a redelivered event send nothing.
                self._fall_back(reminder_key, occurrence, feedback.failure)
        # Never the address itself: it is patient data.
        logger.info(
            "email feedback",
            extra={
                "kind": feedback.kind,
                "detail": feedback.detail,
                "addresses": len(feedback.addresses),
                "receipt": feedback.receipt,
                "changed": changed,
            },
        )
        return feedback
