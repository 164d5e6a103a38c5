"""What the booking-tool intake keeps in DynamoDB besides the appointment itself: the link from a booking
tool's later id (a rescheduled Cal.com or Calendly booking) to the appointment of its first id, and the last
event of the tool applied to an appointment (`provider_sequence`), written only at the version it was read at.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.core import records
from chalicelib.core.errors import StaleVersion
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_model, to_record
from chalicelib.store.models import Appointment, BookingLink


def find_link(clinic_id: str, source: str, external_id: str) -> records.BookingLink | None:
    try:
        return to_record(
            BookingLink.get(clinic_id, _link_key(source, external_id), consistent_read=True), records.BookingLink
        )
    except DoesNotExist:
        return None


def save_link(
    clinic_id: str, source: str, external_id: str, appointment_id: str, root_external_id: str, now: datetime
) -> None:
    """Idempotent: a link only ever points at the appointment of the booking's first id."""
    BookingLink(
        clinic_id,
        _link_key(source, external_id),
        appointment_id=appointment_id,
        root_external_id=root_external_id,
        created_at=now,
    ).save()


def remember_sequence(appointment: records.Appointment, sequence: int) -> None:
    """Records the tool's event as applied; `StaleVersion("appointment")` when it changed since it was read."""
    try:
        to_model(appointment, Appointment).update(
            actions=[Appointment.provider_sequence.set(sequence)],
            condition=Appointment.version == appointment.version,
        )
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("appointment") from e
        raise


def _link_key(source: str, external_id: str) -> str:
    return f"{source}/{external_id}"
