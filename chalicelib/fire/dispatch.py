"""Sending one reminder occurrence: re-check, claim, render, send, record.

The timer (or the API call) that asks for a send is trusted for nothing but ids: the reminder's owner is
reloaded (for an appointment: `appointment_messages`) and the message goes out only if the owner still wants
it at the version the timer was armed for, the clinic is active, and the patient has a contact for the
channel. The occurrence is claimed before the channel is called, so a second invocation for the same
occurrence sends nothing (how the claim is written: `chalicelib.store.deliveries`). A claim carries a lease: if
the function dies between claim and send, a retry after the lease sends; if it dies after SNS/SES accepted
the message but before the record is written, a retry after the lease sends again. That window is the one
place a patient can get a message twice, and it is milliseconds wide. The reminder is marked sent only at the
version the send was for, so one moved while its message was on the way still goes at its new time.

Under AWS faults (docs/reliability.md): an invocation that finds the claim held by another that has not settled it
raises `ClaimHeld`, so Scheduler retries it rather than count it done (the holder may have failed before sending
without releasing the claim: the retry after the lease sends). A send whose record DynamoDB refuses is not raised
(a retry would send it again after the lease): logged, counted (SentNotRecorded), the claim left as it is. A record
written and a reminder mark refused raises; the retry finds the delivery sent and makes the mark good.

The order is the design's: reload the reminder and its owner; re-check everything that may discard the message
(the reminder's status, the owner's version and status, the clinic, the spend cap, opt-outs, quiet hours and the
frequency caps); only then word it (`Ready.render`), so nothing is worded for a message those checks discard;
claim it and count it under the cap in one transaction (the count needs the words: an SMS is charged by its
segments); send; record the delivery sent, the reminder sent at its version and the SMS for the frequency caps in
one transaction. So a sent reminder makes four AWS calls (docs/performance.md, "Calls per sent reminder"): the
first reads (one BatchGetItem, the address's contact record included when the timer names it), the claim with
its count, the publish, the record. Where a transaction does not go through for a reason other than the claim's
condition (the month reached its cap in a race, a table unavailable), its writes are made one at a time, each
with the handling below.

Before the claim, a clinic whose estimated cost this month has reached its spend cap is skipped (`spend_cap`).
The message is counted in the clinic's monthly usage with a write that holds only while the month is under the
cap, in the claim's own transaction (`deliveries.claim_counted`), so racing sends cannot overshoot it, and goes
out through the one metered path every message takes (`chalicelib.meter.sender`, told it is counted); a send the
channel refuses is taken off the count again. A usage write DynamoDB refuses does not hold the reminder back:
the transaction then falls back to the claim alone, and the sender counts it as any other message.

Everything a send reads first is fetched in one round trip (`chalicelib.store.reads`): the reminder, the clinic,
the month's usage, the owner's reads (the appointment and patient), and the contact record of the address the
timer says the message was planned for (`DeliveryRequest.contact`: a hint; if the patient's address changed
since, the new address's record is read on its own).

Channels: a message planned for the patient's phone goes on the first of WhatsApp, Messenger and SMS in the
patient's channel order that can carry it (`chalicelib.fire.chat_route`); one planned for email by email.

Fallback: a message routed to WhatsApp or Messenger (`chalicelib.fire.chat_route`) that the channel refuses for good
at once, or that WhatsApp later reports `failed` (`fall_back`, from the WABA's status events), goes once on the
channel it was planned for (SMS; the route only takes SMS-planned messages), with the same words in the patient's
language. The fallback is claimed on the delivery with a conditional write (`deliveries.claim_fallback`), so a
duplicate or late status sends nothing more, and it is metered on the channel it went by. It respects an opt-out of
that channel but not quiet hours or the frequency caps: it is the same message, already due, that the patient has
not received. A fallback the next channel refuses (even transiently) is recorded and not retried: never two messages
on one channel for one reminder. A fallback by Messenger gets a record of its own (`deliveries.record_fallback_sent`)
so that Meta's receipts, which name the recipient and the message, find it and the reminder view shows them.

Notices (`send_notice`, `chalicelib.fire.notices`): the waiting room's texts, which have no stored reminder, are
claimed, sent, recorded and windowed here too, and fall back through the same `fall_back` (a delivery that carries
`notice` facts is worded again by its owner, `NoticeMessages.again`, which may find it stale).
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools.metrics import MetricUnit
from msgspec import Struct
from msgspec.structs import replace

from chalicelib.arm.envelope import DeliveryWindowTimerEvent, OwnerType
from chalicelib.core.clock import Clock, iso_utc, to_utc
from chalicelib.core.errors import AlreadyClaimed, ChannelError, StaleVersion
from chalicelib.core.observability import count, logger, metrics
from chalicelib.core.records import Clinic, Contact, Delivery, Reminder, Usage
from chalicelib.core.words import Channel, ClinicStatus, DeliveryStatus, Result, Status
from chalicelib.fire.preparation import NotSending, OwnerMessages, Ready
from chalicelib.meter.meter import UsageMeter
from chalicelib.meter.pricing import Charge, billing_month
from chalicelib.meter.sender import MeteredSender, Sent
from chalicelib.render.templates import Message
from chalicelib.send.email import EmailChannel
from chalicelib.send.messenger import MessengerChannel
from chalicelib.send.sms import SmsChannel
from chalicelib.send.whatsapp import WhatsAppChannel
from chalicelib.store import chat_receipts, deliveries, reads
from chalicelib.store.patients import RecentSendsWrite

if TYPE_CHECKING:
    from chalicelib.arm.timers import ReminderTimers
    from chalicelib.fire.notices import Notice, NoticeMessages

CLAIM_LEASE = timedelta(minutes=5)
DELIVERY_RETENTION = timedelta(days=400)


class Recorded(Struct, frozen=True):
    """A send whose delivery record and reminder's sent mark were written together, as they now stand: what a
    caller holding the reminder (a booking answering with its confirmation) shows without reading them back."""

    channel: str  # the channel it went on
    sent_at: datetime
    lateness_seconds: float


class Outcome(Struct, frozen=True):
    result: Result
    reason: str | None = None
    message_id: str | None = None
    recorded: Recorded | None = None  # only when the record and the mark were written together


class DeliveryRequest(Struct, frozen=True):
    clinic_id: str
    owner_id: str
    reminder_id: str
    version: int
    occurrence: datetime  # when the message was due: the idempotency key with the reminder
    patient_id: str | None = None  # when the timer names it: read in the same round trip as the reminder
    # Whose reminder the caller says it is; None (a timer armed before the envelope) leaves it to the stored one.
    owner_type: OwnerType | None = None
    dose_time: datetime | None = None  # a regimen reminder's dose: carried, never read back out of the id
    # The contact key of the address the message was planned for (`chalicelib.arm.envelope`): read with the rest.
    contact: str | None = None

    @property
    def reminder_key(self) -> str:
        return f"{self.owner_id}/{self.reminder_id}"


def delivery_callback(request: DeliveryRequest) -> str:
    """The delivery's key as one string (`{owner_id}/{reminder_id}|{occurrence}`), which WhatsApp echoes in the
    message's statuses so that a status finds its delivery."""
    return f"{request.reminder_key}|{iso_utc(request.occurrence)}"


