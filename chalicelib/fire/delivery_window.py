"""The clinic's delivery window: a message that went on a channel that reports delivery, and that the channel has
not reported delivered (or read, or failed) when the window ends, goes once on the patient's next channel.

- **Which channels**: WhatsApp (its statuses), Messenger (`message_deliveries`) and email when the stage sends
  with an SES configuration set (its `Delivery` events). Not SMS: SNS reports no delivery to CareCue
  (docs/receipts-and-fallback.md), so an SMS would always look undelivered. Not a fallback either: it is the
  message's last try. A notice (a waiting-room text, `chalicelib.fire.notices`) gets one like a reminder's send.
- **The window**: the clinic's `delivery_window_minutes` (`PUT /v1/clinic`, default 15, 5 to 1440), from when
  the message was sent.
- **The timer**: one one-shot `delivery_window` timer per sent delivery (`chalicelib.arm.envelope`), armed right
  after the send is recorded, with `replace=False`, so a second arm (a retried invocation) leaves the first. A
  timer that cannot be armed does not undo the send: it is logged and counted (DeliveryWindowNotArmed).
- **When it fires**: the delivery is read (strongly consistent); a delivery not sent, or already delivered, read
  or failed (a failure has its own fallback), or already fallen back, is left. Otherwise the dispatcher's
  `fall_back` sends the same message once on the next channel, claimed on the delivery (`claim_fallback`), so a
  timer fired twice, or a `failed` status racing it, sends nothing more; its reason is
  `<channel>_not_delivered`. A receipt that arrives after the fallback is still recorded on the first channel.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.arm.envelope import DeliveryWindowTimerEvent, OwnerType, delivery_window_input
from chalicelib.core.clock import iso_utc
from chalicelib.core.errors import TimerError
from chalicelib.core.observability import count, logger
from chalicelib.core.words import Channel, DeliveryStatus, Result
from chalicelib.store import deliveries

if TYPE_CHECKING:
    from chalicelib.arm.timers import ReminderTimers

DEFAULT_MINUTES = 15
MIN_MINUTES = 5
MAX_MINUTES = 24 * 60
_SETTLED = frozenset({"delivered", "read", "failed"})
_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")

# (reminder key, occurrence, reason) → whether the message went on the next channel (the dispatcher's fall_back)
FallBack = Callable[[str, str, str], bool]


def reports_delivery(channel: Channel, email_events: bool) -> bool:
    """Whether `channel` tells CareCue a message was delivered (`email_events`: the stage's configuration set)."""
    return channel in (Channel.WHATSAPP, Channel.MESSENGER) or (channel is Channel.EMAIL and email_events)


def window_name(owner_id: str, reminder_id: str, occurrence: datetime) -> str:
    """`{owner}.{reminder}.w{unix seconds}`, or a digest of it when that is not a valid schedule name."""
    name = f"{owner_id}.{reminder_id}.w{int(occurrence.timestamp())}"
    if _NAME.fullmatch(name):
        return name
    return "w." + hashlib.sha256(name.encode("utf-8")).hexdigest()[:40]


class DeliveryWindow:
    def __init__(self, timers: ReminderTimers | None) -> None:
        self._timers = timers

    def arm(
        self,
        clinic_id: str,
        owner_type: OwnerType,
        owner_id: str,
        reminder_id: str,
        occurrence: datetime,
        ends_at: datetime,
    ) -> None:
        if self._timers is None:
            return
        event = delivery_window_input(clinic_id, owner_type, owner_id, reminder_id, occurrence)
        try:
            self._timers.arm_once(
                window_name(owner_id, reminder_id, occurrence), ends_at, event, what="delivery window", replace=False
            )
        except TimerError as e:
            # The message went: a missing window only means no fallback for silence.
            logger.error("delivery window not armed", extra={"owner_id": owner_id, "code": str(e)})
            count("DeliveryWindowNotArmed", channel="timer")


def window_ended(event: DeliveryWindowTimerEvent, fall_back: FallBack) -> dict[str, Any]:
    """The window of one delivery ended: its message on the next channel, unless the channel reported it."""
    reminder_key, occurrence = f"{event.owner_id}/{event.reminder_id}", iso_utc(event.occurrence)
    delivery = deliveries.delivery(reminder_key, occurrence)
    if delivery is None or delivery.status != DeliveryStatus.SENT:
        outcome: dict[str, Any] = {"result": Result.STALE, "reason": "not_sent"}
    elif delivery.receipt in _SETTLED:
        outcome = {"result": Result.SKIPPED, "reason": f"receipt_{delivery.receipt}"}
    elif delivery.fallback_channel:
        outcome = {"result": Result.DUPLICATE, "reason": "fallen_back_already"}
    elif fall_back(reminder_key, occurrence, f"{delivery.channel}_not_delivered"):
        count("DeliveryWindowFallbacks", channel=delivery.channel)
        outcome = {"result": Result.SENT, "reason": f"{delivery.channel}_not_delivered"}
    else:
        outcome = {"result": Result.SKIPPED, "reason": "no_fallback"}
    logger.info("delivery window ended", extra={"owner_id": event.owner_id, **outcome})
    return outcome
