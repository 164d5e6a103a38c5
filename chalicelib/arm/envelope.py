"""The one shape of every timer's Input, and the one reader of it.

Every EventBridge Scheduler timer CareCue arms carries a JSON envelope that says what it is: its `kind` (what
the fire function does with it), its `owner_type` (whose it is), the clinic and owner ids, the owner's version
where the owner has one, the kind's own ids, and `scheduled_time`, which Scheduler fills in. Nothing else: the
fire function reloads the rest, and nothing is ever read back out of an id (a dose's time travels as
`dose_time`, not inside a reminder id). One hint is not an id: an appointment reminder's `contact`, the key of
the contact record (opt-outs, recent sends) of the address it was planned for, so that the fire reads that record
in its first round trip (it is keyed by the address, which is otherwise known only once the patient is read). It
is trusted for nothing: the fire re-reads the patient, and when the address changed since it reads the new
address's record instead (one more call). It is the patient's phone or email, stored in Scheduler as DynamoDB
stores it (encrypted at rest); no log line, metric or error message ever names it.

    reminder  {"kind": "reminder", "owner_type": "appointment" | "regimen", "clinic_id", "owner_id",
               "reminder_id", "version", ["patient_id"], ["contact"], ["dose_time"], "scheduled_time"}
    dose      {"kind": "dose", "owner_type": "regimen", "clinic_id", "owner_id" (the regimen), "instruction",
               "version", "scheduled_time"}  (a cron dose and a chained link alike: the regimen says which)
    watch     {"kind": "watch", "owner_type": "provider_day", "clinic_id", "owner_id" (the provider),
               "scheduled_time"}  (a provider's day has no version: the watch reloads it whole)
    delivery_window
              {"kind": "delivery_window", "owner_type": "appointment" | "regimen", "clinic_id", "owner_id",
               "reminder_id", "occurrence", "scheduled_time"}  (the end of the clinic's delivery window after a
               message went on a channel that reports delivery: `chalicelib.fire.delivery_window`)

Every kind has a bound; none re-arms itself forever (docs/architecture.md, "Every timer has a bound"):
    reminder         one-shot `at()`; a follow-up, a spend-cap release (`.cap`) and a quiet-hours deferral
                     (`.quiet`, at most once per quiet period) are one-shot reminders too
    dose (cron)      its EndDate, the instruction's end or count; open-ended only while the regimen is
                     active (stop and pause disarm it)
    dose (chained)   one-shot; the next link is armed only while the instruction has a dose left
    watch            only while the provider has someone waiting or in progress, only inside the clinic's
                     opening hours; its last slot is closing time, which closes the day and arms nothing
    delivery_window  one-shot, armed once per delivery sent on a reporting channel (never for a fallback, the
                     last try); it arms nothing

`parse_timer_event` turns an event into one typed event or raises `BadTimerEvent`: a malformed event is
permanent, so the fire function logs it and drops it; a retry cannot fix it. Its message names the field and
the rule, never a value: a corrupt event may hold anything.

Read both for one release: timers armed before the envelope are still in Scheduler (a dose cron lives for
months), so the reader also takes the shapes they carry, and this list is what to delete once they are gone:
an event with no `kind` is a reminder whose owner type it does not say (the stored reminder's decides, as it
always did); `{"kind": "dose", "regimen_id": ...}` without an `owner_type` is a dose; `{"kind": "wait-watch",
"provider": ...}` is a watch.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from msgspec import Struct

from chalicelib.core.clock import iso_utc, to_utc

# Scheduler fills this in with the instant the schedule was due (not when it ran), which makes it a stable
# part of the idempotency key across Scheduler's own retries.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


class TimerKind(StrEnum):
    REMINDER = "reminder"  # one stored reminder's message (an appointment's, or a dose follow-up's)
    DOSE = "dose"  # a regimen's dose is due (cron or chained link: the handler is the same)
    WATCH = "watch"  # the running-late watch of a provider's day
    DELIVERY_WINDOW = "delivery_window"  # a sent message's receipt is due: no delivery yet sends it on


class OwnerType(StrEnum):
    """Whose timer it is; the values are those of `Reminder.owner_type` for the owners that have reminders."""

    APPOINTMENT = "appointment"
    REGIMEN = "regimen"
    PROVIDER_DAY = "provider_day"


# The owners each kind may have: anything else is a malformed event.
_OWNERS = {
    TimerKind.REMINDER: (OwnerType.APPOINTMENT, OwnerType.REGIMEN),
    TimerKind.DOSE: (OwnerType.REGIMEN,),
    TimerKind.WATCH: (OwnerType.PROVIDER_DAY,),
    TimerKind.DELIVERY_WINDOW: (OwnerType.APPOINTMENT, OwnerType.REGIMEN),
}
_KINDS = frozenset(kind.value for kind in TimerKind)
_LEGACY_WATCH = "wait-watch"


class BadTimerEvent(ValueError):
    """The event is not a CareCue timer input: retrying cannot fix it, so it is logged and dropped."""


class ReminderTimerEvent(Struct, frozen=True):
    clinic_id: str
    owner_type: OwnerType | None  # None only on a timer armed before the envelope: the stored reminder decides
    owner_id: str
    reminder_id: str
    version: int
    scheduled_time: datetime
    patient_id: str | None = None  # an appointment reminder's patient, read in the same round trip
    dose_time: datetime | None = None  # a regimen reminder's dose, which the reminder id no longer has to carry
    contact: str | None = None  # the planned address's contact key, read in the same round trip (a hint)

    kind = TimerKind.REMINDER


class DoseTimerEvent(Struct, frozen=True):
    clinic_id: str
    regimen_id: str
    instruction: int
    version: int
    scheduled_time: datetime

    kind = TimerKind.DOSE
    owner_type = OwnerType.REGIMEN


class WatchTimerEvent(Struct, frozen=True):
    clinic_id: str
    provider: str
    scheduled_time: datetime

    kind = TimerKind.WATCH
    owner_type = OwnerType.PROVIDER_DAY


class DeliveryWindowTimerEvent(Struct, frozen=True):
    clinic_id: str
    owner_type: OwnerType
    owner_id: str
    reminder_id: str
    occurrence: datetime  # the delivery's occurrence (its key with the reminder)
    scheduled_time: datetime

    kind = TimerKind.DELIVERY_WINDOW


TimerEvent = ReminderTimerEvent | DoseTimerEvent | WatchTimerEvent | DeliveryWindowTimerEvent


def reminder_input(
    clinic_id: str,
    owner_type: OwnerType,
    owner_id: str,
    reminder_id: str,
    version: int,
    *,
    patient_id: str | None = None,
    dose_time: datetime | None = None,
    contact: str | None = None,
) -> dict[str, Any]:
    """A reminder timer's Input (before Scheduler fills in the time)."""
    fields: dict[str, Any] = {"reminder_id": reminder_id, "version": version}
    if patient_id is not None:
        fields["patient_id"] = patient_id
    if contact is not None:
        fields["contact"] = contact
    if dose_time is not None:
        fields["dose_time"] = iso_utc(dose_time)
    return _envelope(TimerKind.REMINDER, owner_type, clinic_id, owner_id, fields)