def chat_recipient_of(prepared: Ready) -> str | None:
    """Who a Messenger message went to, as its receipts name them (`chalicelib.store.chat_receipts`); None on the
    other channels, whose receipts name the message."""
    page = prepared.clinic.messenger_page_id
    if prepared.channel is not Channel.MESSENGER or not page:
        return None
    return chat_receipts.recipient_key(page, prepared.address)


def sibling_id(reminder_id: str, channel: Channel) -> str:
    """The id the same message has when it is planned on `channel` too (`reminder-24h.sms` → `reminder-24h.email`)."""
    return f"{reminder_id.rpartition('.')[0]}.{channel.value}"


class TransientSendError(Exception):
    """The channel failed in a way a retry may fix; the claim was released so a retry can send."""


class ClaimHeld(TransientSendError):
    """Another invocation holds the occurrence's claim and has not settled it: it may be sending now, or it failed
    without releasing the claim. Raised so that Scheduler tries again: once the holder records its send, a retry
    finds it sent; if the holder died, a retry after the lease takes the claim over and sends."""


class Dispatcher:
    def __init__(
        self,
        clock: Clock,
        sms: SmsChannel,
        email: EmailChannel,
        owners: Mapping[str, OwnerMessages],
        meter: UsageMeter,
        timers: ReminderTimers | None = None,
        whatsapp: WhatsAppChannel | None = None,
        messenger: MessengerChannel | None = None,
        notices: Callable[[], NoticeMessages] | None = None,
    ) -> None:
        self._clock = clock
        # The owner of notices (the waiting room's texts: `chalicelib.fire.notices`), built when one falls back.
        self._notices = notices
        # Counts under the cap, sends, takes back.
        self._sender = MeteredSender(clock, meter, sms, email, whatsapp, messenger)
        # The chat channels this dispatcher can send on (a test's may have neither).
        self._chats = frozenset(
            channel
            for channel, adapter in ((Channel.WHATSAPP, whatsapp), (Channel.MESSENGER, messenger))
            if adapter is not None
        )
        self._owners = owners  # by Reminder.owner_type
        self._meter = meter
        self._timers = timers  # to re-arm a reminder deferred by quiet hours
        from chalicelib.fire.delivery_window import DeliveryWindow

        self._window = DeliveryWindow(timers)  # a message no channel reported delivered goes on the next one
        self._email_events = email.reports_delivery

    def deliver(self, request: DeliveryRequest) -> Outcome:
        try:
            with reads.prefetched(self._first_reads(request)):
                return _now(self._deliver(request))
        except reads.ChangedMeanwhile:
            # Checked on a booking's records in hand, which changed before the claim (`reads.in_hand`): nothing
            # was claimed; checked again on items read now (the records in hand were taken, once).
            logger.info("records in hand changed before the claim", extra={"owner_id": request.owner_id})
        with reads.prefetched(self._first_reads(request)):
            return _now(self._deliver(request))

    def deliver_all(self, requests: Sequence[DeliveryRequest]) -> list[Outcome | Exception]:
        """Several timers' sends (a batch from the fire queue), each checked, worded, sent and logged exactly as
        `deliver` does it, with what they have in common done once: the first reads of up to `BATCH` sends in one
        BatchGetItem, their claims with their counts in one transaction (`deliveries.claim_all`), their records in
        another (`deliveries.record_all`). A transaction that does not go through (a claim held elsewhere, a
        reminder moved meanwhile, the cap, a fault) is made again one send at a time, each with its own handling,
        so every outcome is the one `deliver` would have had. Sends that write an item in common (the same
        occurrence twice, one address's recent sends) go in separate rounds, and one whose timer names no contact
        goes alone, as its address is known only once it is read. Each answer is its send's outcome, or the
        exception `deliver` would have raised (`TransientSendError`, `ClaimHeld`, a fault), in the order asked."""
        answers: list[Outcome | Exception | None] = [None] * len(requests)
        for batch in _rounds(requests):
            for index, answer in zip(batch, self._deliver_round([requests[i] for i in batch]), strict=True):
                answers[index] = answer
        return [answer for answer in answers if answer is not None]

    def _deliver_round(self, requests: list[DeliveryRequest]) -> list[Outcome | Exception]:
        if len(requests) == 1:
            return [_outcome_of(self.deliver, requests[0])]
        pool = reads.pooled([key for request in requests for key in self._batch_reads(request)])
        sends = [_Send(self._pooled(request, pool)) for request in requests]
        waiting = {i: write for i, send in enumerate(sends) if (write := send.start()) is not None}
        while waiting:
            done: dict[int, object] = {}
            for kind in (deliveries.CountedClaim, deliveries.SentRecord):
                group = [i for i, write in waiting.items() if isinstance(write, kind) and write.batchable]
                if len(group) > 1 and _together([waiting[i] for i in group]):
                    done.update((i, _WRITTEN[kind]) for i in group)
            resumed = {}
            for i, write in waiting.items():
                following = sends[i].resume(done[i]) if i in done else sends[i].resume_with(write)
                if following is not None:
                    resumed[i] = following
            waiting = resumed
        return [send.answer for send in sends]

    def _pooled(self, request: DeliveryRequest, pool: reads.Pool) -> Steps[Outcome]:
        with reads.prefetched(self._batch_reads(request), pool):
            return (yield from self._deliver(request))

    def _batch_reads(self, request: DeliveryRequest) -> list[reads.Key]:
        """A batched send's first reads, and the occurrence's delivery: none yet (a first attempt) lets its claim
        create it with the others' in one transaction; one there (a retry) is claimed on its own, so that it cannot
        cancel theirs."""
        return [*self._first_reads(request), (Delivery, request.reminder_key, iso_utc(request.occurrence))]

    def _first_reads(self, request: DeliveryRequest) -> list[reads.Key]:
        """What every send reads before it knows anything else, fetched in one round trip."""
        keys: list[reads.Key] = [
            (Reminder, request.owner_id, request.reminder_id),
            (Clinic, request.clinic_id, None),
            (Usage, request.clinic_id, billing_month(self._clock.now())),
        ]
        if request.contact is not None:
            keys.append((Contact, request.clinic_id, request.contact))
        # Only the timer's own owner adds reads (an owner reads ahead only for a request that names it), so an
        # appointment's fire never builds the regimen owner.
        if request.owner_type is not None and request.owner_type in self._owners:
            keys += self._owners[request.owner_type].first_reads(request)
        return keys

    def _deliver(self, request: DeliveryRequest) -> Steps[Outcome]:
        """The send, as steps: every write it waits on that a batch makes together with others' (the claim with its
        count, the record) is yielded and answered with its result, or thrown back as the exception it raised."""
        reminder = deliveries.reminder(request.owner_id, request.reminder_id)
        if reminder is None:
            return self._log(request, Outcome(Result.STALE, "reminder_gone"))
        if reminder.status == Status.SENT:
            return self._log(request, Outcome(Result.DUPLICATE, "already_sent"))
        if reminder.status != Status.SCHEDULED:
            return self._log(request, Outcome(Result.STALE, f"reminder_{reminder.status}"))

        if request.owner_type is not None and reminder.owner_type != request.owner_type:
            # The stored reminder is trusted, the timer is not: one naming another owner is not this reminder's.
            return self._log(request, Outcome(Result.STALE, "owner_mismatch"))
        prepared = self._owners[reminder.owner_type].prepare(request, reminder)
        if isinstance(prepared, NotSending):
            if prepared.new_status is None:
                return self._log(request, Outcome(prepared.result, prepared.reason))
            return self._skip(request, reminder, prepared.reason, prepared.new_status)
        if prepared.clinic.status != ClinicStatus.ACTIVE:
            return self._skip(request, reminder, "clinic_suspended")
        if self._meter.cap_reached(prepared.clinic, self._clock.now()):
            return self._skip_over_spend_cap(request, reminder)
        planned = prepared  # the channel the message goes on if no chat channel takes it
        prepared = self._route(prepared, reminder.kind)
        from chalicelib.fire.patient_rules import check_patient_rules, note_sent, sent_note

        verdict = check_patient_rules(prepared, reminder, self._clock.now())
        if verdict.skip_reason == f"opted_out_{prepared.channel.value}":
            moved = self._next_slot(request, reminder, prepared)
            if moved is not None:
                planned, prepared = moved, self._route(moved, reminder.kind)
                verdict = check_patient_rules(prepared, reminder, self._clock.now())
        if verdict.defer_until is not None:
            if self._timers is None:  # nothing to re-arm with: never send in quiet hours
                return self._skip(request, reminder, "quiet_hours")
            return self._defer(request, reminder, verdict.defer_until)
        if verdict.skip_reason is not None:
            return self._skip(request, reminder, verdict.skip_reason)

        message = prepared.render()  # a failure raises before anything is claimed: the retry words it again
        claimed, counted, created = yield from self._claim(request, prepared, message)
        if not claimed:
            return self._claimed_elsewhere(request, reminder)
        try:
            sent = self._sender.send(
                prepared.clinic,
                prepared.channel,
                prepared.address,
                message,
                callback=delivery_callback(request),
                counted=counted,
            )
        except ChannelError as e:
            following = self._next_channel(request, reminder, planned, prepared.channel) if e.permanent else None
            if following is not None:
                return self._refused_then_fall_back(request, reminder, following, f"{prepared.channel.value}_{e.code}")
            return self._fail(request, reminder, e, prepared.channel)
        if sent is None:  # the month reached its cap since the check above (the sender counted the metric)
            self._settle_claim(request, DeliveryStatus.SKIPPED, "spend_cap")
            self._meter.record_cap_skip(request.clinic_id, self._clock.now())
            return self._skip(request, reminder, "spend_cap")
        recorded = yield from self._record_sent(
            request,
            reminder,
            sent.message_id,
            sent.charge,
            lambda at: note_sent(prepared, verdict, at),
            sent_note(prepared, verdict, self._clock.now()),
            chat_recipient_of(prepared),
            created,
        )
        if recorded.result is Result.SENT:
            self._arm_window(request, reminder, prepared)
        return recorded

    def _arm_window(self, request: DeliveryRequest, reminder: Reminder, prepared: Ready) -> None:
        """On a channel that reports delivery, the clinic's delivery window starts (`fire.delivery_window`)."""
        owner_type = OwnerType(reminder.owner_type)
        self._start_window(prepared, owner_type, request.owner_id, request.reminder_id, request.occurrence)

    def _start_window(
        self, prepared: Ready, owner_type: OwnerType, owner_id: str, reminder_id: str, occurrence: datetime
    ) -> None:
        from chalicelib.clinics.policy import clinic_policy
        from chalicelib.fire.delivery_window import reports_delivery

        if not reports_delivery(prepared.channel, self._email_events):
            return
        ends_at = self._clock.now() + timedelta(minutes=clinic_policy(prepared.clinic).delivery_window_minutes)
        self._window.arm(prepared.clinic.clinic_id, owner_type, owner_id, reminder_id, occurrence, ends_at)

    def send_notice(self, notice: Notice) -> Channel | None:
        """Sends a notice (`chalicelib.fire.notices`) once, on its first channel or the first of the patient's order
        that carries it; a channel's refusal sends it once on the next. The channel it went by, or None. Its
        delivery is claimed first (the same notice again sends nothing), then recorded like a reminder's, with the
        delivery window armed on a channel that reports delivery, so a later failure or silence falls back once."""
        from chalicelib.patients.contacts import is_opted_out

        prepared = notice.first or self._route(notice.planned, notice.kind)
        extra = {"clinic_id": notice.clinic_id, "owner_id": notice.owner_id, "notice": notice.notice_id}
        if prepared.channel is Channel.SMS and not prepared.address:
            logger.info("notice not sent", extra={**extra, "reason": "no_phone"})
            return None
        if prepared.channel is Channel.SMS and is_opted_out(notice.clinic_id, Channel.SMS, prepared.address):
            logger.info("notice not sent", extra={**extra, "reason": "opted_out_sms"})
            return None
        key, occurrence, now = notice.key, iso_utc(notice.occurrence), self._clock.now()
        message = prepared.render()
        facts = json.dumps({**notice.facts, "kind": notice.kind}, separators=(",", ":"))
        try:
            deliveries.claim_notice(
                key,
                occurrence,
                clinic_id=notice.clinic_id,
                channel=prepared.channel.value,
                notice=facts,
                now=now,
                expires_at=now + DELIVERY_RETENTION,
            )
        except AlreadyClaimed:
            logger.info("notice not sent", extra={**extra, "reason": "claimed_elsewhere"})
            return None
        callback = f"{key}|{occurrence}"
        try:
            sent = self._sender.send(prepared.clinic, prepared.channel, prepared.address, message, callback=callback)
        except ChannelError as e:
            # Nothing retries a notice: a transient refusal is the last word on this channel too.
            reason = f"{prepared.channel.value}_{e.code}"
            deliveries.record_failed(key, occurrence, reason)
            count("NoticesFailed", channel=prepared.channel.value)
            following = self._next_for_notice(notice.planned, notice.kind, prepared.channel)
            fallback = None if following is None else self._send_fallback(key, occurrence, following, reason, False)
            went = following.channel if following is not None and isinstance(fallback, Sent) else None
            logger.info("notice refused", extra={**extra, "reason": reason, "fallback": went})
            return went
        if sent is None:  # the spend cap: this notice is lost rather than sent late
            self._settle_notice(key, occurrence, "spend_cap")
            logger.info("notice not sent", extra={**extra, "reason": "spend_cap"})
            return None
        segments = sent.charge.sms_segments if sent.charge.channel is Channel.SMS else None
        try:
            deliveries.record_sent(
                key,
                occurrence,
                message_id=sent.message_id,
                sent_at=self._clock.now(),
                lateness_seconds=0.0,
                sms_segments=segments,
                chat_recipient=chat_recipient_of(prepared),
            )
        except Exception:  # sent: a retry would send it again, so the gap is logged and counted instead
            logger.exception("sent but not recorded", extra=extra)
            count("SentNotRecorded", channel=prepared.channel.value)
            return prepared.channel
        logger.info("notice sent", extra={**extra, "channel": prepared.channel.value})
        self._start_window(prepared, OwnerType.APPOINTMENT, notice.owner_id, notice.notice_id, notice.occurrence)
        return prepared.channel

    def _settle_notice(self, key: str, occurrence: str, reason: str) -> None:
        try:
            deliveries.settle(key, occurrence, DeliveryStatus.SKIPPED, reason)
        except Exception:  # the claim stays: nothing retries a notice, so it sends nothing either way
            logger.exception("notice claim not settled", extra={"reason": reason})

    def _next_for_notice(self, planned: Ready, kind: str, failed: Channel) -> Ready | None:
        """A notice's next channel after `failed`: the first of the patient's order that carries it with `failed`
        taken out, SMS last; none after SMS (a notice never goes by email)."""
        if failed is Channel.SMS:
            return None
        from chalicelib.fire.chat_route import route

        following = route(planned, kind, self._clock.now(), self._chats - {failed})
        return following if following.channel is not failed and following.address else None

    def _fall_back_notice(self, delivery: Delivery, reason: str) -> bool:
        """`fall_back` for a notice: its owner words it again if it is still worth sending (`NoticeMessages`)."""
        facts = json.loads(delivery.notice or "{}")
        owner_id = delivery.reminder_key.rpartition("/")[0]
        owner = None if self._notices is None else self._notices()
        planned = None if owner is None else owner.again(delivery.clinic_id, owner_id, delivery.occurrence, facts)
        if planned is None or isinstance(planned, NotSending) or planned.clinic.status != ClinicStatus.ACTIVE:
            why = planned.reason if isinstance(planned, NotSending) else "clinic_suspended"
            logger.info("no fallback", extra={"owner_id": owner_id, "reason": why})
            return False
        following = self._next_for_notice(planned, str(facts.get("kind")), Channel(delivery.channel))
        if following is None:
            logger.info("no fallback", extra={"owner_id": owner_id, "reason": "no_next_channel"})
            return False
        sent = self._send_fallback(delivery.reminder_key, delivery.occurrence, following, reason, False)
        logger.info("fallback", extra={"owner_id": owner_id, "reason": reason, "sent": not isinstance(sent, str)})
        return not isinstance(sent, str)

    def window_ended(self, event: DeliveryWindowTimerEvent) -> dict[str, object]:
        """A delivery window's timer fired: the message on the next channel if nothing reported it delivered."""
        from chalicelib.fire.delivery_window import window_ended

        return window_ended(event, self.fall_back)

    def _route(self, planned: Ready, kind: str) -> Ready:
        """A message planned for the phone goes on the first of WhatsApp, Messenger and SMS in the patient's channel
        order that can carry it (`chalicelib.fire.chat_route`)."""
        if not self._chats:
            return planned
        from chalicelib.fire.chat_route import route

        return route(planned, kind, self._clock.now(), self._chats)

    def _next_slot(self, request: DeliveryRequest, reminder: Reminder, planned: Ready) -> Ready | None:
        """The patient opted out of the channel an appointment's message was planned for (and no chat channel took
        it): the next channel of their order they can receive it on, the phone's for an email and the email for
        the phone (`chalicelib.fire.channel_order`), unless the same message is planned there too (a rule's
        `both`: never two channels for one message but by `both`). None: it stays as planned, and is skipped."""
        if reminder.owner_type != OwnerType.APPOINTMENT:
            return None  # a dose reminder is planned for SMS only
        from chalicelib.fire.channel_order import can_receive, channel_order
        from chalicelib.plan.channel_order import slot_of

        now = self._clock.now()
        for channel in channel_order(planned.clinic, planned.patient):
            slot = slot_of(channel)
            if slot is planned.channel or not can_receive(planned.clinic, planned.patient, channel, now):
                continue
            if deliveries.reminder(request.owner_id, sibling_id(reminder.reminder_id, slot)) is not None:
                return None  # the same message has its own reminder there
            other = self._owners[reminder.owner_type].prepare(request, replace(reminder, channel=slot.value))
            return other if isinstance(other, Ready) else None
        return None

    def _next_channel(
        self, request: DeliveryRequest, reminder: Reminder, planned: Ready, failed: Channel
    ) -> Ready | None:
        """The channel after `failed` in the patient's order that can carry the same message, as it goes there; None
        when there is none. A chat channel carries it only with a template or in the window (`chat_route`); the
        other planned channel (email for a phone message, the phone for an email) only for an appointment's message
        that is not planned there too (a rule's `both`: never two channels for one message but by `both`)."""
        from chalicelib.fire.channel_order import can_receive
        from chalicelib.fire.chat_route import on_chat, order_of
        from chalicelib.plan.channel_order import slot_of

        order = order_of(planned)  # a caregiver's alert walks the clinic's order, not the patient's
        later = order[order.index(failed) + 1 :] if failed in order else order
        now = self._clock.now()
        for channel in later:
            if channel is failed:
                continue
            slot = slot_of(channel)
            base: Ready | None = planned if slot is planned.channel else None
            if base is None:
                if reminder.owner_type != OwnerType.APPOINTMENT or not can_receive(
                    planned.clinic, planned.patient, slot, now
                ):
                    continue
                if deliveries.reminder(request.owner_id, sibling_id(reminder.reminder_id, slot)) is not None:
                    continue  # the same message has its own reminder there
                other = self._owners[reminder.owner_type].prepare(request, replace(reminder, channel=slot.value))
                base = other if isinstance(other, Ready) else None
            if base is None:
                continue
            if channel is slot:
                return base
            if channel in self._chats:
                routed = on_chat(channel, base, reminder.kind, now)
                if routed is not None:
                    return routed
        return None

    def _claimed_elsewhere(self, request: DeliveryRequest, reminder: Reminder) -> Outcome:
        """The claim failed: the occurrence was sent (the reminder's mark is made good if a fault kept it from
        being made), settled without a send, or is held by another invocation (`ClaimHeld`, so Scheduler retries)."""
        delivery = deliveries.delivery(request.reminder_key, iso_utc(request.occurrence))
        if delivery is not None and delivery.status == DeliveryStatus.SENT:
            self._mark_reminder_sent(request, reminder, delivery.sent_at or self._clock.now())
            return self._log(request, Outcome(Result.DUPLICATE, "already_sent"))
        if delivery is not None and delivery.status in (DeliveryStatus.CLAIMED, DeliveryStatus.RETRYING):
            self._log(request, Outcome(Result.DUPLICATE, "claim_held"))
            raise ClaimHeld(request.reminder_key)
        return self._log(request, Outcome(Result.DUPLICATE, "claimed_elsewhere"))

    def _refused_then_fall_back(
        self, request: DeliveryRequest, reminder: Reminder, planned: Ready, reason: str
    ) -> Outcome:
        """The channel refused the message for good at once: the delivery records the refusal, and the message goes
        on the next channel (`planned`) now; the reminder is sent if that channel took it, failed otherwise."""
        deliveries.record_failed(request.reminder_key, iso_utc(request.occurrence), reason)
        sent = self._send_fallback(request.reminder_key, iso_utc(request.occurrence), planned, reason)
        if isinstance(sent, str):
            self._set_status(reminder, Status.FAILED, reason)
            count("RemindersFailed", channel=reminder.channel)
            return self._log(request, Outcome(Result.FAILED, reason), fallback=sent)
        self._mark_reminder_sent(request, reminder, self._clock.now())
        count("RemindersSent", channel=reminder.channel)
        return self._log(request, Outcome(Result.SENT, reason, sent.message_id), fallback=planned.channel.value)

    def fall_back(self, reminder_key: str, occurrence: str, reason: str) -> bool:
        """A channel reported a sent message failed (`reason`: whatsapp_131026, email_bounce_general): the same
        message goes once on the next channel of the patient's order (`_next_channel`). False when nothing went
        (already fallen back, the reminder or its owner changed, no next channel, or that channel refused)."""
        if deliveries.is_fallback_key(reminder_key):
            # A fallback's own record (its channel reported it failed): one fallback a message, no third channel.
            logger.info("no fallback", extra={"reason": "fallback_failed"})
            return False
        delivery = deliveries.delivery(reminder_key, occurrence)
        if delivery is not None and delivery.notice is not None:
            return self._fall_back_notice(delivery, reason)
        owner_id, _, reminder_id = reminder_key.rpartition("/")
        reminder = deliveries.reminder(owner_id, reminder_id)
        if delivery is None or reminder is None:
            return False
        request = DeliveryRequest(
            delivery.clinic_id,
            owner_id,
            reminder_id,
            int(reminder.owner_version),
            to_utc(datetime.fromisoformat(occurrence)),
            reminder.patient_id,
            OwnerType(reminder.owner_type),
        )
        planned = self._owners[reminder.owner_type].prepare(request, reminder)
        if isinstance(planned, NotSending) or planned.clinic.status != ClinicStatus.ACTIVE:
            # The appointment moved or was cancelled since (its new messages stand for it), or the clinic stopped.
            why = planned.reason if isinstance(planned, NotSending) else "clinic_suspended"
            logger.info("no fallback", extra={"owner_id": owner_id, "reason": why})
            return False
        following = self._next_channel(request, reminder, planned, Channel(delivery.channel))
        if following is None:
            logger.info("no fallback", extra={"owner_id": owner_id, "reason": "no_next_channel"})
            return False
        sent = self._send_fallback(reminder_key, occurrence, following, reason)
        logger.info("fallback", extra={"owner_id": owner_id, "reason": reason, "sent": not isinstance(sent, str)})
        return not isinstance(sent, str)

    def _send_fallback(
        self, reminder_key: str, occurrence: str, planned: Ready, reason: str, for_caps: bool = True
    ) -> Sent | str:
        """Claims the delivery's one fallback and sends `planned` on its channel; what was sent, or why not. A
        fallback on a channel that reports receipts (WhatsApp, Messenger; email with a configuration set) gets a
        record of its own (`deliveries.record_fallback_sent`), and on WhatsApp and email goes with that record's
        key as its callback, so that the channel's receipts find it as they find a first send's. `for_caps`: an
        SMS fallback counts towards the frequency caps (not a notice's: the waiting room's texts never did)."""
        from chalicelib.fire.delivery_window import reports_delivery
        from chalicelib.patients.contacts import find_contact, opted_out, record_sms_sent

        channel = planned.channel
        if not deliveries.claim_fallback(reminder_key, occurrence, channel=channel.value, reason=reason):
            return "fallback_claimed_elsewhere"
        contact = find_contact(planned.clinic.clinic_id, channel, planned.address)
        why: str | None = f"opted_out_{channel.value}" if opted_out(contact) else None
        sent: Sent | None = None
        reported = reports_delivery(channel, self._email_events)
        callback = deliveries.fallback_callback(reminder_key, occurrence) if reported else None
        if why is None:
            try:
                sent = self._sender.send(planned.clinic, channel, planned.address, planned.render(), callback=callback)
            except ChannelError as e:
                why = f"{channel.value}_{e.code}"
            else:
                why = "spend_cap" if sent is None else None
        if sent is None:
            status = "skipped" if why in (f"opted_out_{channel.value}", "spend_cap") else "failed"
            deliveries.record_fallback(reminder_key, occurrence, status, failure=why)
            count("FallbacksNotSent", channel=channel.value)
            return why or "not_sent"
        now = self._clock.now()
        deliveries.record_fallback(reminder_key, occurrence, "sent", message_id=sent.message_id, at=now)
        if reported:
            self._record_fallback_receipts(reminder_key, occurrence, planned, sent, chat_recipient_of(planned), now)
        if channel is Channel.SMS and for_caps:
            record_sms_sent(planned.clinic.clinic_id, planned.address, contact, now)  # it counts towards the caps
        count("FallbacksSent", channel=channel.value)
        return sent

    def _record_fallback_receipts(
        self, reminder_key: str, occurrence: str, planned: Ready, sent: Sent, recipient: str | None, now: datetime
    ) -> None:
        try:
            deliveries.record_fallback_sent(
                reminder_key,
                occurrence,
                clinic_id=planned.clinic.clinic_id,
                channel=planned.channel.value,
                message_id=sent.message_id,
                sent_at=now,
                chat_recipient=recipient,
                expires_at=now + DELIVERY_RETENTION,
            )
        except Exception:  # the fallback went: only its receipts will not be followed
            logger.exception("fallback receipts not followed", extra={"channel": planned.channel.value})

    def _defer(self, request: DeliveryRequest, reminder: Reminder, until: datetime) -> Outcome:
        """A late timer that woke in quiet hours: the reminder waits for their end under a timer of its own."""
        from chalicelib.arm.timers import Timer

        assert self._timers is not None
        timer = Timer(
            request.clinic_id,
            request.owner_id,
            request.reminder_id,
            request.version,
            until,
            ".quiet",
            request.patient_id,
            owner_type=OwnerType(reminder.owner_type),
            dose_time=request.dose_time,
            contact=request.contact if request.contact is not None else reminder.contact,
        )
        # The reconciler looks for the timer's name: the original schedule deleted itself when it fired.
        deliveries.defer(reminder, until, "deferred_quiet_hours", timer.name, self._clock.now())
        self._timers.arm(timer)
        count("RemindersDeferred", channel=reminder.channel)
        return self._log(request, Outcome(Result.DEFERRED, "quiet_hours"), until=iso_utc(until))

    def _claim(
        self, request: DeliveryRequest, prepared: Ready, message: Message
    ) -> Steps[tuple[bool, datetime | None, deliveries.CountedClaim | None]]:
        """Claims the occurrence and counts the message under the cap in one transaction; (False, None) when it is
        claimed elsewhere. (True, the instant counted at) when both were written; (True, None) when only the claim
        was (the transaction did not go through, say the cap was reached in a race or the usage table is down:
        the claim was made on its own, and the sender counts the message as any other, with its own handling)."""
        now = self._clock.now()
        key, occurrence = request.reminder_key, iso_utc(request.occurrence)
        channel = prepared.channel.value
        lease, expires = now + CLAIM_LEASE, now + DELIVERY_RETENTION
        charge = self._sender.charge(prepared.channel, prepared.address, message)
        reservation = self._meter.reservation(prepared.clinic, now, charge)
        try:
            if reservation is not None:
                new = deliveries.unclaimed(key, occurrence)
                claim = deliveries.CountedClaim(
                    key, occurrence, reservation, request.clinic_id, channel, now, lease, expires, new=new
                )
                if (yield claim):
                    return True, now, claim if new else None
            deliveries.claim(
                key,
                occurrence,
                clinic_id=request.clinic_id,
                channel=channel,
                now=now,
                lease_until=lease,
                expires_at=expires,
            )
        except AlreadyClaimed:
            return False, None, None
        return True, None, None

    def _record_sent(
        self,
        request: DeliveryRequest,
        reminder: Reminder,
        message_id: str,
        charge: Charge,
        note: Callable[[datetime], None],
        note_write: RecentSendsWrite | None,
        chat_recipient: str | None = None,
        created: deliveries.CountedClaim | None = None,
    ) -> Steps[Outcome]:
        """The delivery sent, the reminder sent at its version and the SMS noted for the caps (`note`, or as
        `note_write` in the same transaction), in one transaction; one at a time when it does not go through."""
        now = self._clock.now()
        lateness = max(0.0, (now - to_utc(request.occurrence)).total_seconds())
        segments = charge.sms_segments if charge.channel is Channel.SMS else None
        mark = True
        try:
            yield deliveries.SentRecord(
                request.reminder_key,
                iso_utc(request.occurrence),
                reminder,
                request.version,
                note_write,
                message_id=message_id,
                sent_at=now,
                lateness_seconds=lateness,
                sms_segments=segments,
                chat_recipient=chat_recipient,
                claim=created,
            )
        except StaleVersion:
            logger.info("reminder changed while sending", extra={"owner_id": request.owner_id})
            mark = False  # the rest is recorded one at a time, without the mark
        except Exception:
            # Refused whole (a table unavailable, a conflict with a STOP landing on the contact): one at a time below.
            logger.warning("send recorded one write at a time", extra={"owner_id": request.owner_id})
        else:
            return replace(
                self._sent(request, reminder, message_id, lateness),
                recorded=Recorded(charge.channel.value, now, lateness),
            )
        recorded = self._record_one_by_one(request, reminder, message_id, segments, now, lateness, mark, chat_recipient)
        try:
            note(now)
        except Exception:  # the caps' bookkeeping: a retry for it would find the message sent, so none is asked
            logger.exception("send not noted for the caps", extra={"owner_id": request.owner_id})
        return recorded

    def _record_one_by_one(
        self,
        request: DeliveryRequest,
        reminder: Reminder,
        message_id: str,
        segments: int | None,
        now: datetime,
        lateness: float,
        mark: bool,
        chat_recipient: str | None,
    ) -> Outcome:
        try:
            deliveries.record_sent(
                request.reminder_key,
                iso_utc(request.occurrence),
                message_id=message_id,
                sent_at=now,
                lateness_seconds=lateness,
                sms_segments=segments,
                chat_recipient=chat_recipient,
            )
        except Exception:
            # The channel took the message but DynamoDB refused its record (past botocore's retries). Raising would
            # have Scheduler retry, and a retry after the claim's lease would send it a second time: the claim stays
            # as it is, and the gap is logged and counted instead (docs/reliability.md).
            logger.exception("sent but not recorded", extra={"owner_id": request.owner_id})
            count("SentNotRecorded", channel=reminder.channel)
            try:
                self._mark_reminder_sent(request, reminder, now)  # so that the clinic sees it sent
            except Exception:
                logger.exception("sent reminder not marked", extra={"owner_id": request.owner_id})
            return self._log(request, Outcome(Result.SENT, "not_recorded", message_id))
        # A refusal from here on raises: the retry finds the delivery sent and makes the reminder's mark good.
        if mark:
            self._mark_reminder_sent(request, reminder, now)
        return self._sent(request, reminder, message_id, lateness)

    def _sent(self, request: DeliveryRequest, reminder: Reminder, message_id: str, lateness: float) -> Outcome:
        count("RemindersSent", channel=reminder.channel)
        metrics.add_metric(name="ReminderLatenessSeconds", unit=MetricUnit.Seconds, value=lateness)
        return self._log(request, Outcome(Result.SENT, None, message_id), lateness_seconds=round(lateness, 3))

    def _mark_reminder_sent(self, request: DeliveryRequest, reminder: Reminder, now: datetime) -> None:
        """Only the plan that was sent is marked sent: if the appointment was moved while the message was on its
        way, the reminder now stands for the new time (a newer version) and must still go out then."""
        try:
            deliveries.mark_sent_if_version(reminder, request.version, now)
        except StaleVersion:
            logger.info("reminder changed while sending", extra={"owner_id": request.owner_id})

    def _fail(self, request: DeliveryRequest, reminder: Reminder, error: ChannelError, channel: Channel) -> Outcome:
        now = self._clock.now()
        occurrence = iso_utc(request.occurrence)
        reason = f"{channel.value}_{error.code}"  # the channel it went on: WhatsApp for an SMS reminder sent there
        if not error.permanent:
            # Release the claim at once so the retry that follows this error may send.
            deliveries.release_for_retry(request.reminder_key, occurrence, now)
            self._log(request, Outcome(Result.FAILED, reason), transient=True)
            count("RemindersRetried", channel=reminder.channel)
            raise TransientSendError(reason) from error
        deliveries.record_failed(request.reminder_key, occurrence, reason)
        self._set_status(reminder, Status.FAILED, reason)
        count("RemindersFailed", channel=reminder.channel)
        return self._log(request, Outcome(Result.FAILED, reason))

    def _skip(
        self, request: DeliveryRequest, reminder: Reminder, reason: str, status: Status = Status.SKIPPED
    ) -> Outcome:
        self._set_status(reminder, status, reason)
        count("RemindersSkipped", channel=reminder.channel)
        return self._log(request, Outcome(Result.SKIPPED, reason))

    def _settle_claim(self, request: DeliveryRequest, status: DeliveryStatus, reason: str) -> None:
        """Ends a claim that sent nothing, so the record says why rather than waiting out its lease."""
        deliveries.settle(request.reminder_key, iso_utc(request.occurrence), status, reason)

    def _skip_over_spend_cap(self, request: DeliveryRequest, reminder: Reminder) -> Outcome:
        count("SpendCapReached", channel=reminder.channel)
        self._meter.record_cap_skip(request.clinic_id, self._clock.now())
        return self._skip(request, reminder, "spend_cap")

    def _set_status(self, reminder: Reminder, status: Status, reason: str) -> None:
        deliveries.set_status(reminder, status.value, reason, self._clock.now())

    def _log(self, request: DeliveryRequest, outcome: Outcome, **extra: object) -> Outcome:
        logger.info(
            "reminder delivery",
            extra={
                "clinic_id": request.clinic_id,
                "owner_id": request.owner_id,
                "reminder_id": request.reminder_id,
                "occurrence": iso_utc(request.occurrence),
                "result": outcome.result,
                "reason": outcome.reason,
                **extra,
            },
        )
        return outcome


