"""The storage side of sending one reminder occurrence (`chalicelib.fire.dispatch`): the reads a send makes,
its claim and record in the deliveries table, the marks it leaves on the reminder, and the email addresses
SES said are undeliverable.

The claim is one conditional UpdateItem on the delivery keyed by the reminder (`{owner_id}/{reminder_id}`) and
the occurrence (the scheduled time, ISO 8601 UTC). It holds when there is no item yet, or when the item is a
claim (`claimed`, or `retrying` after a transient channel error) whose lease has run out; otherwise the write
does nothing and the caller gets `AlreadyClaimed`. So of two invocations for one occurrence exactly one gets
the claim, and a claim left by a function that died is taken over only after its lease. An UpdateItem rather
than a PutItem: the attempts are counted with an ADD on the same item, and the record expires (TTL) when the
caller says.

The reminder's sent mark is conditioned on the owner version the send was for and on the reminder still being
`scheduled`: a reminder moved while its message was on the way stands for the new time (a newer version) and
stays `scheduled`; the caller gets `StaleVersion` and the write did nothing.

A send makes two writes in the steady state (docs/performance.md, "Calls per sent reminder"): `claim_counted`,
one TransactWriteItems of the claim and the month's usage count under the spend cap (`store.usage.UnderCap`), and
`record_sent_together`, one TransactWriteItems of the delivery's "sent" record, the reminder's version-checked
mark and the address's recent sends (only that attribute: a STOP written meanwhile stays). `claim`, `record_sent`
and `mark_sent_if_version` are the same writes one at a time, which the dispatcher falls back to when a
transaction does not go through for a reason other than the claim's condition (the cap reached in a race, a
table unavailable, a conflict), so that each keeps its own handling of faults.

The first reads go through `reads.get`, so what `reads.prefetched` fetched in the send's one BatchGetItem is
handed out here without another round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from msgspec import Struct
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.core import records
from chalicelib.core.errors import AlreadyClaimed, StaleVersion
from chalicelib.core.words import DeliveryStatus, Status
from chalicelib.store import pending, reads
from chalicelib.store.conditions import condition_failed, failed_items
from chalicelib.store.convert import to_model, to_record
from chalicelib.store.models import (
    Appointment,
    Clinic,
    Delivery,
    EmailSuppression,
    Patient,
    Reminder,
    transaction,
)
from chalicelib.store.patients import RecentSendsWrite
from chalicelib.store.usage import UnderCap, together

# --- the reads of a send (prefetched when the dispatcher asked for them) ------------------------------------


def reminder(owner_id: str, reminder_id: str) -> records.Reminder | None:
    try:
        return to_record(reads.get(Reminder, owner_id, reminder_id), records.Reminder)
    except DoesNotExist:
        return None


def appointment(clinic_id: str, appointment_id: str) -> records.Appointment | None:
    try:
        return to_record(reads.get(Appointment, clinic_id, appointment_id), records.Appointment)
    except DoesNotExist:
        return None


def clinic(clinic_id: str) -> records.Clinic:
    """The clinic; `Clinic.DoesNotExist` propagates (a send for a clinic that is gone is an error, not a skip)."""
    return to_record(reads.get(Clinic, clinic_id), records.Clinic)


def patient(clinic_id: str, patient_id: str) -> records.Patient:
    """The patient; `Patient.DoesNotExist` propagates, as for the clinic."""
    return to_record(reads.get(Patient, clinic_id, patient_id), records.Patient)


# --- the delivery item: claim, then one record of how it ended ----------------------------------------------


def claim(
    reminder_key: str,
    occurrence: str,
    *,
    clinic_id: str,
    channel: str,
    now: datetime,
    lease_until: datetime,
    expires_at: datetime,
) -> None:
    """Claims the occurrence for this invocation; `AlreadyClaimed` when another holds it or has sent it. With the
    guards of records in hand (`reads.in_hand`), in one transaction with them: `reads.ChangedMeanwhile` when one
    failed."""
    actions, claimable = _claim_write(clinic_id, channel, now, lease_until, expires_at)
    guards = reads.guards()
    if guards:  # checked on records in hand: their guards go with the claim (`reads.in_hand`)
        try:
            with transaction() as write:
                write.update(Delivery(reminder_key, occurrence), actions=actions, condition=claimable)
                _check(write, guards)
        except TransactWriteError as e:
            _raise_refused(e, 1)
            raise
        reads.guards_checked()
        return
    try:
        Delivery(reminder_key, occurrence).update(actions=actions, condition=claimable)
    except UpdateError as e:
        if condition_failed(e):
            raise AlreadyClaimed() from e
        raise


class CountedClaim(Struct, frozen=True):
    """A claim with its message's usage count: what `claim_counted` writes alone and `claim_all` with others."""

    reminder_key: str
    occurrence: str
    usage: UnderCap
    clinic_id: str
    channel: str
    now: datetime
    lease_until: datetime
    expires_at: datetime
    # The first read found no delivery for the occurrence: the claim creates it (`add_to`), and several such
    # claims go in one transaction (`claim_all`); one that exists (a retry) is claimed on its own.
    new: bool = False

    @property
    def batchable(self) -> bool:
        return self.new

    def add_to(self, write: Any) -> None:
        """The claim in the transaction `write`: a new item where none was read (a conditional put: nothing may
        have been written meanwhile), else the update that takes over a claim whose lease ran out."""
        if self.new:
            write.save(self.created(), condition=Delivery.reminder_key.does_not_exist())
            return
        actions, claimable = _claim_write(self.clinic_id, self.channel, self.now, self.lease_until, self.expires_at)
        write.update(Delivery(self.reminder_key, self.occurrence), actions=actions, condition=claimable)

    def created(self, status: DeliveryStatus = DeliveryStatus.CLAIMED, **sent: Any) -> Delivery:
        """The delivery a new claim creates, whole: as claimed, or as sent with the send's fields (`SentRecord`
        writes it so, on the condition that it is still as claimed)."""
        return Delivery(
            self.reminder_key,
            self.occurrence,
            clinic_id=self.clinic_id,
            channel=self.channel,
            status=status,
            claimed_at=self.now,
            lease_until=self.lease_until,
            attempts=1,
            expires_at=self.expires_at,
            **sent,
        )


