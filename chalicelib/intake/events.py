"""What every booking tool's webhook becomes: a normalised booking event, or a reason it is ignored."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from msgspec import Struct, field

from chalicelib.patients.details import PatientDetails


class EventKind(StrEnum):
    CREATED = "created"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"


class BookingEvent(Struct, frozen=True):
    kind: EventKind
    external_id: str  # the tool's id for the booking
    sequence: int  # the tool's own order of its events: event time in ms, or a booking version
    patient: PatientDetails
    start: datetime  # aware
    duration_minutes: int = 30
    location: str | None = None
    previous_external_id: str | None = None  # the id the booking had before a reschedule gave it a new one


class Ignored(Struct, frozen=True):
    """A well-formed, authentic event that CareCue has no use for (answered 202, nothing stored)."""

    reason: str


class WebhookRequest(Struct, frozen=True):
    """The parts of an HTTP request an adapter may read. Header names are lower case."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def millis(moment: datetime) -> int:
    """An instant as whole milliseconds since the epoch: the sequence of tools that order events by time."""
    return int(moment.timestamp() * 1000)