# --- a send as steps (`Dispatcher._deliver`), run at once (`_now`) or with other sends' (`deliver_all`) -----------

BATCH = 10  # sends a round takes: the fire queue's batch size (infra/aws), 10 claims and 30 records a transaction
_T = TypeVar("_T")
Write = deliveries.CountedClaim | deliveries.SentRecord
Steps = Generator[Write, object, _T]
_WRITTEN: dict[type, object] = {deliveries.CountedClaim: True, deliveries.SentRecord: None}  # what each returns


def _write(write: Write) -> object:
    """One send's write on its own: what `claim_all` and `record_all` make for several."""
    if isinstance(write, deliveries.CountedClaim):
        return deliveries.claim_counted(write)
    deliveries.record_sent_together(write)
    return None


def _together(writes: list[Write]) -> bool:
    """Several sends' writes of one kind in one transaction: True when all were made, False when none was."""
    claims = [write for write in writes if isinstance(write, deliveries.CountedClaim)]
    if claims:
        return deliveries.claim_all(claims)
    return deliveries.record_all([write for write in writes if isinstance(write, deliveries.SentRecord)])


def _now(steps: Steps[_T]) -> _T:
    """A send's steps with each write made when it is asked for."""
    try:
        write = next(steps)
        while True:
            try:
                written = _write(write)
            except Exception as e:  # thrown back where the send made the write, as if it had
                write = steps.throw(e)
            else:
                write = steps.send(written)
    except StopIteration as stop:
        return cast(_T, stop.value)