def unclaimed(reminder_key: str, occurrence: str) -> bool:
    """True when the send's first read found no delivery for the occurrence (`reads.known_absent`)."""
    return reads.known_absent(Delivery, reminder_key, occurrence)


def claim_counted(claim: CountedClaim) -> bool:
    """`claim` and the message's usage count under the cap in one transaction: True when both are written.
    `AlreadyClaimed` when the claim's condition failed (nothing written); `reads.ChangedMeanwhile` when an item
    the send was checked on, taken from records in hand, changed since (nothing written). False, with nothing
    written, for any other refusal (the month reached its cap in a race, a table unavailable or throttled, a
    conflicting write): the caller then claims and counts one at a time, each with its own handling."""
    usage_item, usage_actions, under_cap = claim.usage.write()
    guards = reads.guards()
    try:
        with transaction() as write:
            claim.add_to(write)
            write.update(usage_item, actions=usage_actions, condition=under_cap)
            _check(write, guards)  # what a send checked on records in hand is still so (`reads.in_hand`)
    except TransactWriteError as e:
        _raise_refused(e, 2)
        return False
    except PynamoDBException:
        return False
    reads.guards_checked()
    return True


def claim_all(claims: Sequence[CountedClaim]) -> bool:
    """Several sends' claims and counts in one transaction (a batch of timers: `Dispatcher.deliver_all`), each
    clinic's month counted once for all of its messages under the cap each would have met in turn
    (`store.usage.together`). True when every one was written. False, with nothing written, when the transaction
    did not go through for any reason (a claim held or sent elsewhere, the cap, a table unavailable): the caller
    then makes each with `claim_counted`, which tells them apart. Records in hand have no place here: a booking's
    confirmation is claimed on its own."""
    by_month: dict[tuple[str, str], list[UnderCap]] = {}
    for claim in claims:
        by_month.setdefault((claim.usage.clinic_id, claim.usage.month), []).append(claim.usage)
    counts = [together(month) for month in by_month.values()]
    if any(count is None for count in counts):
        return False
    try:
        with transaction() as write:
            for claim in claims:
                claim.add_to(write)
            for count in counts:
                assert count is not None
                usage_item, usage_actions, under_cap = count.write()
                write.update(usage_item, actions=usage_actions, condition=under_cap)
    except PynamoDBException:  # TransactWriteError included: whatever refused it, each is made on its own
        return False
    return True


