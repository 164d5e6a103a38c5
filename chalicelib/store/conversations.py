"""The clinics' inboxes in DynamoDB: one `Conversation` row per patient thread, its messages in
`ConversationMessage`, both written in one transaction so a thread never lists a message it does not hold.

Reads are bounded queries: a clinic's threads by the `by-recent` index (newest first, a page at a time), a
thread's messages by its own partition. The hourly notice and the daily automatic answer are claimed with a
conditional update, so two replies at the same moment send one of each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.core import records
from chalicelib.core.errors import NotFound
from chalicelib.core.words import DeliveryStatus
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_record, to_records
from chalicelib.store.models import Conversation, ConversationMessage, Delivery, transaction

_ATTEMPTS = 3


def thread_key(clinic_id: str, patient_id: str) -> str:
    return f"{clinic_id}#{patient_id}"


def _recent(at: datetime, patient_id: str) -> str:
    return f"{at.isoformat()}#{patient_id}"


def _message(
    clinic_id: str,
    patient_id: str,
    direction: str,
    channel: str,
    text: str,
    message_id: str,
    now: datetime,
    sender: str,
    sms_segments: int | None = None,
) -> ConversationMessage:
    return ConversationMessage(
        thread_key(clinic_id, patient_id),
        f"{now.isoformat()}#{message_id}",
        direction=direction,
        channel=channel,
        text=text,
        at=now,
        sender=sender,
        message_id=message_id,
        sms_segments=sms_segments,
    )


def record_inbound(
    clinic_id: str, patient_id: str, channel: str, address: str, text: str, message_id: str, now: datetime
) -> None:
    """The patient's message and its thread's row (made if new, one more unread, newest in the inbox), together."""
    row = Conversation(clinic_id, patient_id)
    actions: list[Action] = [
        Conversation.recent.set(_recent(now, patient_id)),
        Conversation.last_at.set(now),
        Conversation.last_direction.set("in"),
        Conversation.channel.set(channel),
        Conversation.address.set(address),
        Conversation.last_inbound_at.set(now),
        Conversation.created_at.set(Conversation.created_at | now),
        Conversation.unread.add(1),
    ]
    message = _message(clinic_id, patient_id, "in", channel, text, message_id, now, "patient")
    for attempt in range(_ATTEMPTS):
        try:
            with transaction() as write:
                write.save(message, condition=ConversationMessage.entry.does_not_exist())
                write.update(row, actions=actions)
            return
        except TransactWriteError as e:
            # Two messages of one thread at the same moment meet on its row (DynamoDB's TransactionConflict):
            # the whole transaction was cancelled, so it is written again as it was. A message already stored
            # (the same entry) is a repeat: nothing to do.
            reasons = [reason.code for reason in e.cancellation_reasons or [] if reason is not None]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return
            if "TransactionConflict" not in reasons or attempt == _ATTEMPTS - 1:
                raise


def record_outbound(
    clinic_id: str,
    patient_id: str,
    channel: str,
    text: str,
    message_id: str,
    sms_segments: int | None,
    now: datetime,
) -> None:
    """The staff's answer as sent, and its thread marked read (answering is reading) and newest in the inbox."""
    row = Conversation(clinic_id, patient_id)
    actions: list[Action] = [
        Conversation.recent.set(_recent(now, patient_id)),
        Conversation.last_at.set(now),
        Conversation.last_direction.set("out"),
        Conversation.unread.set(0),
        Conversation.read_at.set(now),
    ]
    message = _message(clinic_id, patient_id, "out", channel, text, message_id, now, "staff", sms_segments)
    try:
        with transaction() as write:
            write.save(message, condition=ConversationMessage.entry.does_not_exist())
            write.update(row, actions=actions, condition=Conversation.patient_id.exists())
    except TransactWriteError as e:
        if condition_failed(e):
            raise NotFound("conversation") from e
        raise


def find(clinic_id: str, patient_id: str) -> records.Conversation | None:
    try:
        return to_record(Conversation.get(clinic_id, patient_id, consistent_read=True), records.Conversation)
    except DoesNotExist:
        return None


def mark_read(clinic_id: str, patient_id: str, now: datetime) -> None:
    """No unread messages left; a thread that does not exist is left absent."""
    try:
        Conversation(clinic_id, patient_id).update(
            actions=[Conversation.unread.set(0), Conversation.read_at.set(now)],
            condition=Conversation.patient_id.exists(),
        )
    except UpdateError as e:
        if not condition_failed(e):
            raise