def _outcome_of(deliver: Callable[[DeliveryRequest], Outcome], request: DeliveryRequest) -> Outcome | Exception:
    try:
        return deliver(request)
    except Exception as e:  # the batch's caller answers it for this send alone
        return e


class _Send:
    """One send of a round, its steps run in a context of its own: each holds its own prefetched items (context
    variables, `chalicelib.store.reads`), which would otherwise be one send's on another's turn."""

    def __init__(self, steps: Steps[Outcome]) -> None:
        self._steps = steps
        self._context = contextvars.copy_context()
        self.answer: Outcome | Exception = RuntimeError("send not run")

    def start(self) -> Write | None:
        return self._step(self._steps.send, None)

    def resume(self, written: object) -> Write | None:
        return self._step(self._steps.send, written)

    def resume_with(self, write: Write) -> Write | None:
        """Makes `write` on its own and goes on with its result, or with the exception it raised."""
        try:
            written = self._context.run(_write, write)
        except Exception as e:  # thrown back where the send made the write
            return self._step(self._steps.throw, e)
        return self._step(self._steps.send, written)

    def _step(self, step: Callable[[Any], Write], value: Any) -> Write | None:
        try:
            return self._context.run(step, value)
        except StopIteration as stop:
            self.answer = stop.value
        except Exception as e:  # the send's own exception, as `deliver` would have raised it
            self.answer = e
        return None


def _rounds(requests: Sequence[DeliveryRequest]) -> list[list[int]]:
    """The requests' indexes in rounds of at most `BATCH` whose sends write no item in common: the occurrence's
    delivery, the reminder, the planned address's contact (its recent sends). One whose timer names no contact
    goes alone."""
    rounds: list[tuple[set[tuple[str, ...]], list[int]]] = []
    alone: list[list[int]] = []
    for index, request in enumerate(requests):
        if request.contact is None:
            alone.append([index])
            continue
        touched = {
            ("reminder", request.reminder_key),
            ("contact", request.clinic_id, request.contact),
        }
        for taken, members in rounds:
            if len(members) < BATCH and not taken & touched:
                members.append(index)
                taken |= touched
                break
        else:
            rounds.append((touched, [index]))
    return [members for _, members in rounds] + alone
