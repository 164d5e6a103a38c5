"""The hourly reconciler: DynamoDB is the source of truth and timers are derived from it, so a timer that was
never armed (Scheduler refused it at booking) or was deleted by hand is re-armed from the reminders table, and a
reminder whose time passed with nothing delivered is marked `missed` and counted, never sent late.

Its cost follows the work due, not the work pending (docs/performance.md). It reads the sparse `by-due` index
(`chalicelib.store.due_keys`), shard by shard, for the few UTC days that hold the window that matters: reminders
due in the next `LOOKAHEAD`, whose timers it checks one GetSchedule each, and reminders overdue by more than
`MISSED_AFTER` (up to `OVERDUE_LOOKBACK` further back), which it marks missed. It also reads every shard's
`unarmed` rows (a timer Scheduler refused, however far ahead), and arms those. It first makes sure the stage's
schedule group exists, recreating it when it was deleted (with every timer in it), so that the re-arming has a
group to arm in. It sends nothing itself: a re-armed timer goes through the fire path's claim like any other, so
nothing goes out twice.

Active medication regimens are checked a page at a time, least recently checked first (`by-timer-check`): one
whose timers are not all armed is armed again from its timing. Reminders the spend cap held back are released
here too (`chalicelib.meter.release`) once their clinic is under its cap again, so a cap raised by hand in the
console is honoured within the hour.

Each of the four steps has its own budget of items per run (`Budgets`), so none of them is skipped because an
earlier one had much to do; what a step leaves is the next run's, soonest (or least recently checked) first.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import asdict

from chalicelib.arm.timers import RETRY_POLICY, ReminderTimers, Timer, schedule_name
from chalicelib.core.clock import Clock, iso_utc
from chalicelib.core.errors import StaleVersion, TimerError
from chalicelib.core.observability import count, logger
from chalicelib.core.records import ListedReminder, Reminder
from chalicelib.core.words import Status
from chalicelib.store import pending
from chalicelib.store.due_keys import SHARDS

if TYPE_CHECKING:
    from chalicelib.meter.release import SpendCapRelease
    from chalicelib.regimens.service import RegimenTimers

# Scheduler retries a failed invocation for up to an hour and a claim's lease runs 5 minutes: a reminder still
# `scheduled` this long after its time will not be sent by anything.
MISSED_AFTER = timedelta(seconds=int(RETRY_POLICY["MaximumEventAgeInSeconds"])) + timedelta(hours=1)
# How far ahead timers are checked. A day and two hours: a day-ahead reminder (the commonest) is checked from
# the first run after its booking, and every reminder about 26 times before it is due.
LOOKAHEAD = timedelta(hours=26)
# How far before `now - MISSED_AFTER` overdue reminders are still looked for: six hours of runs that did not
# happen. A longer outage leaves the reminders due in it `scheduled` (docs/performance.md says how to sweep them).
OVERDUE_LOOKBACK = timedelta(hours=6)
# A regimen's timers are checked again this long after their last check.
REGIMEN_RECHECK = timedelta(hours=6)


class Budgets(Struct, frozen=True):
    """The most items each step handles in one run (spread over the shards), and the most seconds it may take:
    the four slices add up to 26 s, inside the function's 30 s timeout, at AWS's ~20 ms a Scheduler call. What a
    step leaves is the next run's (soonest first)."""

    due: int = 1000  # reminders due soon or overdue (one GetSchedule, or one read, each)
    unarmed: int = 400  # reminders whose timer Scheduler refused (a read, an arm and a write each)
    regimens: int = 160
    held: int = 800  # reminders held by the spend cap
    due_seconds: float = 12.0
    unarmed_seconds: float = 5.0
    regimens_seconds: float = 4.0
    held_seconds: float = 5.0


