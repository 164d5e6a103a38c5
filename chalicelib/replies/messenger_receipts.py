"""Messenger's receipts: Meta's `message_deliveries` and `message_reads` webhook events recorded on the deliveries
they speak of (`chalicelib.fire.receipts`), as WhatsApp's statuses are.

- `delivery`: `{"mids": [...], "watermark": <ms>}`. A delivery whose Send API `message_id` is one of the mids is
  delivered; so is every delivery to that PSID on that Page sent at or before the watermark (Meta: "all messages
  that were sent before or at this timestamp were delivered"; `mids` may be absent).
- `read`: `{"watermark": <ms>}`: every delivery to that PSID on that Page sent at or before the watermark is read.

"At or before the watermark" allows `SEND_ALLOWANCE`: Meta stamps a message when it takes it, CareCue records
`sent_at` when the Send API answered, up to its timeout (5 s) later, so a watermark naming exactly the last
message is a little earlier than that message's `sent_at`. The deliveries are found by recipient
(`chalicelib.store.chat_receipts`); an unknown mid, or a watermark before anything CareCue sent, changes nothing.
A receipt only moves forward, so a duplicate event changes nothing either. The time recorded is the event's
(`timestamp`, else the watermark), never later than CareCue's clock.

Nothing of the PSID or a mid is logged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.core.observability import count, logger
from chalicelib.core.words import Channel
from chalicelib.store import chat_receipts

SEND_ALLOWANCE = timedelta(seconds=10)
_RANKS = {"delivered": 2, "read": 3}


def is_receipt(event: dict[str, Any]) -> bool:
    return isinstance(event.get("delivery"), dict) or isinstance(event.get("read"), dict)


def record_receipts(page_id: str, psid: str, event: dict[str, Any], now: datetime) -> int:
    """Records what a `delivery` or `read` event says; how many deliveries it changed."""
    from chalicelib.fire.receipts import record_receipt

    receipt, details = ("read", event["read"]) if isinstance(event.get("read"), dict) else ("delivered", {})
    if receipt == "delivered":
        details = event.get("delivery") or {}
    mids = {mid for mid in details.get("mids") or [] if isinstance(mid, str)}
    watermark = _instant(details.get("watermark"))
    at = min(_instant(event.get("timestamp")) or watermark or now, now)
    until = watermark + SEND_ALLOWANCE if watermark is not None else None
    # The mids of a delivery event may be older than the watermark's reach: every recent delivery is looked at.
    found = chat_receipts.sent_to(page_id, psid, None if mids else until)
    changed = 0
    for sent in found:
        if sent.receipt_rank >= _RANKS[receipt]:
            continue  # already this far (the conditional write would refuse it too): no write
        covered = until is not None and sent.sent_at <= until
        if (sent.message_id in mids or covered) and record_receipt(
            sent.reminder_key, sent.occurrence, receipt, max(at, sent.sent_at), None
        ):
            changed += 1
    if changed:
        count("MessengerReceipts", channel=Channel.MESSENGER.value, value=changed)
    logger.info("messenger receipt", extra={"status": receipt, "mids": len(mids), "changed": changed})
    return changed


def _instant(value: Any) -> datetime | None:
    """Meta's timestamps and watermarks are Unix milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
