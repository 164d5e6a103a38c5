"""The timer's side of a send: turn the event EventBridge Scheduler passes (the schedule's Input, verbatim,
with `<aws.scheduler.scheduled-time>` filled in) into a delivery request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.delivery.dispatch import DeliveryRequest


class BadTimerEvent(ValueError):
    """The event is not a CareCue timer input: retrying cannot fix it, so it is logged and dropped."""


def parse_timer_event(event: Any) -> DeliveryRequest:
    if not isinstance(event, dict):
        raise BadTimerEvent("event is not an object")
    try:
        scheduled = datetime.fromisoformat(str(event["scheduled_time"]))
        version = event["version"]
        ids = [event["clinic_id"], event["owner_id"], event["reminder_id"]]
        if not all(isinstance(value, str) and value for value in ids):
            raise BadTimerEvent("clinic_id, owner_id and reminder_id must be non-empty strings")
        if scheduled.tzinfo is None or isinstance(version, bool) or not isinstance(version, int):
            raise BadTimerEvent("scheduled_time needs a zone and version must be an integer")
        patient_id = event.get("patient_id")  # absent from regimen timers and from timers armed before it was kept
        if patient_id is not None and not (isinstance(patient_id, str) and patient_id):
            raise BadTimerEvent("patient_id, when present, must be a non-empty string")
        return DeliveryRequest(
            clinic_id=str(event["clinic_id"]),
            owner_id=str(event["owner_id"]),
            reminder_id=str(event["reminder_id"]),
            version=version,
            occurrence=scheduled,
            patient_id=patient_id,
        )
    except (KeyError, ValueError) as e:
        raise BadTimerEvent(f"{type(e).__name__}: {e}") from e
