"""Finding the deliveries a Messenger receipt speaks of. Meta's `message_deliveries` and `message_reads` events
name the recipient (the PSID, on the Page that sent) and either the messages' ids (`delivery.mids[]`) or a
watermark (every message sent at or before it), never CareCue's delivery: so each delivery that went by Messenger
carries `chat_recipient` (`{page id}/{PSID}`), and the deliveries table's sparse `by-chat-recipient` index lists
them by when they went, with the Send API's `message_id` and the receipt so far. A fallback by Messenger has a
record of its own for this (`fallback/{reminder key}`, `deliveries.record_fallback_sent`): the delivery's own item
keeps the first channel's message id, send time and receipt.

The index is read eventually consistent (a GSI has nothing else): a receipt that arrives before the index has the
delivery (milliseconds after the send) finds nothing, as an unknown mid would. Reads are bounded: the newest
`LOOKBACK` deliveries to the recipient, enough for any patient's reminders of a few weeks.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.store.models import Delivery

LOOKBACK = 50


class ChatDelivery(Struct, frozen=True):
    reminder_key: str
    occurrence: str
    message_id: str | None
    sent_at: datetime
    receipt_rank: int  # 0 when no receipt yet


def recipient_key(page_id: str, psid: str) -> str:
    return f"{page_id}/{psid}"


def sent_to(page_id: str, psid: str, until: datetime | None = None) -> list[ChatDelivery]:
    """The newest deliveries that went to the PSID from the Page (sent at or before `until` when given), newest
    first."""
    key = recipient_key(page_id, psid)
    condition = Delivery.sent_at <= until if until is not None else None
    found = Delivery.by_chat_recipient.query(key, condition, scan_index_forward=False, limit=LOOKBACK)
    return [
        ChatDelivery(
            item.reminder_key,
            item.occurrence,
            item.message_id,
            item.sent_at,
            int(item.receipt_rank or 0),
        )
        for item in found
        if item.sent_at is not None
    ]