def dose_input(clinic_id: str, regimen_id: str, instruction: int, version: int) -> dict[str, Any]:
    """A dose timer's Input, for a cron schedule and a chained link alike."""
    fields = {"instruction": instruction, "version": version}
    return _envelope(TimerKind.DOSE, OwnerType.REGIMEN, clinic_id, regimen_id, fields)


def watch_input(clinic_id: str, provider: str) -> dict[str, Any]:
    """A running-late watch's Input."""
    return _envelope(TimerKind.WATCH, OwnerType.PROVIDER_DAY, clinic_id, provider, {})


def delivery_window_input(
    clinic_id: str, owner_type: OwnerType, owner_id: str, reminder_id: str, occurrence: datetime
) -> dict[str, Any]:
    """A delivery window's Input: the delivery it watches."""
    fields = {"reminder_id": reminder_id, "occurrence": iso_utc(occurrence)}
    return _envelope(TimerKind.DELIVERY_WINDOW, owner_type, clinic_id, owner_id, fields)


def to_input(envelope: dict[str, Any]) -> str:
    """The Input text Scheduler stores: compact, with the placeholder unescaped (it is substituted textually)."""
    return json.dumps(envelope, separators=(",", ":"))


def _envelope(
    kind: TimerKind, owner_type: OwnerType, clinic_id: str, owner_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    head = {"kind": kind.value, "owner_type": owner_type.value, "clinic_id": clinic_id, "owner_id": owner_id}
    return {**head, **fields, "scheduled_time": SCHEDULED_TIME}


def parse_timer_event(event: Any) -> TimerEvent:
    """The typed event of any CareCue timer, new shape or old; BadTimerEvent for anything malformed."""
    if not isinstance(event, dict):
        raise BadTimerEvent("event is not an object")
    try:
        kind = event.get("kind")
        if kind is None:
            return _reminder(event, None)  # old shape: a reminder that does not say its owner type
        if kind == _LEGACY_WATCH:
            return WatchTimerEvent(_text(event, "clinic_id"), _text(event, "provider"), _scheduled(event))
        if kind == TimerKind.DOSE and "owner_type" not in event:
            return _dose(event, "regimen_id")  # old shape
        if not isinstance(kind, str) or kind not in _KINDS:
            raise BadTimerEvent("kind is not a timer kind")
        timer_kind = TimerKind(kind)
        owner_type = event["owner_type"]
        if owner_type not in _OWNERS[timer_kind]:
            raise BadTimerEvent(f"owner_type is not one a {timer_kind.value} timer has")
        if timer_kind is TimerKind.REMINDER:
            return _reminder(event, OwnerType(owner_type))
        if timer_kind is TimerKind.DOSE:
            return _dose(event, "owner_id")
        if timer_kind is TimerKind.DELIVERY_WINDOW:
            return DeliveryWindowTimerEvent(
                _text(event, "clinic_id"),
                OwnerType(owner_type),
                _text(event, "owner_id"),
                _text(event, "reminder_id"),
                _instant(_text(event, "occurrence"), "occurrence"),
                _scheduled(event),
            )
        return WatchTimerEvent(_text(event, "clinic_id"), _text(event, "owner_id"), _scheduled(event))
    except BadTimerEvent:
        raise
    except (KeyError, ValueError) as e:
        raise BadTimerEvent(f"{type(e).__name__}: {e}") from e


def _reminder(event: dict[str, Any], owner_type: OwnerType | None) -> ReminderTimerEvent:
    scheduled = _scheduled(event)
    version = event["version"]
    ids = [event["clinic_id"], event["owner_id"], event["reminder_id"]]
    if not all(isinstance(value, str) and value for value in ids):
        raise BadTimerEvent("clinic_id, owner_id and reminder_id must be non-empty strings")
    if not _whole(version):
        raise BadTimerEvent("version must be an integer")
    patient_id = event.get("patient_id")  # absent from regimen timers and from timers armed before it was kept
    if patient_id is not None and not (isinstance(patient_id, str) and patient_id):
        raise BadTimerEvent("patient_id, when present, must be a non-empty string")
    contact = event.get("contact")  # a hint only (absent from regimen timers and older ones)
    if contact is not None and not (isinstance(contact, str) and contact):
        raise BadTimerEvent("contact, when present, must be a non-empty string")
    dose_time = event.get("dose_time")
    return ReminderTimerEvent(
        clinic_id=str(ids[0]),
        owner_type=owner_type,
        owner_id=str(ids[1]),
        reminder_id=str(ids[2]),
        version=version,
        scheduled_time=scheduled,
        patient_id=patient_id,
        dose_time=None if dose_time is None else _instant(dose_time, "dose_time"),
        contact=contact,
    )


def _dose(event: dict[str, Any], regimen_key: str) -> DoseTimerEvent:
    scheduled = _scheduled(event)
    instruction, version = event["instruction"], event["version"]
    if not _whole(instruction) or not _whole(version):
        raise BadTimerEvent("a dose event needs whole-number instruction and version")
    clinic_id, regimen_id = _text(event, "clinic_id"), _text(event, regimen_key)
    return DoseTimerEvent(clinic_id, regimen_id, instruction, version, to_utc(scheduled))


def _scheduled(event: dict[str, Any]) -> datetime:
    return _instant(event["scheduled_time"], "scheduled_time")


def _instant(value: object, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadTimerEvent(f"{name} is not an ISO 8601 instant") from None  # the value is not echoed into logs
    if moment.tzinfo is None:
        raise BadTimerEvent(f"{name} needs a zone")
    return moment


def _text(event: dict[str, Any], name: str) -> str:
    value = event[name]
    if not isinstance(value, str) or not value:
        raise BadTimerEvent(f"{name} must be a non-empty string")
    return value


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
