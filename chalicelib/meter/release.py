"""Releasing what the spend cap held back: once a clinic is under its cap again (an admin raised it, or a new
month began), its appointment reminders that were skipped for `spend_cap` and are still of use go back to
`scheduled` under a one-time timer of their own, and the fire path sends them.

Release never sends. The released timer goes through the dispatcher like any other, which checks everything
again at fire time (the appointment, quiet hours, opt-outs, the cap itself), so a release that turns out to be
too generous costs nothing but a second `spend_cap` skip. Release is idempotent: a reminder is moved out of
`skipped` only if it is still held (`chalicelib.store.pending`), so a second run (or the CLI and the reconciler
at once) finds nothing left to move, and the timer's name is fixed, so arming it again would only update the
same schedule.

Still of use: an appointment reminder whose appointment is still `booked` at the version the reminder was
planned for, and a cancellation notice whose appointment is still `cancelled` at its version, in both cases for
an appointment that has not started yet. Not released: dose reminders (a dose time in the past is no use, and a
future dose has its own timer) and the other notices (a late "you are booked" or "your visit moved" adds nothing
that the released reminders, which name the current time, do not say).

A released cancellation notice waits for the end of the patient's quiet hours (notices skip them at fire time,
as news of something that just happened; a released one is late news). Candidates are the reminders held for
`spend_cap`, as the sparse `held` rows of the store's `by-due` index list them (`chalicelib.store.due_keys`):
in shards by clinic, so the hourly run reads each clinic's first held reminder, decides once whether the clinic
is under its cap, and skips the rest of a clinic still over it with its next query. A held reminder found of no
use any more (its appointment started, moved or went, or it is older than `LOOKBACK`) stays `skipped` but
leaves the index, so the held rows are only those a release could still send, and a run reads at most its
budget of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from msgspec import Struct, field

from chalicelib.arm.timers import Timer
from chalicelib.clinics.policy import MAX_OFFSET, clinic_policy
from chalicelib.core.errors import StaleVersion, TimerError
from chalicelib.core.records import Appointment, Clinic, ListedReminder, Reminder
from chalicelib.core.words import AppointmentStatus, ClinicStatus, Kind, Status
from chalicelib.plan.quiet_hours import defer_for_quiet_hours
from chalicelib.store import due_keys, pending

if TYPE_CHECKING:
    from chalicelib.arm.timers import ReminderTimers
    from chalicelib.core.clock import Clock
    from chalicelib.meter.meter import UsageMeter

SPEND_CAP = "spend_cap"
RELEASED = "released_after_spend_cap"
# A timer of its own, like a quiet-hours deferral's: the reminder's first timer fired (and deleted itself).
NAME_SUFFIX = ".cap"
# A minute ahead rather than now: Scheduler fires `at()` to the minute, and a time already past is not one to
# rely on. The fire path keys the send on this instant, so it is whole seconds like every timer's.
RELEASE_DELAY = timedelta(minutes=1)
# How far back the `skipped` partition is read. A reminder is planned at most MAX_OFFSET (30 days) before its
# appointment, and a new month, at most 31 days after any skip, brings every clinic under its cap (the hourly run
# then releases): what was held longer than this is of no use, or stayed held through a month the clinic spent
# over its cap again. A day of margin covers the hourly run and a quiet-hours shift.
LOOKBACK = max(MAX_OFFSET, timedelta(days=31)) + timedelta(days=1)
# What each released kind needs its appointment to be, at the reminder's version.
RELEASED_KINDS = {
    Kind.REMINDER.value: AppointmentStatus.BOOKED,
    Kind.CANCELLATION_NOTICE.value: AppointmentStatus.CANCELLED,
}
assert set(RELEASED_KINDS) == set(due_keys.HELD_KINDS), "the index lists what the release can send"  # noqa: S101
_PAGE = 100


class Release(Struct):
    """What one run released, for its caller to report: the CLI prints the counts, the reconciler logs and counts
    them as metrics (this module writes nothing to the log, so the CLI's output stays one JSON object)."""

    released: list[Reminder] = field(default_factory=list)  # back to `scheduled`, their timers armed
    not_armed: list[tuple[Reminder, str]] = field(default_factory=list)  # Scheduler's refusal code; held again

    def add(self, other: Release) -> None:
        self.released += other.released
        self.not_armed += other.not_armed


class SpendCapRelease:
    def __init__(self, clock: Clock, timers: ReminderTimers, meter: UsageMeter) -> None:
        self._clock = clock
        self._timers = timers
        self._meter = meter

    def release_clinic(self, clinic_id: str, budget: int = 10_000) -> Release:
        """After an admin set a clinic's cap: its held reminders (up to `budget`), if it is under the cap now."""
        clinic = pending.clinic(clinic_id)
        if clinic is None or not self._may_send(clinic):
            return Release()
        shard = due_keys.shard(clinic_id)
        result, after = Release(), None
        while budget > 0:
            page = pending.held_page(shard, after, min(budget, _PAGE), clinic_id=clinic_id)
            result.add(self._release(clinic, page))
            budget -= len(page)
            if len(page) < _PAGE:
                break
            after = page[-1].due_sort
        return result

    def release_all(self, budget: int = 800, seconds: float | None = None) -> Release:
        """Hourly: every clinic with held reminders that is under its cap now (a cap raised in the console), at
        most `budget` held reminders read, spread over the shards, for at most `seconds` (monotonic: how long it has
        been working)."""
        result = Release()
        deadline = None if seconds is None else time.monotonic() + seconds
        per_shard = max(1, budget // due_keys.SHARDS)
        may_send: dict[str, Clinic | None] = {}
        tried: set[tuple[str, str]] = set()  # one whose timer was refused is held again, later in the shard
        for shard in range(due_keys.SHARDS):
            read, after = 0, None
            while read < per_shard:
                page = pending.held_page(shard, after, min(per_shard - read, _PAGE))
                read += len(page)
                if not page:
                    break
                for listed in page:
                    if deadline is not None and time.monotonic() > deadline:
                        return result
                    clinic_id = due_keys.held_clinic(listed.due_sort or "")
                    if clinic_id not in may_send:
                        clinic = pending.clinic(clinic_id)
                        may_send[clinic_id] = clinic if clinic is not None and self._may_send(clinic) else None
                    clinic = may_send[clinic_id]
                    if clinic is None:
                        after = f"{clinic_id}#\uffff"  # the rest of this clinic's held reminders: skipped
                        break
                    after = listed.due_sort
                    if (listed.owner_id, listed.reminder_id) not in tried:
                        tried.add((listed.owner_id, listed.reminder_id))
                        result.add(self._release(clinic, [listed]))
                else:
                    if len(page) < _PAGE:
                        break
        return result

    def _may_send(self, clinic: Clinic) -> bool:
        """What the fire path checks first: an active clinic under its cap this month."""
        return clinic.status == ClinicStatus.ACTIVE and not self._meter.cap_reached(clinic, self._clock.now())

    def _release(self, clinic: Clinic, held: Iterable[ListedReminder]) -> Release:
        fire_at = self._clock.now().replace(microsecond=0) + RELEASE_DELAY
        result = Release()
        for listed in held:  # the index lists only the released kinds; `_of_use` checks the stored kind again
            self._release_one(clinic, listed, fire_at, result)
        return result

    def _release_one(self, clinic: Clinic, listed: ListedReminder, fire_at: datetime, result: Release) -> None:
        # The index is eventually consistent: what it listed is read again before anything is decided.
        reminder = pending.reminder(listed.owner_id, listed.reminder_id)
        if reminder is None:
            return
        appointment = self._of_use(reminder, fire_at)
        if appointment is None:
            if reminder.status == Status.SKIPPED and reminder.reason == SPEND_CAP:
                pending.unlist_held(reminder, self._clock.now())  # of no use now, nor later: not read again
            return
        if reminder.kind == Kind.CANCELLATION_NOTICE:
            # A notice is sent at once, quiet hours or not, because it answers something that just happened. A
            # released one is late news: it waits for the end of quiet hours like a reminder (none left before the
            # appointment: not released).
            quiet = clinic_policy(clinic).quiet_hours
            due = defer_for_quiet_hours(fire_at, appointment.timezone, quiet, appointment.start)
            if due is None:
                return
            fire_at = due
        timer = Timer.for_reminder(reminder, fire_at, NAME_SUFFIX)
        held = (Status.SKIPPED.value, SPEND_CAP)
        if not _move(reminder, held, Status.SCHEDULED, RELEASED, self._clock.now(), fire_at, timer.name):
            return  # someone else released (or changed) it first
        try:
            self._timers.arm(timer)
        except TimerError as e:
            # Held again rather than `scheduled` with no timer (which the reconciler would only mark missed):
            # the next run tries again.
            _move(reminder, (Status.SCHEDULED.value, RELEASED), Status.SKIPPED, SPEND_CAP, self._clock.now())
            result.not_armed.append((reminder, e.code))
            return
        result.released.append(reminder)

    def _of_use(self, reminder: Reminder, fire_at: datetime) -> Appointment | None:
        """The reminder's appointment, if the reminder is still held and still of use to it."""
        if reminder.status != Status.SKIPPED or reminder.reason != SPEND_CAP or reminder.kind not in RELEASED_KINDS:
            return None
        appointment = pending.appointment(reminder.clinic_id, reminder.owner_id)
        if appointment is None:
            return None
        if reminder.send_at < self._clock.now() - LOOKBACK:
            return None
        if (
            appointment.status == RELEASED_KINDS[reminder.kind]
            and appointment.version == reminder.owner_version
            and appointment.start > fire_at
        ):
            return appointment
        return None


def _move(
    reminder: Reminder,
    was: tuple[str, str],
    status: Status,
    reason: str,
    now: datetime,
    send_at: datetime | None = None,
    schedule_name: str | None = None,
) -> bool:
    """One conditional write of the reminder's status, from the (status, reason) it `was`; False when it is no
    longer that. With a send time and timer name: the reconciler finds the reminder's timer by this name, and
    send_at is the occurrence the fire path keys on."""
    try:
        pending.move(
            reminder, was=was, status=status.value, reason=reason, now=now, send_at=send_at, schedule_name=schedule_name
        )
    except StaleVersion:
        return False
    return True
