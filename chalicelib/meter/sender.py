"""The one path every message CareCue sends goes out by, on every channel: count it in the clinic's month, send
it, take the count back if the channel refuses it.

Timer-driven messages (appointment and dose reminders, caregiver alerts, refill reminders) come through the
dispatcher (`chalicelib.fire.dispatch`), which claims the occurrence first, and so do the waiting-room and
running-late texts (the dispatcher's notices, `chalicelib.fire.notices`); SMS answers come straight here.
Counting is under the clinic's spend cap (`UsageMeter.reserve`): a message the cap holds back is not sent (and
counted in the SpendCapReached metric). The answers the carriers require (the STOP and HELP confirmations) are
never held back, but they are counted all the same (`required_by_carrier`), so that the month's usage is exactly
what went out.

A usage table that refuses the write does not hold the message back (a patient's message matters more than the
count): the gap is logged and counted (UsageNotMetered) for billing to reconcile.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.core.clock import Clock
from chalicelib.core.errors import ChannelError
from chalicelib.core.observability import count, logger
from chalicelib.core.records import Clinic
from chalicelib.core.words import Channel
from chalicelib.meter.meter import UsageMeter
from chalicelib.meter.pricing import Charge
from chalicelib.render.gsm7 import sanitise
from chalicelib.render.templates import Message
from chalicelib.send.email import EmailChannel
from chalicelib.send.messenger import MessengerChannel, MessengerTemplate
from chalicelib.send.sms import SmsChannel
from chalicelib.send.whatsapp import WhatsAppChannel, WhatsAppTemplate
from chalicelib.store import usage as usage_store


class Sent(Struct, frozen=True):
    message_id: str
    charge: Charge  # what was counted for it


class MeteredSender:
    def __init__(
        self,
        clock: Clock,
        meter: UsageMeter,
        sms: SmsChannel,
        email: EmailChannel | None = None,
        whatsapp: WhatsAppChannel | None = None,
        messenger: MessengerChannel | None = None,
    ) -> None:
        self._clock = clock
        self._meter = meter
        self._sms = sms
        self._email = email
        self._whatsapp = whatsapp
        self._messenger = messenger

    def send(
        self,
        clinic: Clinic | None,
        channel: Channel,
        to: str,
        message: Message,
        *,
        required_by_carrier: bool = False,
        callback: str | None = None,
        counted: datetime | None = None,
    ) -> Sent | None:
        """Counts, sends and returns what was sent; None, with nothing sent, when the clinic's month is at its
        spend cap. A ChannelError from the channel is raised after the count is taken back.

        `clinic` None is a message to a number no clinic has (an answer to a stranger's HELP or STOP): there is
        no month to count it in, so it goes uncounted, and is counted as a metric (UnbilledMessages).

        On WhatsApp the clinic's sender sends (`clinic.whatsapp_phone_number_id`); `callback` is the key Meta
        echoes in the message's statuses (on email, the message tag SES echoes in its events). On Messenger the
        clinic's Page sends to `to`, the patient's PSID.

        `counted`: the instant the caller already counted this message's `charge` under the cap at (the
        dispatcher counts it in one transaction with its claim: `chalicelib.store.deliveries.claim_counted`), so
        it is not counted again; a refusal still takes it back."""
        text = text_as_sent(channel, message)
        if clinic is None:
            message_id = self._send(None, channel, to, message, text, callback)
            count("UnbilledMessages", channel=channel.value)
            return Sent(message_id, self.charge(channel, to, message))
        charge = self.charge(channel, to, message)
        at = self._clock.now() if counted is None else counted
        if counted is None and not self._count(clinic, at, charge, required_by_carrier):
            # The usage item's skip count is the reminders' (the release re-arms them): their dispatcher keeps it.
            count("SpendCapReached", channel=channel.value)
            return None
        try:
            message_id = self._send(clinic, channel, to, message, text, callback)
        except ChannelError:
            self._take_back(clinic.clinic_id, at, charge)
            raise
        return Sent(message_id, charge)

    def charge(self, channel: Channel, to: str, message: Message) -> Charge:
        """What the message is counted as (an SMS by the segments of its text as sent)."""
        template = message.whatsapp_template is not None
        return self._meter.charge(channel, to, text_as_sent(channel, message), template=template)

    def send_sms(self, clinic: Clinic | None, to: str, body: str, *, required_by_carrier: bool = False) -> Sent | None:
        return self.send(clinic, Channel.SMS, to, Message(None, body), required_by_carrier=required_by_carrier)

    def _send(
        self, clinic: Clinic | None, channel: Channel, to: str, message: Message, text: str, callback: str | None
    ) -> str:
        if channel is Channel.SMS:
            return self._sms.send(to, text)
        if channel is Channel.WHATSAPP:
            sender = clinic.whatsapp_phone_number_id if clinic is not None else None
            if self._whatsapp is None or not sender:
                raise ValueError("no WhatsApp channel to send with")
            call = message.whatsapp_template
            if call is None:
                return self._whatsapp.send_text(sender, to, text, callback)
            template = WhatsAppTemplate(call.name, call.language_code, call.parameters)
            return self._whatsapp.send_template(sender, to, template, callback)
        if channel is Channel.MESSENGER:
            # On Messenger `to` is the patient's page-scoped id; the clinic's Page sends.
            page = clinic.messenger_page_id if clinic is not None else None
            if self._messenger is None or clinic is None or not page:
                raise ValueError("no Messenger channel to send with")
            messenger_call = message.messenger_template
            if messenger_call is None:
                return self._messenger.send_text(clinic.clinic_id, page, to, text)
            sent_template = MessengerTemplate(
                messenger_call.name, messenger_call.language_code, messenger_call.parameters
            )
            return self._messenger.send_template(clinic.clinic_id, page, to, sent_template)
        if self._email is None:
            raise ValueError("no email channel to send with")
        return self._email.send_message(to, message, callback)

    def _count(self, clinic: Clinic, at: datetime, charge: Charge, required_by_carrier: bool) -> bool:
        """Counts the message before it goes; False when the month is at its spend cap and the message may wait."""
        try:
            with usage_store.refusals():
                if required_by_carrier:
                    self._meter.record(clinic.clinic_id, at, charge)
                    return True
                return self._meter.reserve(clinic, at, charge)
        except usage_store.UsageNotCounted as e:
            logger.error("usage not metered", extra={"clinic_id": clinic.clinic_id, "code": e.code})
            count("UsageNotMetered", channel=charge.channel.value)
            return True

    def _take_back(self, clinic_id: str, at: datetime, charge: Charge) -> None:
        try:
            with usage_store.refusals():
                self._meter.refund(clinic_id, at, charge)
        except usage_store.UsageNotCounted as e:
            logger.error("usage not refunded", extra={"clinic_id": clinic_id, "code": e.code})
            count("UsageNotRefunded", channel=charge.channel.value)


def text_as_sent(channel: Channel, message: Message) -> str:
    """The text the channel gets, which is what the clinic is charged for."""
    if channel is Channel.SMS:
        return sanitise(message.body)  # never UCS-2 by accident: a curly quote would halve the segment
    return message.body