class _Deadline:
    """A step's time slice, on the monotonic clock (how long this run has been working, not the date)."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() > self._end


class Reconciliation(Struct):
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
        budgets: Budgets | None = None,
    ) -> None:
        self._clock = clock
        self._timers = timers
        self._regimen_timers = regimen_timers
        self._release = release
        self._budgets = budgets or Budgets()

    def run(self) -> Reconciliation:
        now = self._clock.now()
        result = Reconciliation()
        seen: set[tuple[str, str]] = set()
        self._ensure_group()
        self._check_unarmed(now, result, seen)
        self._check_due(now, result, seen)
        if self._regimen_timers is not None:
            self._rearm_regimens(now, result)
        if self._release is not None:
            self._release_held(result)
        logger.info("reminders reconciled", extra=result.as_dict())
        return result

    def _ensure_group(self) -> None:
        """The schedule group, recreated if it was deleted: the steps below then re-arm what it held (the timers due
        in `LOOKAHEAD` now, later ones as they come into it) and what Scheduler refused meanwhile."""
        try:
            recreated = self._timers.ensure_group()
        except TimerError as e:
            logger.error("schedule group not checked", extra={"code": e.code})
            return
        if recreated:
            logger.warning("schedule group recreated")
            count("ScheduleGroupRecreated", channel="scheduler")

    def _check_unarmed(self, now: datetime, result: Reconciliation, seen: set[tuple[str, str]]) -> None:
        """Every shard's reminders whose timer Scheduler refused: armed now if still ahead, missed if long past."""
        per_shard = max(1, self._budgets.unarmed // SHARDS)
        deadline = _Deadline(self._budgets.unarmed_seconds)
        for shard in range(SHARDS):
            for listed in pending.unarmed(shard, per_shard):
                if deadline.passed():
                    return
                seen.add((listed.owner_id, listed.reminder_id))
                result.checked += 1
                if listed.send_at > now:
                    self._rearm(listed, result)
                elif listed.send_at <= now - MISSED_AFTER:
                    self._overdue(listed, result, unlist=True)

    def _check_due(self, now: datetime, result: Reconciliation, seen: set[tuple[str, str]]) -> None:
        """The reminders due in the next `LOOKAHEAD` (their timers checked) and those overdue past `MISSED_AFTER`
        (marked missed), by UTC day and shard; the ones between are still Scheduler's to retry."""
        overdue_until = now - MISSED_AFTER
        start, end = overdue_until - OVERDUE_LOOKBACK, now + LOOKAHEAD
        per_shard = max(1, self._budgets.due // SHARDS)
        deadline = _Deadline(self._budgets.due_seconds)
        for shard in range(SHARDS):
            handled = 0
            for day in _days(start, end):
                if handled >= per_shard:
                    break
                for listed in pending.due_between(shard, day, max(start, day), min(end, _day_end(day))):
                    if handled >= per_shard or deadline.passed():
                        break
                    if (listed.owner_id, listed.reminder_id) in seen or overdue_until < listed.send_at <= now:
                        continue
                    handled += 1
                    result.checked += 1
                    if listed.send_at > now:
                        self._check_timer(listed, result)
                    else:
                        self._overdue(listed, result)

    def _overdue(self, listed: ListedReminder, result: Reconciliation, unlist: bool = False) -> None:
        """Past Scheduler's retries and still `scheduled`: missed, unless a send is under way or done (then the
        dead-letter path owns it, and an unarmed record of it has nothing left to arm)."""
        if self._delivery_started(listed):
            if unlist:
                reminder = pending.reminder(listed.owner_id, listed.reminder_id)
                if reminder is not None:
                    pending.mark_armed(reminder, self._clock.now())
            return
        # The index lists keys and send times: the reminder is read whole before it is marked.
        reminder = pending.reminder(listed.owner_id, listed.reminder_id)
        if reminder is not None and reminder.status == Status.SCHEDULED and self.mark_missed(reminder, "no_delivery"):
            result.missed += 1

    def _check_timer(self, listed: ListedReminder, result: Reconciliation) -> None:
        name = listed.schedule_name
        if name is None:
            return
        try:
            armed = self._timers.is_armed(name)
        except TimerError as e:
            logger.error("timer not checked", extra={"reminder": name, "code": e.code})
            return
        if not armed:
            self._rearm(listed, result)

    def _rearm_regimens(self, now: datetime, result: Reconciliation) -> None:
        assert self._regimen_timers is not None
        per_shard = max(1, self._budgets.regimens // SHARDS)
        deadline = _Deadline(self._budgets.regimens_seconds)
        for shard in range(SHARDS):
            for listed in pending.regimens_to_check(shard, now - REGIMEN_RECHECK, per_shard):
                if deadline.passed():
                    return
                regimen = pending.regimen(listed.clinic_id, listed.regimen_id)
                if regimen is None or regimen.timer_check is None:
                    continue
                if not self._regimen_armed(regimen.timers or []):
                    try:
                        rearmed = self._regimen_timers.arm(regimen, now)
                    except TimerError as e:
                        logger.error(
                            "regimen timers not re-armed", extra={"regimen_id": regimen.regimen_id, "code": e.code}
                        )
                        result.rearm_failed += 1
                        continue
                    pending.record_regimen_timers(regimen, [timer.name for timer in rearmed])
                    logger.warning("regimen timers re-armed", extra={"regimen_id": regimen.regimen_id})
                    count("TimersRearmed", channel="regimen")
                    result.regimens_rearmed += 1
                pending.stamp_regimen_checked(regimen, now)

    def _regimen_armed(self, names: list[str]) -> bool:
        try:
            return all(self._timers.is_armed(name) for name in names)
        except TimerError:
            return True  # not known: checked again next time rather than armed twice now

    def _release_held(self, result: Reconciliation) -> None:
        assert self._release is not None
        release = self._release.release_all(self._budgets.held, self._budgets.held_seconds)
        for reminder in release.released:
            logger.info("reminder released after spend cap", extra={"reminder": reminder.schedule_name})
            count("RemindersReleased", channel=reminder.channel)
        for reminder, code in release.not_armed:
            logger.error("released reminder not armed", extra={"reminder": reminder.reminder_id, "code": code})
            count("TimersFailed", channel=reminder.channel)
        result.released = len(release.released)
        result.rearm_failed += len(release.not_armed)

    def _rearm(self, listed: ListedReminder, result: Reconciliation) -> None:
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
            if not reminder.arm_failed:
                pending.mark_unarmed(reminder, self._clock.now())
            return
        if reminder.arm_failed:
            pending.mark_armed(reminder, self._clock.now())
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

    def _delivery_started(self, reminder: ListedReminder | Reminder) -> bool:
        """A claim or a record for the planned occurrence: a send is under way, failed, or done."""
        return pending.delivery_started(f"{reminder.owner_id}/{reminder.reminder_id}", iso_utc(reminder.send_at))


def _days(start: datetime, end: datetime) -> list[datetime]:
    """The midnights (UTC) of the days from `start`'s to `end`'s."""
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    while day <= end:
        days.append(day)
        day += timedelta(days=1)
    return days


def _day_end(day: datetime) -> datetime:
    return day + timedelta(days=1) - timedelta(seconds=1)


def _name_suffix(reminder: Reminder) -> str:
    """The suffix of the timer the reminder waits on (`.quiet` after a deferral, `.cap` after a release), so a
    re-armed timer has the name the reminder records and the next run finds it armed."""
    base = schedule_name(reminder.owner_id, reminder.reminder_id)
    recorded = reminder.schedule_name or base
    return recorded[len(base) :] if recorded.startswith(base) else ""
