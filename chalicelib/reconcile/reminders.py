"""The hourly reconciler: DynamoDB is the source of truth and timers are derived from it, so a timer that was
never armed (Scheduler refused it at booking) or was deleted by hand is re-armed from the reminders table, and a
reminder whose time passed with nothing delivered is marked `missed` and counted, never sent late.

It reads the reminders that are still `scheduled` (`chalicelib.store.pending`: a query of one index partition,
not a scan) and the stage's timers with one listing, then repairs only the differences. It sends
nothing itself: a re-armed timer goes through the fire path's claim like any other, so nothing goes out twice.

Active medication regimens keep the names of their timers on the regimen: one whose timers are not all armed
is armed again from its timing.

Reminders the spend cap held back are released here too (`chalicelib.meter.release`) once their clinic is under
its cap again, so a cap raised by hand in the console is honoured within the hour.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.arm.timers import RETRY_POLICY, ReminderTimers, Timer, schedule_name
from chalicelib.core.clock import Clock, iso_utc
from chalicelib.core.errors import StaleVersion, TimerError
from chalicelib.core.observability import count, logger
from chalicelib.core.words import Status
from chalicelib.store import pending
from chalicelib.store.models import Reminder

if TYPE_CHECKING:
    from chalicelib.meter.release import SpendCapRelease
    from chalicelib.regimens.service import RegimenTimers

# Scheduler retries a failed invocation for up to an hour and a claim's lease runs 5 minutes: a reminder still
# `scheduled` this long after its time will not be sent by anything.
MISSED_AFTER = timedelta(seconds=int(RETRY_POLICY["MaximumEventAgeInSeconds"])) + timedelta(hours=1)
# Reminders of other owners (regimens' repeating timers) keep their own bookkeeping.
RECONCILED_OWNERS = ("appointment",)


@dataclass
class Reconciliation:
    checked: int = 0
    rearmed: int = 0
    missed: int = 0
    rearm_failed: int = 0
    regimens_rearmed: int = 0
    released: int = 0  # skipped for the spend cap, armed again now that the clinic is under it

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ReminderReconciler:
    def __init__(
        self,
        clock: Clock,
        timers: ReminderTimers,
        regimen_timers: RegimenTimers | None = None,
        release: SpendCapRelease | None = None,
    ) -> None:
        self._clock = clock
        self._timers = timers
        self._regimen_timers = regimen_timers
        self._release = release

    def run(self) -> Reconciliation:
        now = self._clock.now()
        armed = self._timers.armed()
        result = Reconciliation()
        for listed in pending.scheduled():
            if listed.owner_type not in RECONCILED_OWNERS:
                continue
            result.checked += 1
            if listed.send_at > now:
                if listed.schedule_name is not None and listed.schedule_name not in armed:
                    self._rearm(listed, result)
            elif listed.send_at <= now - MISSED_AFTER and not self._delivery_started(listed):
                if self.mark_missed(listed, "no_delivery"):
                    result.missed += 1
        if self._regimen_timers is not None:
            self._rearm_regimens(armed, result)
        if self._release is not None:
            self._release_held(result)
        logger.info("reminders reconciled", extra=result.as_dict())
        return result

    def _rearm_regimens(self, armed: set[str], result: Reconciliation) -> None:
        assert self._regimen_timers is not None
        for regimen in pending.active_regimens():
            if set(regimen.timers or []) <= armed:
                continue
            try:
                rearmed = self._regimen_timers.arm(regimen, self._clock.now())
            except TimerError as e:
                logger.error("regimen timers not re-armed", extra={"regimen_id": regimen.regimen_id, "code": e.code})
                result.rearm_failed += 1
                continue
            pending.record_regimen_timers(regimen, [timer.name for timer in rearmed])
            logger.warning("regimen timers re-armed", extra={"regimen_id": regimen.regimen_id})
            count("TimersRearmed", channel="regimen")
            result.regimens_rearmed += 1

    def _release_held(self, result: Reconciliation) -> None:
        assert self._release is not None
        release = self._release.release_all()
        for reminder in release.released:
            logger.info("reminder released after spend cap", extra={"reminder": reminder.schedule_name})
            count("RemindersReleased", channel=reminder.channel)
        for reminder, code in release.not_armed:
            logger.error("released reminder not armed", extra={"reminder": reminder.reminder_id, "code": code})
            count("TimersFailed", channel=reminder.channel)
        result.released = len(release.released)
        result.rearm_failed += len(release.not_armed)

    def _rearm(self, listed: Reminder, result: Reconciliation) -> None:
        # The index is eventually consistent: re-read before acting on what it said.
        reminder = pending.reminder(listed.owner_id, listed.reminder_id)
        if reminder is None or reminder.status != Status.SCHEDULED:
            return
        timer = Timer.for_reminder(reminder, reminder.send_at, _name_suffix(reminder))
        try:
            self._timers.arm(timer)
        except TimerError as e:
            logger.error("timer not re-armed", extra={"reminder": timer.name, "code": e.code})
            count("TimersFailed", channel=reminder.channel)
            result.rearm_failed += 1
            return
        logger.warning("timer re-armed", extra={"reminder": timer.name, "send_at": iso_utc(reminder.send_at)})
        count("TimersRearmed", channel=reminder.channel)
        result.rearmed += 1

    def mark_missed(self, reminder: Reminder, reason: str) -> bool:
        """`scheduled` → `missed`, only if nothing changed it meanwhile; a send that comes later finds it missed
        and sends nothing."""
        try:
            pending.mark_missed(reminder, reason, self._clock.now())
        except StaleVersion:
            return False
        logger.warning(
            "reminder missed",
            extra={"owner_id": reminder.owner_id, "reminder_id": reminder.reminder_id, "reason": reason},
        )
        count("RemindersMissed", channel=reminder.channel)
        return True

    def _delivery_started(self, reminder: Reminder) -> bool:
        """A claim or a record for the planned occurrence: a send is under way, failed, or done."""
        return pending.delivery_started(f"{reminder.owner_id}/{reminder.reminder_id}", iso_utc(reminder.send_at))


def _name_suffix(reminder: Reminder) -> str:
    """The suffix of the timer the reminder waits on (`.quiet` after a deferral, `.cap` after a release), so a
    re-armed timer has the name the reminder records and the next run finds it armed."""
    base = schedule_name(reminder.owner_id, reminder.reminder_id)
    recorded = reminder.schedule_name or base
    return recorded[len(base) :] if recorded.startswith(base) else ""