def threads_page(
    clinic_id: str, after_key: dict[str, Any] | None, limit: int
) -> tuple[list[records.ListedConversation], dict[str, Any] | None]:
    """At most `limit` of the clinic's threads, the latest message first, after `after_key` (the previous
    page's last key, None for the first); and this page's last key, None after the last page."""
    found = Conversation.by_recent.query(clinic_id, scan_index_forward=False, limit=limit, last_evaluated_key=after_key)
    return to_records(found, records.ListedConversation), found.last_evaluated_key


def messages_page(
    clinic_id: str, patient_id: str, after_key: dict[str, Any] | None, limit: int
) -> tuple[list[records.ConversationMessage], dict[str, Any] | None]:
    """At most `limit` of a thread's messages, newest first, after `after_key`; and this page's last key."""
    found = ConversationMessage.query(
        thread_key(clinic_id, patient_id),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=after_key,
        consistent_read=True,
    )
    return to_records(found, records.ConversationMessage), found.last_evaluated_key


def _claim(clinic_id: str, patient_id: str, attribute: Any, now: datetime, every: timedelta) -> bool:
    try:
        Conversation(clinic_id, patient_id).update(
            actions=[attribute.set(now)],
            condition=Conversation.patient_id.exists() & (attribute.does_not_exist() | (attribute <= now - every)),
        )
    except UpdateError as e:
        if condition_failed(e):
            return False
        raise
    return True


def claim_notice(clinic_id: str, patient_id: str, now: datetime, every: timedelta) -> bool:
    """True for the one caller that may send the thread's notice email now (none sent in the last `every`)."""
    return _claim(clinic_id, patient_id, Conversation.notice_at, now, every)


def release_notice(clinic_id: str, patient_id: str, claimed_at: datetime) -> None:
    """Gives a claim back (its email did not go), so the patient's next message tries again; a later claim stays."""
    try:
        Conversation(clinic_id, patient_id).update(
            actions=[Conversation.notice_at.remove()], condition=Conversation.notice_at == claimed_at
        )
    except UpdateError as e:
        if not condition_failed(e):
            raise


def claim_auto_answer(clinic_id: str, patient_id: str, now: datetime, every: timedelta) -> bool:
    """True for the one caller that may send the thread's automatic answer now (none in the last `every`)."""
    return _claim(clinic_id, patient_id, Conversation.auto_answered_at, now, every)


# --- a staff answer sent once per `external_id` ----------------------------------------------------------------


def _answer_claim(clinic_id: str, patient_id: str, external_id: str) -> Delivery:
    return Delivery(f"answer/{clinic_id}/{patient_id}/{external_id}", "answer")


def claim_answer(clinic_id: str, patient_id: str, external_id: str, now: datetime, retention: timedelta) -> bool:
    """Claims the answer a client names `external_id` (a `deliveries` item kept for `retention`); False when it
    was claimed before: the answer is being sent or was sent (`answer_sent` says which)."""
    claim = _answer_claim(clinic_id, patient_id, external_id)
    claim.clinic_id = clinic_id
    claim.channel = "-"
    claim.status = DeliveryStatus.CLAIMED
    claim.lease_until = claim.claimed_at = now
    claim.expires_at = now + retention
    try:
        claim.save(condition=Delivery.reminder_key.does_not_exist())
    except PutError as e:
        if condition_failed(e):
            return False
        raise
    return True


def mark_answer_sent(clinic_id: str, patient_id: str, external_id: str, entry: str) -> None:
    claim = _answer_claim(clinic_id, patient_id, external_id)
    claim.update(actions=[Delivery.status.set(DeliveryStatus.SENT), Delivery.message_id.set(entry)])


def release_answer(clinic_id: str, patient_id: str, external_id: str) -> None:
    """Gives the claim back: nothing was sent, so the client's retry may send it."""
    _answer_claim(clinic_id, patient_id, external_id).delete()


def answer_sent(clinic_id: str, patient_id: str, external_id: str) -> records.ConversationMessage | None:
    """The answer stored for `external_id`, or None while it is still being sent (or the claim has gone)."""
    try:
        claim = Delivery.get(f"answer/{clinic_id}/{patient_id}/{external_id}", "answer", consistent_read=True)
    except DoesNotExist:
        return None
    if claim.status != DeliveryStatus.SENT or not claim.message_id:
        return None
    try:
        found = ConversationMessage.get(thread_key(clinic_id, patient_id), claim.message_id, consistent_read=True)
    except DoesNotExist:
        return None
    return to_record(found, records.ConversationMessage)