def _check(write: Any, guards: list[reads.Guard]) -> None:
    for model, hash_key, range_key, condition in guards:
        write.condition_check(model, hash_key, range_key, condition=condition)


def _raise_refused(e: TransactWriteError, first_guard: int) -> None:
    """`AlreadyClaimed` when the claim's condition failed (item 0), `reads.ChangedMeanwhile` when one of the
    guards (from `first_guard` on) did; nothing was written either way."""
    reasons = e.cancellation_reasons or []
    failed = [i for i, reason in enumerate(reasons) if reason is not None and reason.code == "ConditionalCheckFailed"]
    if 0 in failed:
        raise AlreadyClaimed() from e
    if any(i >= first_guard for i in failed):
        raise reads.ChangedMeanwhile() from e


def claim_notice(
    reminder_key: str,
    occurrence: str,
    *,
    clinic_id: str,
    channel: str,
    notice: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Claims a notice's one send (`chalicelib.fire.notices`), with its facts; `AlreadyClaimed` when the item is
    there already, whatever its state: a notice is never taken over after a lease (nothing retries it), so the
    same notice handled twice sends nothing more."""
    actions, _ = _claim_write(clinic_id, channel, now, now, expires_at)
    try:
        Delivery(reminder_key, occurrence).update(
            actions=[*actions, Delivery.notice.set(notice)], condition=Delivery.reminder_key.does_not_exist()
        )
    except UpdateError as e:
        if condition_failed(e):
            raise AlreadyClaimed() from e
        raise


def _claim_write(
    clinic_id: str, channel: str, now: datetime, lease_until: datetime, expires_at: datetime
) -> tuple[list[Action], Any]:
    claimable = Delivery.reminder_key.does_not_exist() | (
        Delivery.status.is_in(DeliveryStatus.CLAIMED, DeliveryStatus.RETRYING) & (Delivery.lease_until <= now)
    )
    actions: list[Action] = [
        Delivery.clinic_id.set(clinic_id),
        Delivery.channel.set(channel),
        Delivery.status.set(DeliveryStatus.CLAIMED),
        Delivery.claimed_at.set(now),
        Delivery.lease_until.set(lease_until),
        Delivery.attempts.add(1),
        Delivery.expires_at.set(expires_at),
    ]
    return actions, claimable


def record_sent(
    reminder_key: str,
    occurrence: str,
    *,
    message_id: str,
    sent_at: datetime,
    lateness_seconds: float,
    sms_segments: int | None = None,
    chat_recipient: str | None = None,
) -> None:
    """The channel took the message: the claim becomes the record (`sms_segments` only for an SMS,
    `chat_recipient` only for Messenger: `chalicelib.store.chat_receipts`)."""
    sent = _sent_actions(message_id, sent_at, lateness_seconds, sms_segments, chat_recipient)
    Delivery(reminder_key, occurrence).update(actions=sent)


class SentRecord(Struct, frozen=True):
    """A send's record: the delivery sent, the reminder's mark at its version and (for an SMS) the address's
    recent sends, as `record_sent_together` writes them alone and `record_all` with others'."""

    reminder_key: str
    occurrence: str
    reminder: records.Reminder
    version: int
    recent_sends: RecentSendsWrite | None
    message_id: str
    sent_at: datetime
    lateness_seconds: float
    sms_segments: int | None = None
    chat_recipient: str | None = None
    # The claim this send created (`CountedClaim.new`): the delivery holds just what it wrote, so the record can
    # be written whole, on the condition that it still does (the claim stands and no receipt came in meanwhile).
    claim: CountedClaim | None = None

    @property
    def batchable(self) -> bool:
        return True

    def add_to(self, write: Any) -> None:
        mark, unchanged = _sent_mark(self.reminder, self.version, self.sent_at)
        if self.claim is not None:
            whole = self.claim.created(
                DeliveryStatus.SENT,
                message_id=self.message_id,
                sent_at=self.sent_at,
                lateness_seconds=self.lateness_seconds,
                sms_segments=self.sms_segments,
                chat_recipient=self.chat_recipient,
            )
            write.save(whole, condition=_still_claimed(self.claim))
        else:
            sent = _sent_actions(
                self.message_id, self.sent_at, self.lateness_seconds, self.sms_segments, self.chat_recipient
            )
            write.update(Delivery(self.reminder_key, self.occurrence), actions=sent)
        write.update(to_model(self.reminder, Reminder), actions=mark, condition=unchanged)
        if self.recent_sends is not None:
            write.update(self.recent_sends[0], actions=self.recent_sends[1])


def _still_claimed(claim: CountedClaim) -> Any:
    """The delivery is as `claim` created it: claimed at its instant, once, and no receipt written to it since."""
    return (
        (Delivery.status == DeliveryStatus.CLAIMED)
        & (Delivery.claimed_at == claim.now)
        & (Delivery.attempts == 1)
        & Delivery.receipt.does_not_exist()
    )


def record_sent_together(record: SentRecord) -> None:
    """`record_sent`, `mark_sent_if_version` and (for an SMS) the address's recent sends
    (`store.patients.recent_sends_write`) in one transaction. `StaleVersion`, with nothing written, when the
    reminder changed meanwhile (the caller records the rest without the mark); any other refusal raises, with
    nothing written, and the caller writes them one at a time."""
    try:
        with transaction() as write:
            record.add_to(write)
    except TransactWriteError as e:
        reasons = e.cancellation_reasons or []
        if 1 in failed_items(e) and reasons[1] is not None and reasons[1].code == "ConditionalCheckFailed":
            raise StaleVersion("reminder") from e
        raise


def record_all(sent: Sequence[SentRecord]) -> bool:
    """Several sends' records in one transaction (`Dispatcher.deliver_all`): True when all were written. False,
    with nothing written, when it did not go through for any reason (a reminder moved meanwhile, two records for
    one address, a table unavailable): the caller then writes each with `record_sent_together`, which tells them
    apart."""
    try:
        with transaction() as write:
            for record in sent:
                record.add_to(write)
    except PynamoDBException:
        return False
    return True


def _sent_actions(
    message_id: str, sent_at: datetime, lateness_seconds: float, sms_segments: int | None, chat_recipient: str | None
) -> list[Action]:
    sent: list[Action] = [
        Delivery.status.set(DeliveryStatus.SENT),
        Delivery.message_id.set(message_id),
        Delivery.sent_at.set(sent_at),
        Delivery.lateness_seconds.set(lateness_seconds),
    ]
    if sms_segments is not None:
        sent.append(Delivery.sms_segments.set(sms_segments))
    if chat_recipient is not None:
        sent.append(Delivery.chat_recipient.set(chat_recipient))
    return sent


def release_for_retry(reminder_key: str, occurrence: str, now: datetime) -> None:
    """Ends the lease now, so the retry that follows a transient channel error may claim and send."""
    Delivery(reminder_key, occurrence).update(
        actions=[Delivery.status.set(DeliveryStatus.RETRYING), Delivery.lease_until.set(now)]
    )


def record_failed(reminder_key: str, occurrence: str, reason: str) -> None:
    """The channel refused the message for good."""
    Delivery(reminder_key, occurrence).update(
        actions=[
            Delivery.status.set(DeliveryStatus.FAILED),
            Delivery.failure.set(reason),
            Delivery.permanent_failure.set(True),
        ]
    )


RECEIPT_RANKS = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


def record_receipt(
    reminder_key: str, occurrence: str, receipt: str, at: datetime, failure: str | None
) -> records.Delivery | None:
    """A channel's receipt for a sent delivery, and the delivery as it now is; None (and nothing written) when the
    delivery is not there or already has this receipt or a later one: a status delivered twice, or late, changes
    nothing."""
    rank = RECEIPT_RANKS[receipt]
    actions: list[Action] = [Delivery.receipt.set(receipt), Delivery.receipt_rank.set(rank)]
    if receipt == "delivered":
        actions.append(Delivery.delivered_at.set(at))
    elif receipt == "read":
        actions.append(Delivery.read_at.set(at))
    elif failure is not None:
        actions.append(Delivery.receipt_failure.set(failure))
    later = Delivery.receipt_rank.does_not_exist() | (Delivery.receipt_rank < rank)
    item = Delivery(reminder_key, occurrence)
    try:
        item.update(actions=actions, condition=Delivery.reminder_key.exists() & later)
    except UpdateError as e:
        if condition_failed(e):
            return None
        raise
    return to_record(item, records.Delivery)  # PynamoDB read the item back (ALL_NEW)


def latest_deliveries(reminder_keys: list[str]) -> dict[str, records.Delivery]:
    """Each reminder's latest delivery (its last occurrence), by reminder key; a reminder never sent has none.
    One query per key: an appointment has a handful of reminders."""
    found: dict[str, records.Delivery] = {}
    for key in reminder_keys:
        for item in Delivery.query(key, scan_index_forward=False, limit=1):
            found[key] = to_record(item, records.Delivery)
    return found


def notice_deliveries(
    owner_id: str, notice_ids: list[str], occurrence: str
) -> dict[str, tuple[records.Delivery, records.Delivery | None]]:
    """The named notices' deliveries (`chalicelib.fire.notices`), each with its fallback's own record
    (`record_fallback_sent`) or None, by notice id; a name with no delivery is left out. Read by key, both items of
    each notice in one strongly consistent BatchGetItem (100 keys a call: 50 notices), never a query: nothing at
    all when no name is given."""
    if not notice_ids:
        return {}
    keys = {n: f"{owner_id}/{n}" for n in notice_ids}
    wanted: list[reads.Key] = []
    for key in keys.values():
        wanted += [(Delivery, key, occurrence), (Delivery, fallback_key(key), occurrence)]
    found = reads.batch_get(wanted)
    table = Delivery.Meta.table_name
    shown: dict[str, tuple[records.Delivery, records.Delivery | None]] = {}
    for notice_id, key in keys.items():
        item, fallback = found.get((table, key, occurrence)), found.get((table, fallback_key(key), occurrence))
        if item is not None:
            second = None if fallback is None else to_record(fallback, records.Delivery)
            shown[notice_id] = (to_record(item, records.Delivery), second)
    return shown


def delivery(reminder_key: str, occurrence: str) -> records.Delivery | None:
    try:
        return to_record(Delivery.get(reminder_key, occurrence, consistent_read=True), records.Delivery)
    except DoesNotExist:
        return None


def claim_fallback(reminder_key: str, occurrence: str, *, channel: str, reason: str) -> bool:
    """Claims the one fallback of a delivery (the same message on `channel`); False (nothing written) when the
    delivery is not there or a fallback was claimed already: a duplicate or late status sends nothing more.
    Claimed once and never taken over: a function that dies between this claim and the send leaves the patient
    with the first channel's attempt only, rather than risk two messages."""
    try:
        Delivery(reminder_key, occurrence).update(
            actions=[
                Delivery.fallback_channel.set(channel),
                Delivery.fallback_status.set("claimed"),
                Delivery.fallback_reason.set(reason),
            ],
            condition=Delivery.reminder_key.exists() & Delivery.fallback_channel.does_not_exist(),
        )
    except UpdateError as e:
        if condition_failed(e):
            return False
        raise
    return True


def record_fallback(
    reminder_key: str,
    occurrence: str,
    status: str,
    *,
    message_id: str | None = None,
    at: datetime | None = None,
    failure: str | None = None,
) -> None:
    """How the fallback ended: `sent` (with the next channel's message id) or `failed` / `skipped` (why)."""
    actions: list[Action] = [Delivery.fallback_status.set(status)]
    if message_id is not None:
        actions.append(Delivery.fallback_message_id.set(message_id))
    if at is not None:
        actions.append(Delivery.fallback_sent_at.set(at))
    if failure is not None:
        actions.append(Delivery.fallback_failure.set(failure))
    Delivery(reminder_key, occurrence).update(actions=actions)


FALLBACK_PREFIX = "fallback/"


def is_fallback_key(reminder_key: str) -> bool:
    """Whether `reminder_key` names a fallback's own record (`fallback_key`) rather than a delivery."""
    return reminder_key.startswith(FALLBACK_PREFIX)


def fallback_callback(reminder_key: str, occurrence: str) -> str:
    """The key a fallback is sent with on WhatsApp (`biz_opaque_callback_data`) and email (the `carecue-delivery`
    tag), as a first send carries its delivery's: its channel's receipts then find the fallback's own record."""
    return f"{fallback_key(reminder_key)}|{occurrence}"


def fallback_key(reminder_key: str) -> str:
    """The key of the fallback's own record (`record_fallback_sent`): `fallback/{reminder key}`."""
    return f"{FALLBACK_PREFIX}{reminder_key}"


def record_fallback_sent(
    reminder_key: str,
    occurrence: str,
    *,
    clinic_id: str,
    channel: str,
    message_id: str,
    sent_at: datetime,
    chat_recipient: str | None,
    expires_at: datetime,
) -> None:
    """The fallback's own record, for a fallback on a channel that reports receipts (WhatsApp, email, Messenger):
    an item keyed `fallback/{reminder key}` at the same occurrence, sent, with the channel's message id, so that
    the channel's receipts move its `receipt` as they move a first send's. WhatsApp's statuses and SES's events
    find it by the key the fallback was sent with (`fallback_callback`); Meta's Messenger receipts name only the
    recipient, so a Messenger fallback also keeps its `chat_recipient`, for the `by-chat-recipient` index
    (`chalicelib.store.chat_receipts`). The delivery's own item keeps the first channel's receipt; the reminder
    view reads this one for the fallback's (`fallback_receipt`)."""
    Delivery(
        fallback_key(reminder_key),
        occurrence,
        clinic_id=clinic_id,
        channel=channel,
        status=DeliveryStatus.SENT,
        lease_until=sent_at,
        claimed_at=sent_at,
        message_id=message_id,
        sent_at=sent_at,
        lateness_seconds=0,
        chat_recipient=chat_recipient,
        expires_at=expires_at,
    ).save()


def fallback_receipt(reminder_key: str, occurrence: str) -> records.Delivery | None:
    """The fallback's own record (`record_fallback_sent`), or None (the fallback went on a channel without one)."""
    return delivery(fallback_key(reminder_key), occurrence)


def settle(reminder_key: str, occurrence: str, status: DeliveryStatus, reason: str) -> None:
    """Ends a claim that sent nothing, with why."""
    Delivery(reminder_key, occurrence).update(actions=[Delivery.status.set(status), Delivery.failure.set(reason)])


# --- the marks a send leaves on its reminder (the stored item; the record passed in is not changed) ---------


def mark_sent_if_version(reminder: records.Reminder, version: int, now: datetime) -> None:
    """`scheduled` → `sent`, only at `version`; `StaleVersion` when the reminder changed meanwhile."""
    actions, unchanged = _sent_mark(reminder, version, now)
    try:
        to_model(reminder, Reminder).update(actions=actions, condition=unchanged)
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("reminder") from e
        raise


def _sent_mark(reminder: records.Reminder, version: int, now: datetime) -> tuple[list[Action], Any]:
    actions: list[Action] = [
        *pending.status_actions(reminder, status=Status.SENT.value, reason=None),
        Reminder.sent_at.set(now),
        Reminder.updated_at.set(now),
    ]
    return actions, (Reminder.owner_version == version) & (Reminder.status == Status.SCHEDULED.value)


def set_status(reminder: records.Reminder, status: str, reason: str, now: datetime) -> None:
    to_model(reminder, Reminder).update(
        actions=[*pending.status_actions(reminder, status=status, reason=reason), Reminder.updated_at.set(now)]
    )


def defer(reminder: records.Reminder, until: datetime, reason: str, schedule_name: str, now: datetime) -> None:
    """The reminder now waits until `until` under the timer `schedule_name` (the reconciler looks for it)."""
    to_model(reminder, Reminder).update(
        actions=[
            *pending.status_actions(reminder, status=reminder.status, reason=reason, send_at=until),
            Reminder.schedule_name.set(schedule_name),
            Reminder.updated_at.set(now),
        ]
    )


# --- email addresses SES said are undeliverable, by the hash of the address ---------------------------------


def address_suppressed(address_hash: str) -> bool:
    """One strongly consistent read, so a bounce is honoured at once."""
    return EmailSuppression.count(address_hash, consistent_read=True, limit=1) > 0


def suppress_address(address_hash: str, reason: str, detail: str | None, recorded_at: datetime) -> None:
    EmailSuppression(address_hash, reason=reason, detail=detail, recorded_at=recorded_at).save()
