"""The timer's side of a send: a reminder timer's event (read by `chalicelib.arm.envelope`, the one
reader of every timer's Input) as a delivery request."""

from __future__ import annotations

from typing import Any

from chalicelib.arm.envelope import BadTimerEvent, ReminderTimerEvent, parse_timer_event
from chalicelib.fire.dispatch import DeliveryRequest

__all__ = ["BadTimerEvent", "delivery_request", "parse_reminder_event"]


def delivery_request(event: ReminderTimerEvent) -> DeliveryRequest:
    return DeliveryRequest(
        clinic_id=event.clinic_id,
        owner_id=event.owner_id,
        reminder_id=event.reminder_id,
        version=event.version,
        occurrence=event.scheduled_time,
        patient_id=event.patient_id,
        owner_type=event.owner_type,
        dose_time=event.dose_time,
        contact=event.contact,
    )


def parse_reminder_event(event: Any) -> DeliveryRequest:
    """A reminder timer's event as a delivery request, for those that handle reminders only (the dead-letter
    redrive): a timer of any other kind is a BadTimerEvent here."""
    timer = parse_timer_event(event)
    if not isinstance(timer, ReminderTimerEvent):
        raise BadTimerEvent(f"a {timer.kind.value} timer is not a reminder's")
    return delivery_request(timer)
