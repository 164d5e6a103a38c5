"""What the dispatcher asks of each kind of reminder owner (an appointment today, a regimen later): reload the
owner, decide whether the reminder may still go out, and if so to whom and with which words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from chalicelib.messages.templates import Message
from chalicelib.planning.appointment_reminders import Channel, Result, Status

if TYPE_CHECKING:
    from chalicelib.delivery.dispatch import DeliveryRequest
    from chalicelib.store.models import Clinic, Patient, Reminder
    from chalicelib.store.reads import Key


@dataclass(frozen=True)
class Ready:
    clinic: Clinic
    patient: Patient
    channel: Channel
    address: str
    message: Message
    starts_at: datetime | None = None  # what the reminder is for, if it has a start (quiet hours defer before it)
    zone: str | None = None  # the zone the patient reads times in


@dataclass(frozen=True)
class NotSending:
    result: Result  # stale (the timer is out of date: leave the reminder alone) or skipped
    reason: str
    new_status: Status | None = None  # what the reminder becomes, when it changes


class OwnerMessages(Protocol):
    def first_reads(self, request: DeliveryRequest) -> list[Key]:
        """Items `prepare` will read that can be fetched with the reminder, in the same round trip."""
        ...

    def prepare(self, request: DeliveryRequest, reminder: Reminder) -> Ready | NotSending: ...
