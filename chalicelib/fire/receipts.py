"""A message's receipts: what the channel later says of a sent message (sent → delivered → read, or failed with the
channel's reason), recorded on its delivery, and how the reminder view shows them.

Where each channel's receipts come from:
- **WhatsApp**: the statuses of the WABA's event destination (`chalicelib.replies.whatsapp`): sent, delivered, read,
  failed (`whatsapp_<Meta's code>`).
- **Email**: SES's events from the stage's configuration set (`chalicelib.send.email_feedback`): `Delivery` →
  delivered, `Open` → read (when the configuration set tracks opens), a permanent `Bounce` → failed
  (`email_bounce_<subtype>`), a `Complaint` → delivered (it arrived; the address is suppressed). Each email carries
  its delivery's key as the message tag `carecue-delivery`, which SES echoes in every event.
- **SMS**: sent only. SNS's SMS delivery status goes to CloudWatch Logs, not to a topic, and End User Messaging
  SMS's event destinations need its own send API (`SendTextMessage`), which CareCue does not use: an SMS's
  receipt is SNS's acceptance, and a permanent refusal at send time is `failed`.
- **Messenger**: the Page webhook's `message_deliveries` (delivered) and `message_reads` (read) events
  (`chalicelib.replies.messenger_receipts`), found by the recipient and the Send API's `message_id`; a fallback
  by Messenger's on its own record (`deliveries.record_fallback_sent`), shown under the view's `fallback`.

A receipt only moves forward (`chalicelib.store.deliveries.record_receipt`): a duplicate or late one changes
nothing. Lateness is measured in two steps: scheduled → sent (the delivery's `lateness_seconds`, the
ReminderLatenessSeconds metric, at the send) and sent → delivered (`delivery_seconds` in the view, the
ReminderDeliverySeconds metric, when the channel reports delivery).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NotRequired

from aws_lambda_powertools.metrics import MetricUnit
from typing_extensions import TypedDict

from chalicelib.core.clock import iso_utc
from chalicelib.core.observability import metrics
from chalicelib.core.records import Delivery, Reminder
from chalicelib.core.words import DeliveryStatus, Status
from chalicelib.store import deliveries


class FallbackView(TypedDict):
    channel: str
    status: str  # claimed | sent | failed | skipped
    reason: str | None  # why the first channel did not do
    sent_at: NotRequired[str]
    failure: NotRequired[str]  # why it was not sent, or the reason its channel later reported it failed
    # What the fallback's channel reported, where it reports (WhatsApp, Messenger, email: its own record).
    receipt: NotRequired[str]  # sent | delivered | read | failed
    delivered_at: NotRequired[str]
    read_at: NotRequired[str]


class DeliveryView(TypedDict):
    """How a sent (or failed) message went: the channel it went on and what that channel reported."""

    channel: str
    receipt: str  # sent | delivered | read | failed
    sent_at: NotRequired[str]
    delivered_at: NotRequired[str]
    read_at: NotRequired[str]
    failure: NotRequired[str]  # the channel's reason, when it refused or reported failed
    lateness_seconds: NotRequired[float]  # scheduled → sent
    delivery_seconds: NotRequired[float]  # sent → delivered
    fallback: NotRequired[FallbackView]


def record_receipt(reminder_key: str, occurrence: str, receipt: str, at: datetime, failure: str | None) -> bool:
    """Records a channel's receipt; False when it changed nothing (unknown delivery, duplicate or late)."""
    delivery = deliveries.record_receipt(reminder_key, occurrence, receipt, at, failure)
    if delivery is None:
        return False
    if receipt == "delivered" and delivery.sent_at is not None:
        seconds = max(0.0, (at - delivery.sent_at).total_seconds())
        metrics.add_metric(name="ReminderDeliverySeconds", unit=MetricUnit.Seconds, value=seconds)
    return True


def receipts_of(reminders: list[Reminder], known: Mapping[str, DeliveryView] | None = None) -> dict[str, DeliveryView]:
    """The delivery view of each reminder that went out or failed, by reminder id (one read each, but for those
    `known`: sent by this request, as `sent_view` shows them)."""
    known = dict(known or {})
    went = [r for r in reminders if r.status in (Status.SENT, Status.FAILED) and r.reminder_id not in known]
    found = deliveries.latest_deliveries([f"{r.owner_id}/{r.reminder_id}" for r in went])
    return {
        **known,
        **{
            key.rpartition("/")[2]: delivery_view(delivery, _fallback_record(delivery))
            for key, delivery in found.items()
        },
    }


def sent_view(channel: str, sent_at: datetime, lateness_seconds: float) -> DeliveryView:
    """What `delivery_view` shows of a delivery just recorded sent (no receipt, no fallback yet), from what the
    send recorded (`dispatch.Recorded`) rather than read back."""
    return {
        "channel": channel,
        "receipt": "sent",
        "sent_at": iso_utc(sent_at),
        "lateness_seconds": round(float(lateness_seconds), 3),
    }


def _fallback_record(delivery: Delivery) -> Delivery | None:
    """The fallback's own record, read only for a fallback that may have one (sent on a chat channel or by email:
    `Dispatcher._send_fallback`; an email fallback has one only when the stage sends with a configuration set)."""
    if delivery.fallback_channel not in ("messenger", "whatsapp", "email") or delivery.fallback_status != "sent":
        return None
    return deliveries.fallback_receipt(delivery.reminder_key, delivery.occurrence)


def delivery_view(delivery: Delivery, fallback_record: Delivery | None = None) -> DeliveryView:
    failed = delivery.status == DeliveryStatus.FAILED
    receipt = "failed" if failed else (delivery.receipt or "sent")
    view: DeliveryView = {"channel": delivery.channel, "receipt": receipt}
    if delivery.sent_at is not None:
        view["sent_at"] = iso_utc(delivery.sent_at)
    if delivery.delivered_at is not None:
        view["delivered_at"] = iso_utc(delivery.delivered_at)
    if delivery.read_at is not None:
        view["read_at"] = iso_utc(delivery.read_at)
    failure = delivery.failure if failed else delivery.receipt_failure
    if failure:
        view["failure"] = failure
    if delivery.lateness_seconds is not None:
        view["lateness_seconds"] = round(float(delivery.lateness_seconds), 3)
    if delivery.sent_at is not None and delivery.delivered_at is not None:
        view["delivery_seconds"] = round(max(0.0, (delivery.delivered_at - delivery.sent_at).total_seconds()), 3)
    if delivery.fallback_channel:
        fallback: FallbackView = {
            "channel": delivery.fallback_channel,
            "status": delivery.fallback_status or "claimed",
            "reason": delivery.fallback_reason,
        }
        if delivery.fallback_sent_at is not None:
            fallback["sent_at"] = iso_utc(delivery.fallback_sent_at)
        if delivery.fallback_failure:
            fallback["failure"] = delivery.fallback_failure
        if fallback_record is not None:
            fallback["receipt"] = fallback_record.receipt or "sent"
            if fallback_record.delivered_at is not None:
                fallback["delivered_at"] = iso_utc(fallback_record.delivered_at)
            if fallback_record.read_at is not None:
                fallback["read_at"] = iso_utc(fallback_record.read_at)
            if fallback_record.receipt == "failed" and fallback_record.receipt_failure:
                fallback["failure"] = fallback_record.receipt_failure  # the channel's reason, as for a first send
        view["fallback"] = fallback
    return view
