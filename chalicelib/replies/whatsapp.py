"""What CareCue does with the events of a clinic's WhatsApp Business Account, which AWS End User Messaging Social
publishes to the account's SNS event destination: JSON whose `whatsAppWebhookEntry` is a JSON string holding
Meta's webhook `entry` (`{"id", "changes": [{"field": "messages", "value": {"metadata", "messages"?,
"statuses"?}}]}`), and whose `context.MetaPhoneNumberIds[].arn` names the phone number
(`…:phone-number-id/<id>`), which is how the clinic is found (its `set-whatsapp` sender).

- `messages[]`: a patient wrote. It opens the patient's 24-hour customer-service window and opts the number in
  to WhatsApp (the patient started the chat), then is answered as an SMS reply is (`chalicelib.replies.inbound`:
  C confirms, STOP stops WhatsApp only, HELP, TAKEN, SNOOZE…), in the patient's language, by WhatsApp. Each
  message id is handled once. Only text messages (and a button's text) are read; media and the rest are logged
  and left.
- `statuses[]`: a receipt for a message CareCue sent. Its `biz_opaque_callback_data` names the delivery
  (`chalicelib.fire.dispatch.delivery_callback`); the delivery records sent → delivered → read, or failed with
  Meta's error code. A status delivered twice, or one older than what is recorded, changes nothing. Receipts of
  SMS answers (which carry no callback) are ignored. A `failed` status hands the delivery to `fall_back` (the
  dispatcher's: the same message once on its planned channel, claimed on the delivery, so a second `failed`
  sends nothing more).

Nothing of the message body, the phone number or the profile name is logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from chalicelib.core.clock import Clock
from chalicelib.core.observability import count, logger
from chalicelib.core.words import Channel
from chalicelib.patients.whatsapp import record_inbound
from chalicelib.replies.inbound import InboundSms
from chalicelib.store import clinics as clinic_store
from chalicelib.store import deliveries

if TYPE_CHECKING:
    from chalicelib.replies.inbound import SmsReplies

_PHONE_NUMBER_ARN = ":phone-number-id/"


class BadWhatsAppEvent(ValueError):
    """Not an End User Messaging Social event; retrying cannot fix it."""


class WhatsAppEvent(Struct, frozen=True):
    phone_number_id: str  # CareCue's name of the sender: phone-number-id-…
    values: list[dict[str, Any]]  # each change's `value`


class Handled(Struct, frozen=True):
    messages: int = 0
    receipts: int = 0  # statuses that changed a delivery


def parse_event(message: str) -> WhatsAppEvent:
    try:
        data: Any = json.loads(message)
        entry: Any = json.loads(data["whatsAppWebhookEntry"])
        arns = [item["arn"] for item in data["context"]["MetaPhoneNumberIds"] if _PHONE_NUMBER_ARN in item["arn"]]
        values = [change["value"] for change in entry["changes"] if change.get("field") == "messages"]
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise BadWhatsAppEvent(type(e).__name__) from e
    if not arns or not all(isinstance(value, dict) for value in values):
        raise BadWhatsAppEvent("no phone number in the event's context")
    return WhatsAppEvent("phone-number-id-" + arns[0].rsplit(_PHONE_NUMBER_ARN, 1)[1], values)


class WhatsAppEvents:
    def __init__(
        self, clock: Clock, replies: SmsReplies, fall_back: Callable[[str, str, str], bool] | None = None
    ) -> None:
        self._clock = clock
        self._replies = replies
        self._fall_back = fall_back  # (reminder key, occurrence, reason): the message on its next channel

    def handle(self, event: WhatsAppEvent) -> Handled:
        clinic = clinic_store.clinic_with_whatsapp_sender(event.phone_number_id)
        if clinic is None:
            logger.warning("whatsapp event for no clinic's number", extra={"outcome": "unknown_sender"})
            return Handled()
        messages = receipts = 0
        for value in event.values:
            for message in value.get("messages") or []:
                messages += self._message(clinic.clinic_id, message)
            for status in value.get("statuses") or []:
                receipts += self._status(status)
        return Handled(messages, receipts)

    def _message(self, clinic_id: str, message: Any) -> int:
        body = _text_of(message)
        sender, message_id = message.get("from"), message.get("id")
        if body is None or not isinstance(sender, str) or not sender.isdigit() or not isinstance(message_id, str):
            logger.info("whatsapp message not read", extra={"clinic_id": clinic_id, "type": str(message.get("type"))})
            return 0
        phone = f"+{sender}"
        # The window runs from when the patient wrote (Meta's timestamp), so a late duplicate cannot stretch it.
        wrote = min(_timestamp(message.get("timestamp")) or self._clock.now(), self._clock.now())
        record_inbound(clinic_id, phone, wrote)  # the window opens before the answer goes in it
        self._replies.handle(InboundSms(message_id, phone, None, body, Channel.WHATSAPP, clinic_id))
        return 1

    def _status(self, status: Any) -> int:
        callback, receipt = status.get("biz_opaque_callback_data"), status.get("status")
        if not isinstance(callback, str) or "|" not in callback or receipt not in deliveries.RECEIPT_RANKS:
            return 0
        reminder_key, occurrence = callback.rsplit("|", 1)
        at = _timestamp(status.get("timestamp")) or self._clock.now()
        errors = status.get("errors") or [{}]
        failure = f"whatsapp_{errors[0].get('code', 'unknown')}" if receipt == "failed" else None
        from chalicelib.fire.receipts import record_receipt

        changed = record_receipt(reminder_key, occurrence, receipt, at, failure)
        if changed:
            count("WhatsAppReceipts", channel=Channel.WHATSAPP.value)
        logger.info("whatsapp status", extra={"status": receipt, "changed": changed, "failure": failure})
        if failure is not None and self._fall_back is not None:
            # Asked even when the receipt was recorded already (a function that died just after recording it must
            # not lose the fallback): the fallback's own claim makes a redelivered status send nothing.
            self._fall_back(reminder_key, occurrence, failure)
        return int(changed)


def _text_of(message: Any) -> str | None:
    if message.get("type") == "text":
        body = message.get("text", {}).get("body")
    elif message.get("type") == "button":
        body = message.get("button", {}).get("text")
    else:
        return None
    return body if isinstance(body, str) else None


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
