"""Reminder timers on EventBridge Scheduler: one one-time `at()` schedule per reminder, named after what it
reminds of, so arming twice updates the same schedule and disarming needs nothing but the name.

The timer carries only ids and the version it was armed for, in the one envelope every timer's Input has
(`chalicelib.arm.envelope`); the fire function reloads everything else.

One rule for every request this module sends, whoever asks (booking, reschedule, regimen, resume, reconciler,
spend-cap release, quiet-hours deferral, chained doses, the running-late watch): a recurring schedule never
carries a StartDate in the past of the real clock. Scheduler refuses one more than 5 minutes old
("The StartDate you specify cannot be earlier than 5 minutes ago"), and it is checked against the wall clock of
AWS, not against the clock CareCue runs on (the local stack's and the tests' clocks are simulated). A start
already reached is left out, which Scheduler reads as "from now": the same schedule. One-time `at()` schedules
carry no StartDate (Scheduler ignores it for them).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from msgspec import Struct

from chalicelib.arm.envelope import SCHEDULED_TIME, OwnerType, reminder_input, to_input
from chalicelib.core.clock import Clock, SystemClock, iso_utc, to_utc
from chalicelib.core.errors import TimerError

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

    from chalicelib.core.records import Reminder

__all__ = ["SCHEDULED_TIME", "ReminderTimers", "Timer", "schedule_name"]

_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")
# Scheduler retries a failed invocation with back-off for up to this long, then dead-letters the event.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 20}


class _TimerPlace(Struct, frozen=True):
    """A timer's positional fields (a Struct's `kw_only` is per class: `Timer` adds the keyword-only ones)."""

    clinic_id: str
    owner_id: str
    reminder_id: str
    version: int
    fire_at: datetime
    # A timer re-armed from its own invocation (a deferral) gets a new name: on AWS the completed schedule's
    # delete races with an update under the same name.
    name_suffix: str = ""
    patient_id: str | None = None  # an appointment reminder's patient: the fire reads it with the reminder


class Timer(_TimerPlace, frozen=True, kw_only=True):
    # Whose reminder it is: the fire picks the owner by it, never by the look of an id.
    owner_type: OwnerType
    dose_time: datetime | None = None  # a regimen reminder's dose
    # The planned address's contact key (`chalicelib.arm.envelope`): a hint the fire reads in its first round trip.
    contact: str | None = None

    @classmethod
    def for_reminder(
        cls, reminder: Reminder, fire_at: datetime, name_suffix: str = "", contact: str | None = None
    ) -> Timer:
        """The timer of a stored reminder, for the version it was planned for, with the reminder's contact hint
        (or `contact`: see the field)."""
        return cls(
            reminder.clinic_id,
            reminder.owner_id,
            reminder.reminder_id,
            int(reminder.owner_version),
            fire_at,
            name_suffix,
            reminder.patient_id,
            owner_type=OwnerType(reminder.owner_type),
            contact=contact if contact is not None else reminder.contact,
        )

    @property
    def name(self) -> str:
        return schedule_name(self.owner_id, self.reminder_id + self.name_suffix)

    def input(self) -> str:
        envelope = reminder_input(
            self.clinic_id,
            self.owner_type,
            self.owner_id,
            self.reminder_id,
            self.version,
            patient_id=self.patient_id,
            dose_time=self.dose_time,
            contact=self.contact,
        )
        return to_input(envelope)


def schedule_name(owner_id: str, reminder_id: str) -> str:
    name = f"{owner_id}.{reminder_id}"
    if not _NAME.fullmatch(name):
        raise ValueError(f"schedule name {name!r} is not 1-64 characters of [0-9A-Za-z_.-]")
    return name


class ReminderTimers:
    def __init__(
        self,
        scheduler: EventBridgeSchedulerClient,
        *,
        group: str,
        target_arn: str,
        role_arn: str,
        dead_letter_arn: str,
        reminder_target_arn: str | None = None,
        wall_clock: Clock | None = None,
    ) -> None:
        self._scheduler = scheduler
        # The real clock, always: it is the one Scheduler checks StartDate against.
        self._wall_clock = wall_clock or SystemClock()
        self._group = group
        self._target = {
            "Arn": target_arn,
            "RoleArn": role_arn,
            "RetryPolicy": RETRY_POLICY,
            "DeadLetterConfig": {"Arn": dead_letter_arn},
        }
        # A reminder's timer goes to the fire queue (its Input as the message's body), the others to `target_arn`.
        self._reminder_target = {**self._target, "Arn": reminder_target_arn or target_arn}

    def arm(self, timer: Timer) -> None:
        """Creates the timer, or moves it if it exists (a reschedule)."""
        request = self._at(timer.name, timer.fire_at, timer.input(), f"CareCue reminder due {iso_utc(timer.fire_at)}")
        self._put({**request, "Target": {**self._reminder_target, "Input": request["Target"]["Input"]}})

    def disarm(self, owner_id: str, reminder_id: str) -> None:
        """Removes the timer; one that already fired (and deleted itself) or never existed is fine."""
        self.disarm_named(schedule_name(owner_id, reminder_id))

    def armed(self) -> set[str]:
        """The names of every timer in the stage's group now: what the reconciler compares the tables with."""
        names: set[str] = set()
        try:
            for page in self._scheduler.get_paginator("list_schedules").paginate(GroupName=self._group):
                names.update(schedule["Name"] for schedule in page.get("Schedules", []))
        except ClientError as e:
            raise TimerError(_code(e)) from e
        return names

    def ensure_group(self) -> bool:
        """Creates the stage's schedule group if it is gone (deleted by hand: every timer in it went with it); True
        when it had to. The reconciler calls it first, so that its re-arming finds a group to arm in."""
        try:
            self._scheduler.get_schedule_group(Name=self._group)
            return False
        except ClientError as e:
            if _code(e) != "ResourceNotFoundException":
                raise TimerError(_code(e)) from e
        try:
            self._scheduler.create_schedule_group(Name=self._group)
        except ClientError as e:
            if _code(e) != "ConflictException":  # created meanwhile (another run): there is a group, as wanted
                raise TimerError(_code(e)) from e
        return True

    def is_armed(self, name: str) -> bool:
        """Whether a timer of this name is in the stage's group now: one GetSchedule, so the reconciler checks just
        the timers it needs to, not a listing of every timer."""
        try:
            self._scheduler.get_schedule(Name=name, GroupName=self._group)
        except ClientError as e:
            if _code(e) == "ResourceNotFoundException":
                return False
            raise TimerError(_code(e)) from e
        return True

    def arm_recurring(
        self,
        name: str,
        expression: str,
        timezone: str,
        event: dict[str, Any],
        start: datetime,
        end: datetime | None = None,
    ) -> None:
        """A cron schedule on the wall clocks of `timezone` (so a dose at 08:00 stays at 08:00 across DST), active
        from `start` to `end` inclusive; at its end Scheduler deletes it. Arming it again updates it in place."""
        request: dict[str, Any] = {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone,
            "StartDate": to_utc(start),
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Description": "CareCue recurring dose reminder",
            "Target": {**self._target, "Input": json.dumps({**event, "scheduled_time": SCHEDULED_TIME})},
        }
        if end is not None:
            request["EndDate"] = to_utc(end)
            request["ActionAfterCompletion"] = "DELETE"
        self._put(request)

    def arm_once(
        self,
        name: str,
        fire_at: datetime,
        event: dict[str, Any],
        *,
        what: str = "dose reminder",
        replace: bool = True,
    ) -> None:
        """A one-time schedule with its own event (a link in a chain of doses that cron cannot express, a
        running-late watch). With `replace=False` a schedule already armed under the name is left as it is."""
        event_input = json.dumps({**event, "scheduled_time": SCHEDULED_TIME})
        self._put(self._at(name, fire_at, event_input, f"CareCue {what} due {iso_utc(fire_at)}"), replace=replace)

    def disarm_named(self, name: str) -> None:
        """Removes a schedule by its name; one already gone is fine."""
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as e:
            if _code(e) != "ResourceNotFoundException":
                raise TimerError(_code(e)) from e

    def _at(self, name: str, fire_at: datetime, event_input: str, description: str) -> dict[str, Any]:
        """A one-time `at()` schedule in UTC that deletes itself once it has fired."""
        return {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": f"at({to_utc(fire_at):%Y-%m-%dT%H:%M:%S})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Description": description,
            "Target": {**self._target, "Input": event_input},
        }

    def _put(self, request: dict[str, Any], replace: bool = True) -> None:
        """Creates the schedule; one that exists already is updated in place, or left alone if not `replace`."""
        start = request.get("StartDate")
        if start is not None and start <= self._wall_clock.now():
            request = {name: value for name, value in request.items() if name != "StartDate"}
        try:
            self._scheduler.create_schedule(**request)
        except ClientError as e:
            if _code(e) != "ConflictException":
                raise TimerError(_code(e)) from e
            if not replace:
                return
            try:
                self._scheduler.update_schedule(**request)
            except ClientError as update_error:
                raise TimerError(_code(update_error)) from update_error


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))
