"""Sending one reminder occurrence: re-check, claim, render, send, record.

The timer (or the API call) that asks for a send is trusted for nothing but ids: the reminder's owner is
reloaded (for an appointment: `appointment_messages`) and the message goes out only if the owner still wants
it at the version the timer was armed for, the clinic is active, and the patient has a contact for the
channel. A conditional write claims the occurrence before the
channel is called, so a second invocation for the same occurrence sends nothing. A claim carries a lease: if
the function dies between claim and send, a retry after the lease sends; if it dies after SNS/SES accepted
the message but before the record is written, a retry after the lease sends again. That window is the one
place a patient can get a message twice, and it is milliseconds wide.

Before the claim, a clinic whose estimated cost this month has reached its spend cap is skipped (`spend_cap`).
After the claim, the message is counted in the clinic's monthly usage (`chalicelib.usage.meter`) with a write
that holds only while the month is under the cap, so racing sends cannot overshoot it; a send the channel
refuses is taken off the count again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.channels.email import EmailChannel
from chalicelib.channels.sms import SmsChannel
from chalicelib.clock import Clock, iso_utc, to_utc
from chalicelib.delivery.preparation import NotSending, OwnerMessages
from chalicelib.errors import ChannelError
from chalicelib.messages.templates import Message
from chalicelib.observability import count, logger, metrics
from chalicelib.planning.appointment_reminders import Channel, Status
from chalicelib.store import reads
from chalicelib.store.models import Clinic, Delivery, Reminder, Usage
from chalicelib.usage.meter import UsageMeter
from chalicelib.usage.pricing import Charge, billing_month

if TYPE_CHECKING:
    from chalicelib.scheduling.timers import ReminderTimers

CLAIM_LEASE = timedelta(minutes=5)
DELIVERY_RETENTION = timedelta(days=400)


@dataclass(frozen=True)
class Outcome:
    result: str  # sent | skipped | failed | duplicate | stale | deferred
    reason: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class DeliveryRequest:
    clinic_id: str
    owner_id: str
    reminder_id: str
    version: int
    occurrence: datetime  # when the message was due: the idempotency key with the reminder
    patient_id: str | None = None  # when the timer names it: read in the same round trip as the reminder

    @property
    def reminder_key(self) -> str:
        return f"{self.owner_id}/{self.reminder_id}"


class TransientSendError(Exception):
    """The channel failed in a way a retry may fix; the claim was released so a retry can send."""


class Dispatcher:
    def __init__(
        self,
        clock: Clock,
        sms: SmsChannel,
        email: EmailChannel,
        owners: Mapping[str, OwnerMessages],
        meter: UsageMeter,
        timers: ReminderTimers | None = None,
    ) -> None:
        self._clock = clock
        self._sms = sms
        self._email = email
        self._owners = owners  # by Reminder.owner_type
        self._meter = meter
        self._timers = timers  # to re-arm a reminder deferred by quiet hours

    def deliver(self, request: DeliveryRequest) -> Outcome:
        with reads.prefetched(self._first_reads(request)):
            return self._deliver(request)

    def _first_reads(self, request: DeliveryRequest) -> list[reads.Key]:
        """What every send reads before it knows anything else, fetched in one round trip."""
        keys: list[reads.Key] = [
            (Reminder, request.owner_id, request.reminder_id),
            (Clinic, request.clinic_id, None),
            (Usage, request.clinic_id, billing_month(self._clock.now())),
        ]
        for owner in self._owners.values():
            keys += owner.first_reads(request)
        return keys

    def _deliver(self, request: DeliveryRequest) -> Outcome:
        try:
            reminder = reads.get(Reminder, request.owner_id, request.reminder_id)
        except DoesNotExist:
            return self._log(request, Outcome("stale", "reminder_gone"))
        if reminder.status == Status.SENT:
            return self._log(request, Outcome("duplicate", "already_sent"))
        if reminder.status != Status.SCHEDULED:
            return self._log(request, Outcome("stale", f"reminder_{reminder.status}"))

        prepared = self._owners[reminder.owner_type].prepare(request, reminder)
        if isinstance(prepared, NotSending):
            if prepared.new_status is None:
                return self._log(request, Outcome(prepared.result, prepared.reason))
            return self._skip(request, reminder, prepared.reason, prepared.new_status)
        if prepared.clinic.status != "active":
            return self._skip(request, reminder, "clinic_suspended")
        if self._meter.cap_reached(prepared.clinic, self._clock.now()):
            return self._skip_over_spend_cap(request, reminder)
        from chalicelib.delivery.patient_rules import check_patient_rules, note_sent

        verdict = check_patient_rules(prepared, reminder, self._clock.now())
        if verdict.defer_until is not None:
            if self._timers is None:  # nothing to re-arm with: never send in quiet hours
                return self._skip(request, reminder, "quiet_hours")
            return self._defer(request, reminder, verdict.defer_until)
        if verdict.skip_reason is not None:
            return self._skip(request, reminder, verdict.skip_reason)

        if not self._claim(request, prepared.channel):
            return self._log(request, Outcome("duplicate", "claimed_elsewhere"))
        text = self._text_as_sent(prepared.channel, prepared.message)
        charge = self._meter.charge(prepared.channel, prepared.address, text)
        counted_at = self._clock.now()
        if not self._count(request, prepared.clinic, counted_at, charge):
            self._settle_claim(request, "skipped", "spend_cap")
            return self._skip_over_spend_cap(request, reminder)
        try:
            message_id = self._send(prepared.channel, prepared.address, prepared.message, text)
        except ChannelError as e:
            self._uncount(request, counted_at, charge)
            return self._fail(request, reminder, e)
        note_sent(prepared, verdict, self._clock.now())
        return self._record_sent(request, reminder, message_id, charge)

    @staticmethod
    def _text_as_sent(channel: Channel, message: Message) -> str:
        """The text the channel gets, which is what the clinic is charged for."""
        if channel is Channel.SMS:
            from chalicelib.messages.gsm7 import sanitise

            return sanitise(message.body)  # never UCS-2 by accident: a curly quote would halve the segment
        return message.body

    def _send(self, channel: Channel, address: str, message: Message, text: str) -> str:
        """Sends and returns the channel's message id."""
        if channel is Channel.SMS:
            return self._sms.send(address, text)
        return self._email.send_message(address, message)

    def _defer(self, request: DeliveryRequest, reminder: Reminder, until: datetime) -> Outcome:
        """A late timer that woke in quiet hours: the reminder waits for their end under a timer of its own."""
        from chalicelib.scheduling.timers import Timer

        assert self._timers is not None
        timer = Timer(
            request.clinic_id,
            request.owner_id,
            request.reminder_id,
            request.version,
            until,
            ".quiet",
            request.patient_id,
        )
        reminder.update(
            actions=[
                Reminder.send_at.set(until),
                Reminder.reason.set("deferred_quiet_hours"),
                # The reconciler looks for this name: the original schedule deleted itself when it fired.
                Reminder.schedule_name.set(timer.name),
                Reminder.updated_at.set(self._clock.now()),
            ]
        )
        self._timers.arm(timer)
        count("RemindersDeferred", channel=reminder.channel)
        return self._log(request, Outcome("deferred", "quiet_hours"), until=iso_utc(until))

    def _claim(self, request: DeliveryRequest, channel: Channel) -> bool:
        now = self._clock.now()
        delivery = Delivery(request.reminder_key, iso_utc(request.occurrence))
        claimable = Delivery.reminder_key.does_not_exist() | (
            Delivery.status.is_in("claimed", "retrying") & (Delivery.lease_until <= now)
        )
        try:
            delivery.update(
                actions=[
                    Delivery.clinic_id.set(request.clinic_id),
                    Delivery.channel.set(channel.value),
                    Delivery.status.set("claimed"),
                    Delivery.claimed_at.set(now),
                    Delivery.lease_until.set(now + CLAIM_LEASE),
                    Delivery.attempts.add(1),
                    Delivery.expires_at.set(now + DELIVERY_RETENTION),
                ],
                condition=claimable,
            )
        except UpdateError as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _record_sent(self, request: DeliveryRequest, reminder: Reminder, message_id: str, charge: Charge) -> Outcome:
        now = self._clock.now()
        lateness = max(0.0, (now - to_utc(request.occurrence)).total_seconds())
        sent: list[Action] = [
            Delivery.status.set("sent"),
            Delivery.message_id.set(message_id),
            Delivery.sent_at.set(now),
            Delivery.lateness_seconds.set(lateness),
        ]
        if charge.channel is Channel.SMS:
            sent.append(Delivery.sms_segments.set(charge.sms_segments))
        Delivery(request.reminder_key, iso_utc(request.occurrence)).update(actions=sent)
        self._mark_reminder_sent(request, reminder, now)
        count("RemindersSent", channel=reminder.channel)
        metrics.add_metric(name="ReminderLatenessSeconds", unit=MetricUnit.Seconds, value=lateness)
        return self._log(request, Outcome("sent", None, message_id), lateness_seconds=round(lateness, 3))

    def _mark_reminder_sent(self, request: DeliveryRequest, reminder: Reminder, now: datetime) -> None:
        """Only the plan that was sent is marked sent: if the appointment was moved while the message was on its
        way, the reminder now stands for the new time (a newer version) and must still go out then."""
        try:
            reminder.update(
                actions=[
                    Reminder.status.set(Status.SENT.value),
                    Reminder.sent_at.set(now),
                    Reminder.reason.remove(),
                    Reminder.updated_at.set(now),
                ],
                condition=(Reminder.owner_version == request.version) & (Reminder.status == Status.SCHEDULED.value),
            )
        except UpdateError as e:
            if e.cause_response_code != "ConditionalCheckFailedException":
                raise
            logger.info("reminder changed while sending", extra={"owner_id": request.owner_id})

    def _fail(self, request: DeliveryRequest, reminder: Reminder, error: ChannelError) -> Outcome:
        now = self._clock.now()
        delivery = Delivery(request.reminder_key, iso_utc(request.occurrence))
        reason = f"{reminder.channel}_{error.code}"
        if not error.permanent:
            # Release the claim at once so the retry that follows this error may send.
            delivery.update(actions=[Delivery.status.set("retrying"), Delivery.lease_until.set(now)])
            self._log(request, Outcome("failed", reason), transient=True)
            count("RemindersRetried", channel=reminder.channel)
            raise TransientSendError(reason) from error
        delivery.update(
            actions=[Delivery.status.set("failed"), Delivery.failure.set(reason), Delivery.permanent_failure.set(True)]
        )
        self._set_status(reminder, Status.FAILED, reason)
        count("RemindersFailed", channel=reminder.channel)
        return self._log(request, Outcome("failed", reason))

    def _skip(
        self, request: DeliveryRequest, reminder: Reminder, reason: str, status: Status = Status.SKIPPED
    ) -> Outcome:
        self._set_status(reminder, status, reason)
        count("RemindersSkipped", channel=reminder.channel)
        return self._log(request, Outcome("skipped", reason))

    def _count(self, request: DeliveryRequest, clinic: Clinic, at: datetime, charge: Charge) -> bool:
        """Counts the message in the clinic's month before it goes; False when the month is at its spend cap.
        A usage table that refuses the write does not hold the reminder back: it is logged and counted
        (UsageNotMetered) for billing to reconcile from the deliveries table."""
        try:
            return self._meter.reserve(clinic, at, charge)
        except PynamoDBException as e:
            logger.error("usage not metered", extra={"clinic_id": request.clinic_id, "code": e.cause_response_code})
            count("UsageNotMetered", channel=charge.channel.value)
            return True

    def _uncount(self, request: DeliveryRequest, at: datetime, charge: Charge) -> None:
        try:
            self._meter.refund(request.clinic_id, at, charge)
        except PynamoDBException as e:
            logger.error("usage not refunded", extra={"clinic_id": request.clinic_id, "code": e.cause_response_code})
            count("UsageNotRefunded", channel=charge.channel.value)

    def _settle_claim(self, request: DeliveryRequest, status: str, reason: str) -> None:
        """Ends a claim that sent nothing, so the record says why rather than waiting out its lease."""
        Delivery(request.reminder_key, iso_utc(request.occurrence)).update(
            actions=[Delivery.status.set(status), Delivery.failure.set(reason)]
        )

    def _skip_over_spend_cap(self, request: DeliveryRequest, reminder: Reminder) -> Outcome:
        count("SpendCapReached", channel=reminder.channel)
        self._meter.record_cap_skip(request.clinic_id, self._clock.now())
        return self._skip(request, reminder, "spend_cap")

    def _set_status(self, reminder: Reminder, status: Status, reason: str) -> None:
        reminder.update(
            actions=[
                Reminder.status.set(status.value),
                Reminder.reason.set(reason),
                Reminder.updated_at.set(self._clock.now()),
            ]
        )

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
