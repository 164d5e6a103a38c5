"""What the dispatcher asks of each kind of reminder owner (an appointment, a regimen): reload the owner, decide
whether the reminder may still go out and to whom, and, only once the dispatcher has re-checked the clinic, the
spend cap and the patient's rules and claimed the send, word it (`Ready.render`): nothing is worded for a
message that will not be sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct

from chalicelib.core.words import Channel, Result, Status
from chalicelib.render.templates import Message
from chalicelib.render.whatsapp import TemplateFacts

if TYPE_CHECKING:
    from chalicelib.core.records import Clinic, Patient, Reminder
    from chalicelib.fire.dispatch import DeliveryRequest
    from chalicelib.store.reads import Key


class Ready(Struct, frozen=True):
    clinic: Clinic
    patient: Patient
    channel: Channel
    address: str
    render: Callable[[], Message]  # the words, called after the claim: only a message that goes is worded
    starts_at: datetime | None = None  # what the reminder is for, if it has a start (quiet hours defer before it)
    zone: str | None = None  # the zone the patient reads times in
    # The facts a WhatsApp template is filled with (chalicelib.fire.chat_route), called after the claim as
    # `render` is; None for a message that has no WhatsApp template kind.
    template_facts: Callable[[], TemplateFacts] | None = None
    # False: the message is for someone else than the patient (a regimen's caregiver, at `address`). Then only
    # that address may carry it on a chat channel (WhatsApp, if that number opted in), never the patient's
    # Messenger, and the patient's preferred channel does not order it (`chalicelib.fire.chat_route.order_of`).
    for_patient: bool = True


class NotSending(Struct, frozen=True):
    result: Result  # stale (the timer is out of date: leave the reminder alone) or skipped
    reason: str
    new_status: Status | None = None  # what the reminder becomes, when it changes


class OwnerMessages(Protocol):
    def first_reads(self, request: DeliveryRequest) -> list[Key]:
        """Items `prepare` will read that can be fetched with the reminder, in the same round trip."""
        ...

    def prepare(self, request: DeliveryRequest, reminder: Reminder) -> Ready | NotSending:
        """Reloads and re-checks the owner; words nothing (that is `Ready.render`)."""
        ...
