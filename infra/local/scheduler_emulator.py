"""Local stand-in for EventBridge Scheduler: fires the schedules that CareCue's code stored in moto.

moto stores Scheduler schedules but never fires them. This module owns reading one schedule group through
the Scheduler API, working out when each schedule is due, filling the Input placeholders, calling a callback
in place of the target, and applying ActionAfterCompletion. It does not own time (the caller says up to which
instant to fire, and may pass a clock) nor what the callback does (the local stack wires it to the fire
handler).

Rules followed, as the Scheduler User Guide ("Schedule types") and API Reference describe them:

- Only ENABLED schedules fire. A schedule without a State counts as ENABLED: that is the API default, and
  moto drops the State when an update leaves it out.
- ``at(yyyy-mm-ddThh:mm:ss)`` is a wall time in ScheduleExpressionTimezone (default UTC) and fires once.
  StartDate and EndDate do not apply to it. One armed for a time already past fires late, at the next call.
- ``rate(N minutes|hours|days)`` fires at StartDate, else when the schedule was created, then every N units
  of fixed length: a day is 24 hours, also across a DST change.
- ``cron(minutes hours day-of-month month day-of-week year)`` is AWS syntax (day-of-week 1-7 or SUN-SAT,
  exactly one of the two day fields ``?``, ``L``, ``W``, ``#``) evaluated in the wall time of
  ScheduleExpressionTimezone: ``cron(0 8 * * ? *)`` in Europe/Berlin fires at 08:00 Berlin time all year,
  07:00Z in winter and 06:00Z in summer. Evaluation is croniter's, after translating the fields
  (croniter counts day-of-week 0-6 from Sunday and takes seconds before the year). ``LW`` and ``L-n`` in
  day-of-month are beyond croniter and are reported as invalid.
- Recurring schedules fire from the later of StartDate and the moment the emulator first saw the schedule
  (or its latest update) up to EndDate, both ends inclusive ("invocations might occur on, or after, the
  StartDate"; "might stop on, or before, the EndDate"). Without a clock that moment is moto's CreationDate
  or LastModificationDate; with one it is the clock's time, because moto stamps those dates with real time
  and the local stack lives in simulated time.
- An expression or time zone that Scheduler would refuse (moto accepts anything) is logged and the schedule
  skipped.

Daylight saving time, the rule Scheduler documents for cron expressions:

- Spring forward: an occurrence whose local wall time does not exist is skipped (``cron(30 2 * * ? *)`` in
  Europe/Berlin does not fire on 29 March 2026).
- Fall back: a wall time that happens twice fires once, at its first instance (still on summer time).
- ``rate()`` counts fixed durations, so DST does not move it.

Scheduler documents no rule for an ``at()`` inside a gap or an overlap. Here an ``at()`` wall time that does
not exist fires at the instant it names under the offset in force before the change (02:30 on 29 March in
Berlin fires at 01:30Z, which is 03:30 summer time), and one that happens twice fires at its first instance:
a one-time schedule has no later occurrence to fall back on, and skipping it would silently lose a reminder.

Retries and the dead-letter queue, as the User Guide ("Configuring a retry policy", "Configuring a dead-letter
queue") describes them, on the caller's clock:

- An invocation that raises is tried again, with the same execution id and the attempt number one higher.
  Scheduler's back-off is exponential with jitter and undocumented in its figures; here, without jitter so that
  tests can name the instants, retry n is due ``RETRY_BASE_DELAY * 2**(n-1)`` after the attempt before it (1, 2,
  4, 8, 16... minutes). A retry is due on the clock like any occurrence and fires in due order with the rest.
- The retries stop after MaximumRetryAttempts, or when the next one would be due more than
  MaximumEventAgeInSeconds after the scheduled time (AWS defaults without a RetryPolicy: 185 and 86,400 s).
  With CareCue's policy (20 attempts, 3,600 s) a failing reminder is tried at +0, +1, +3, +7, +15 and +31
  minutes and dead-lettered at +31.
- Exhausted, the event goes to the schedule's DeadLetterConfig queue (an `sqs_client` is needed): the body is the
  Input as the target received it, placeholders filled; the message attributes name the schedule, the target,
  the scheduled time, the execution id and the error (its exception class, never its message, which may hold
  patient data). Without a DLQ, or when the send fails, the event is dropped with a log line, as Scheduler
  drops it.
- A one-time schedule with ActionAfterCompletion DELETE is deleted after its final attempt (success or
  dead-letter), not after its first.
- Pending retries are part of `memory()`, so a stopped and restored stack still makes them.

Not emulated: FlexibleTimeWindow (everything fires at its scheduled time, as with Mode OFF).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_scheduler.type_defs import GetScheduleOutputTypeDef
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

# A schedule that re-arms itself for "now" on every invocation would otherwise loop for ever; 10,000 is more
# than a year of hourly reminders for one patient (8,760) and still returns in seconds.
MAX_FIRINGS_PER_CALL = 10_000
# ListSchedules gives at most 100 schedules a page (its MaxResults); moto defaults to 50.
PAGE_SIZE = 100
# Scheduler's defaults when a schedule has no RetryPolicy (API Reference, RetryPolicy).
DEFAULT_MAX_RETRY_ATTEMPTS = 185
DEFAULT_MAX_EVENT_AGE = timedelta(seconds=86_400)
# The first retry's delay; each next one waits twice as long as the one before.
RETRY_BASE_DELAY = timedelta(minutes=1)
# Every occurrence falls on a whole second, so one microsecond before an instant is "strictly before it".
_TICK = timedelta(microseconds=1)
# A cron occurrence is skipped only inside a DST gap or the second pass of an overlap; an every-minute
# cron skips at most a few hundred candidates there (2 h in the widest zones), so more means a bug.
_MAX_SKIPPED_CANDIDATES = 10_000

_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_RATE = re.compile(r"rate\((\d+) (minutes?|hours?|days?)\)")
_CRON = re.compile(r"cron\((.*)\)")
_RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_NUMERIC_FIELD = re.compile(r"[0-9*,/-]+")
_DAY_OF_MONTH_FIELD = re.compile(r"[0-9*,/?LW-]+")
_MONTH_FIELD = re.compile(r"[0-9A-Z*,/-]+")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

_SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
_EXECUTION_ID = "<aws.scheduler.execution-id>"
_SCHEDULE_ARN = "<aws.scheduler.schedule-arn>"
_ATTEMPT_NUMBER = "<aws.scheduler.attempt-number>"


@dataclass(frozen=True)
class Firing:
    """One invocation the emulator made, as Scheduler would have made it."""

    schedule_name: str
    scheduled_time: datetime  # aware UTC
    target_arn: str
    event: Any  # the Input JSON parsed, placeholders filled
    result: Any = None  # what invoke returned, or None
    error: str | None = None  # exception class name if invoke raised
    attempt: int = 1  # 1 the first time, 2 the first retry...
    dead_lettered: bool = False  # this failed attempt was the last: the event went to the DLQ (if any)


class InvalidScheduleExpression(ValueError):
    """An expression or time zone that Scheduler would refuse, or that the emulator cannot evaluate."""


@dataclass(frozen=True)
class _OneTime:
    instant: datetime


@dataclass(frozen=True)
class _Rate:
    period: timedelta

    def occurrences_after(self, anchor: datetime, moment: datetime) -> Iterator[datetime]:
        """anchor + k * period for k = 0, 1, ..., strictly after `moment`."""
        occurrence = anchor if moment < anchor else anchor + ((moment - anchor) // self.period + 1) * self.period
        while True:
            yield occurrence
            occurrence += self.period


@dataclass(frozen=True)
class _Cron:
    expression: str  # in croniter's 7-field form
    zone: ZoneInfo

    def occurrences_after(self, moment: datetime) -> Iterator[datetime]:
        """The occurrences strictly after `moment`, in order, until the expression has no more."""
        # croniter walks naive wall-clock times (it treats a naive start as UTC, so no DST arithmetic
        # happens inside it); each wall time is then placed in the zone by the DST rule above. Placing
        # an ambiguous time at its first instance keeps the instants in the order of the wall times.
        wall = moment.astimezone(self.zone).replace(tzinfo=None)
        candidates = croniter(self.expression, wall)
        skipped = 0
        while True:
            try:
                candidate: datetime = candidates.get_next(datetime)
            except CroniterBadDateError:
                return
            instant = _existing_instant(candidate, self.zone)
            if instant is None or instant <= moment:
                skipped += 1
                if skipped > _MAX_SKIPPED_CANDIDATES:
                    raise RuntimeError(f"cron {self.expression!r} in {self.zone.key} skipped too many wall times")
                continue
            skipped = 0
            yield instant


_Plan = _OneTime | _Rate | _Cron


@dataclass(frozen=True)
class _Schedule:
    """What the emulator needs from GetSchedule."""

    name: str
    arn: str
    target_arn: str
    input: str | None
    expression: str
    timezone: str
    start: datetime | None
    end: datetime | None
    delete_after_completion: bool
    created: datetime
    modified: datetime
    max_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS
    max_event_age: timedelta = DEFAULT_MAX_EVENT_AGE
    dead_letter_arn: str | None = None

    @classmethod
    def from_api(cls, detail: GetScheduleOutputTypeDef) -> _Schedule:
        target = detail["Target"]
        retry = target.get("RetryPolicy") or {}
        return cls(
            name=detail["Name"],
            arn=detail["Arn"],
            target_arn=target["Arn"],
            input=target.get("Input"),
            expression=detail["ScheduleExpression"],
            timezone=detail.get("ScheduleExpressionTimezone") or "UTC",
            start=_utc_or_none(detail.get("StartDate")),
            end=_utc_or_none(detail.get("EndDate")),
            delete_after_completion=detail.get("ActionAfterCompletion") == "DELETE",
            created=_utc(detail["CreationDate"]),
            modified=_utc(detail["LastModificationDate"]),
            max_retry_attempts=int(retry.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)),
            max_event_age=timedelta(
                seconds=int(retry.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE.total_seconds()))
            ),
            dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
        )


@dataclass(frozen=True)
class _Retry:
    """An invocation that failed and is to be tried again: what it was, and when the next attempt is due."""

    due: datetime
    schedule: _Schedule  # the version that fired: the retry keeps its Input even if the schedule changes
    scheduled_time: datetime
    execution_id: str
    attempt: int  # the number of the attempt that is due


@dataclass
class _Memory:
    """What the emulator remembers about one schedule name between listings."""

    created: datetime  # CreationDate: tells a re-created schedule from the one deleted before it
    version: datetime  # LastModificationDate of the version last seen
    version_seen: datetime  # when that version was first seen: recurring schedules fire from there
    last_fired: datetime | None = None  # recurring: the latest occurrence fired
    fired_once: set[datetime] = field(default_factory=set)  # at(): the instants fired
    # The next pending occurrence and what it was computed from: every firing re-scans all schedules, and
    # asking croniter again for each of them would make a month of a busy clinic take minutes.
    next_key: tuple[object, ...] | None = None
    next_pending: datetime | None = None


class SchedulerEmulator:
    """Fires the ENABLED schedules of one group in due order by calling `invoke(target_arn, event)`.

    `now`, when given, is the clock the schedules are created by (the local stack's simulated clock); see
    the module docstring for why. `interrupted`, when given, is asked before each invocation: once it says
    True, `fire_due` returns what it fired so far (the local stack stops within seconds even while a month
    of timers is being fired; the rest fire after the next start). Safe to call from several threads: calls
    run one at a time.
    """

    def __init__(
        self,
        scheduler_client: EventBridgeSchedulerClient,
        group_name: str,
        invoke: Callable[[str, Any], Any],
        *,
        sqs_client: SQSClient | None = None,
        now: Callable[[], datetime] | None = None,
        max_firings_per_call: int = MAX_FIRINGS_PER_CALL,
        interrupted: Callable[[], bool] | None = None,
        writes: Callable[[], int] | None = None,
    ) -> None:
        self._client = scheduler_client
        # How many writes the Scheduler has taken (creates, updates, deletes of schedules and groups, anyone's), when
        # the caller can tell (the local stack counts them in moto: infra/local/moto_queries.py). With it, `fire_due`
        # lists the schedules again after an invocation only if someone other than the emulator wrote meanwhile:
        # one listing of 20,000 schedules is 200 requests, and firing a day of a large clinic's reminders would
        # otherwise list them once per reminder.
        self._writes = writes
        self._listed_at: int | None = None  # the count when the last listing began
        self._own_writes = 0  # the emulator's own writes since then (its deletes after completion)
        self._listed: list[_Schedule] | None = None  # what that listing found enabled
        self._sqs = sqs_client  # for the dead-letter queues; without it a dead-lettered event is only logged
        self._group = group_name
        self._invoke = invoke
        self._now = now
        self._max_firings = max_firings_per_call
        self._interrupted = interrupted
        # Re-entrant because an invocation may, through the local stack, ask for what is due.
        self._lock = threading.RLock()
        self._memory: dict[str, _Memory] = {}
        self._retries: list[_Retry] = []  # pending retries, in no order
        # The names whose memory changed (or was forgotten) since `memory_changes` last told, and what it told of
        # the rest: the local stack's journal records only the change (infra/local/journal.py).
        self._changed_names: set[str] = set()
        self._told: tuple[datetime | None, list[_Retry]] = (None, [])
        # Keyed by name, checked against (CreationDate, LastModificationDate) from the listing, so that a
        # firing costs one ListSchedules and a GetSchedule only for schedules that changed.
        self._details: dict[str, _Schedule] = {}
        self._plans: dict[tuple[str, str], _Plan | InvalidScheduleExpression] = {}
        self._reported_invalid: set[tuple[str, datetime]] = set()
        # The latest instant handed to on_time: a schedule armed in the past fires late, never backwards.
        self._reached: datetime | None = None

    def memory(self) -> dict[str, Any]:
        """What the emulator remembers of the schedules (what fired, when each version was first seen), for the
        local stack's snapshot; `restore_memory` takes it back. The schedules themselves are moto's."""
        with self._lock:
            return {"schedules": self._memory, "reached": self._reached, "retries": list(self._retries)}

    def restore_memory(self, memory: dict[str, Any]) -> None:
        with self._lock:
            self._memory = dict(memory["schedules"])
            self._reached = memory["reached"]
            self._retries = list(memory.get("retries", []))  # a snapshot from before retries has none
            self._listed = None  # listed again against the memory restored
            self._changed_names = set()
            self._told = (self._reached, list(self._retries))

    def memory_changes(self) -> dict[str, Any] | None:
        """What `memory()` gained or lost since the last call (None: nothing): the memory of each schedule name
        that changed (None for one forgotten), and the instant reached and the pending retries when they changed.
        `apply_memory_changes` folds it into a `memory()`. Never waits: while another thread is firing (the lock
        is held for all of `fire_due`) it says None, and the changes are told by a later call."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            told = (self._reached, list(self._retries))
            if not self._changed_names and told == self._told:
                return None
            changes = {
                # Copies, made under the lock: the record is written while the emulator goes on firing.
                "schedules": {name: _copied(self._memory.get(name)) for name in self._changed_names},
                "reached": self._reached,
                "retries": list(self._retries),
            }
            self._changed_names = set()
            self._told = told
            return changes
        finally:
            self._lock.release()

    def due(self, up_to: datetime, per_schedule: int | None = None) -> list[tuple[datetime, str]]:
        """(scheduled_time, schedule_name) of every occurrence not yet fired up to `up_to`, in firing order.

        A recurring schedule contributes at most `per_schedule` occurrences (default `max_firings_per_call`):
        ask for 1 to list what is armed without enumerating a daily cron to the end of time.
        """
        limit = _utc(up_to)
        cap = self._max_firings if per_schedule is None else per_schedule
        with self._lock:
            found: list[tuple[datetime, str]] = []
            for schedule in self._load():
                for count, occurrence in enumerate(self._pending(schedule)):
                    if occurrence > limit or count >= cap:
                        break
                    found.append((occurrence, schedule.name))
            found.extend((retry.due, retry.schedule.name) for retry in self._retries if retry.due <= limit)
            return sorted(found)

    def event_of(self, name: str, scheduled_time: datetime) -> Any:
        """The event schedule `name` would be invoked with at `scheduled_time` (None: not known to `due`), for
        the local console's view of what is coming; it fires nothing."""
        moment = _utc(scheduled_time)
        with self._lock:
            for retry in self._retries:  # `due` lists a pending retry at the instant it is due
                if retry.schedule.name == name and retry.due == moment:
                    return _event(retry.schedule, retry.scheduled_time, retry.execution_id, retry.attempt)
            schedule = self._details.get(name)
            return None if schedule is None else _event(schedule, moment, str(uuid.uuid4()), 1)

    def fire_due(self, up_to: datetime, on_time: Callable[[datetime], object] | None = None) -> list[Firing]:
        """Fires everything due up to `up_to`, earliest first, and returns the firings in order.

        Before each invocation `on_time` (if given) receives the instant the firing happens: its scheduled
        time, or the latest instant already reached if that is later (one armed in the past fires late).
        Schedules are listed again after every invocation (with `writes`, after one that wrote to the Scheduler),
        because an invocation may create, update or delete schedules, and a schedule it arms for a time up to
        `up_to` fires in this same call.
        """
        limit = _utc(up_to)
        firings: list[Firing] = []
        with self._lock:
            # The last listing still holds if no one wrote since (an idle stack's tick lists nothing).
            schedules = self._listed if self._listing_current() else None
            while True:
                if self._interrupted is not None and self._interrupted():
                    return firings  # not up to `limit`: nothing past the last firing is settled
                if schedules is None or not self._listing_current():
                    schedules = self._load()
                earliest = self._earliest(schedules, limit)
                retry = self._earliest_retry(limit)
                if earliest is None and retry is None:
                    break
                if len(firings) >= self._max_firings:
                    raise RuntimeError(
                        f"more than {self._max_firings} firings due up to {limit.isoformat()}; "
                        f"is a schedule re-arming itself? The last was {firings[-1].schedule_name!r}"
                    )
                # A retry due at the same instant as an occurrence goes first: it has waited longer.
                if retry is not None and (earliest is None or retry.due <= earliest[0]):
                    self._retries.remove(retry)
                    at = self._reach(retry.due)
                    if on_time is not None:
                        on_time(at)
                    firings.append(
                        self._attempt(retry.schedule, retry.scheduled_time, retry.execution_id, retry.attempt, at)
                    )
                    continue
                assert earliest is not None  # noqa: S101 - the branch above took the other case
                scheduled_time, schedule = earliest
                self._mark_fired(schedule, scheduled_time)
                at = self._reach(scheduled_time)
                if on_time is not None:
                    on_time(at)
                firings.append(self._attempt(schedule, scheduled_time, str(uuid.uuid4()), 1, at))
            self._delete_completed_recurring(schedules, limit)
        return firings

    def _listing_current(self) -> bool:
        """Whether no one but the emulator has written to the Scheduler since the last listing began (False when
        that cannot be told): the schedules listed then, less the ones the emulator deleted, are all there are."""
        if self._writes is None or self._listed_at is None or self._listed is None:
            return False
        return self._writes() == self._listed_at + self._own_writes

    def _load(self) -> list[_Schedule]:
        # Counted before listing: a write during the listing makes the next check list again.
        self._listed_at = self._writes() if self._writes is not None else None
        self._own_writes = 0
        enabled: list[_Schedule] = []
        listed: set[str] = set()
        pages = self._client.get_paginator("list_schedules").paginate(
            GroupName=self._group, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            for summary in page["Schedules"]:
                name = summary["Name"]
                listed.add(name)
                if summary.get("State", "ENABLED") != "ENABLED":
                    continue
                version = (_utc(summary["CreationDate"]), _utc(summary["LastModificationDate"]))
                schedule = self._details.get(name)
                if schedule is None or (schedule.created, schedule.modified) != version:
                    try:
                        detail = self._client.get_schedule(Name=name, GroupName=self._group)
                    except self._client.exceptions.ResourceNotFoundException:
                        continue  # deleted between the listing and now
                    schedule = _Schedule.from_api(detail)
                    self._details[name] = schedule
                self._remember(schedule)
                enabled.append(schedule)
        # A deleted schedule is forgotten, so one re-created under its name is a new schedule.
        for name in set(self._memory) - listed:
            del self._memory[name]
            self._changed_names.add(name)
        for name in set(self._details) - listed:
            del self._details[name]
        self._listed = enabled
        return enabled

    def _remember(self, schedule: _Schedule) -> None:
        memory = self._memory.get(schedule.name)
        if memory is None or memory.created != schedule.created:
            self._memory[schedule.name] = _Memory(
                created=schedule.created,
                version=schedule.modified,
                version_seen=self._seen_at(schedule.modified),
            )
            self._changed_names.add(schedule.name)
        elif memory.version != schedule.modified:
            memory.version = schedule.modified
            memory.version_seen = self._seen_at(schedule.modified)
            self._changed_names.add(schedule.name)

    def _seen_at(self, stamped: datetime) -> datetime:
        return _utc(self._now()) if self._now is not None else stamped

    def _plan(self, schedule: _Schedule) -> _Plan | None:
        key = (schedule.expression, schedule.timezone)
        plan = self._plans.get(key)
        if plan is None:
            try:
                plan = _parse(schedule.expression, schedule.timezone)
            except InvalidScheduleExpression as invalid:
                plan = invalid
            self._plans[key] = plan
        if isinstance(plan, InvalidScheduleExpression):
            if (schedule.name, schedule.modified) not in self._reported_invalid:
                self._reported_invalid.add((schedule.name, schedule.modified))
                logger.warning(
                    "scheduler emulator: skipping invalid schedule name=%s expression=%s timezone=%s reason=%s",
                    schedule.name,
                    schedule.expression,
                    schedule.timezone,
                    plan,
                )
            return None
        return plan

    def _is_one_time(self, schedule: _Schedule) -> bool:
        return isinstance(self._plan(schedule), _OneTime)

    def _pending(self, schedule: _Schedule) -> Iterator[datetime]:
        """The schedule's occurrences not yet fired, in time order (endless for most recurring ones)."""
        plan = self._plan(schedule)
        if plan is None:
            return
        memory = self._memory[schedule.name]
        if isinstance(plan, _OneTime):
            if plan.instant not in memory.fired_once:
                yield plan.instant
            return
        begin = memory.version_seen
        if schedule.start is not None and schedule.start > begin:
            begin = schedule.start
        after = begin - _TICK
        if memory.last_fired is not None and memory.last_fired > after:
            after = memory.last_fired
        if isinstance(plan, _Rate):
            anchor = schedule.start if schedule.start is not None else memory.version_seen
            occurrences = plan.occurrences_after(anchor, after)
        else:
            occurrences = plan.occurrences_after(after)
        for occurrence in occurrences:
            if schedule.end is not None and occurrence > schedule.end:
                return
            yield occurrence

    def _next_pending(self, schedule: _Schedule) -> datetime | None:
        memory = self._memory[schedule.name]
        key = (schedule.modified, memory.version_seen, memory.last_fired, len(memory.fired_once))
        if memory.next_key != key:
            memory.next_key = key
            memory.next_pending = next(self._pending(schedule), None)
        return memory.next_pending

    def _earliest(self, schedules: list[_Schedule], limit: datetime) -> tuple[datetime, _Schedule] | None:
        best: tuple[datetime, _Schedule] | None = None
        for schedule in schedules:
            occurrence = self._next_pending(schedule)
            if occurrence is None or occurrence > limit:
                continue
            if best is None or (occurrence, schedule.name) < (best[0], best[1].name):
                best = (occurrence, schedule)
        return best

    def _mark_fired(self, schedule: _Schedule, scheduled_time: datetime) -> None:
        memory = self._memory[schedule.name]
        if self._is_one_time(schedule):
            memory.fired_once.add(scheduled_time)
        else:
            memory.last_fired = scheduled_time
        self._changed_names.add(schedule.name)

    def _reach(self, scheduled_time: datetime) -> datetime:
        reached = scheduled_time
        if self._reached is not None and self._reached > reached:
            reached = self._reached
        if self._now is not None:
            reached = max(reached, _utc(self._now()))
        self._reached = reached
        return reached

    def _earliest_retry(self, limit: datetime) -> _Retry | None:
        due = [retry for retry in self._retries if retry.due <= limit]
        return min(due, key=lambda retry: (retry.due, retry.schedule.name)) if due else None

    def _attempt(
        self, schedule: _Schedule, scheduled_time: datetime, execution_id: str, attempt: int, at: datetime
    ) -> Firing:
        """One attempt at the target, made at `at`; a failure is retried or dead-lettered, and a one-time schedule
        that asked for it is deleted once no attempt is left."""
        firing = self._call_target(schedule, scheduled_time, execution_id, attempt)
        if firing.error is not None:
            next_due = at + RETRY_BASE_DELAY * 2 ** (attempt - 1)
            if attempt <= schedule.max_retry_attempts and next_due - scheduled_time <= schedule.max_event_age:
                self._retries.append(_Retry(next_due, schedule, scheduled_time, execution_id, attempt + 1))
                return firing
            self._dead_letter(schedule, scheduled_time, execution_id, firing)
            firing = dataclasses.replace(firing, dead_lettered=True)
        if schedule.delete_after_completion and self._is_one_time(schedule):
            self._delete_after_completion(schedule)
        return firing

    def _call_target(self, schedule: _Schedule, scheduled_time: datetime, execution_id: str, attempt: int) -> Firing:
        event = _event(schedule, scheduled_time, execution_id, attempt)
        try:
            result = self._invoke(schedule.target_arn, event)
        # Scheduler isolates targets from each other: one failing invocation is retried and then
        # dead-lettered, and every other schedule still fires.
        except Exception as failure:
            logger.warning(
                "scheduler emulator: invocation failed name=%s scheduled_time=%s target=%s attempt=%d error=%s",
                schedule.name,
                _iso_z(scheduled_time),
                schedule.target_arn,
                attempt,
                type(failure).__name__,
                exc_info=True,
            )
            return Firing(
                schedule.name, scheduled_time, schedule.target_arn, event, error=type(failure).__name__, attempt=attempt
            )
        return Firing(schedule.name, scheduled_time, schedule.target_arn, event, result=result, attempt=attempt)

    def _dead_letter(self, schedule: _Schedule, scheduled_time: datetime, execution_id: str, firing: Firing) -> None:
        """The event Scheduler gave up on, to the schedule's dead-letter queue (or dropped, logged, without one)."""
        if schedule.dead_letter_arn is None or self._sqs is None:
            logger.warning(
                "scheduler emulator: retries exhausted, no dead-letter queue, event dropped name=%s attempts=%d",
                schedule.name,
                firing.attempt,
            )
            return
        _, _, _, _, account, queue_name = schedule.dead_letter_arn.split(":", 5)
        body = firing.event if isinstance(firing.event, str) else json.dumps(firing.event)
        attributes = {
            "ERROR_CODE": firing.error or "Unknown",
            "EXECUTION_ID": execution_id,
            "SCHEDULE_ARN": schedule.arn,
            "SCHEDULED_TIME": _iso_z(scheduled_time),
            "TARGET_ARN": schedule.target_arn,
            "RETRY_ATTEMPTS": str(firing.attempt - 1),
        }
        try:
            url = self._sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._sqs.send_message(
                QueueUrl=url,
                MessageBody=body,
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        except Exception as failure:  # Scheduler drops an event it cannot dead-letter; so does the emulator
            logger.warning(
                "scheduler emulator: dead-lettering failed, event dropped name=%s error=%s",
                schedule.name,
                type(failure).__name__,
            )
            return
        logger.warning(
            "scheduler emulator: retries exhausted, event dead-lettered name=%s attempts=%d",
            schedule.name,
            firing.attempt,
        )

    def _delete_after_completion(self, schedule: _Schedule) -> None:
        try:
            current = self._client.get_schedule(Name=schedule.name, GroupName=self._group)
        except self._client.exceptions.ResourceNotFoundException:
            return  # the invocation deleted it already
        if (_utc(current["CreationDate"]), _utc(current["LastModificationDate"])) != (
            schedule.created,
            schedule.modified,
        ):
            # The invocation re-armed the schedule under the same name. Deleting that would lose the new
            # timer here; on AWS the completion delete races with the update, so re-arm under a new name.
            logger.warning(
                "scheduler emulator: schedule changed during its own invocation, not deleting it name=%s",
                schedule.name,
            )
            return
        self._delete(schedule.name)

    def _delete_completed_recurring(self, schedules: list[_Schedule], limit: datetime) -> None:
        for schedule in schedules:
            if not schedule.delete_after_completion or self._is_one_time(schedule):
                continue
            if self._plan(schedule) is None:
                continue
            ended = schedule.end is not None and schedule.end <= limit
            if ended or self._next_pending(schedule) is None:
                self._delete(schedule.name)

    def _delete(self, name: str) -> None:
        self._own_writes += 1  # one request, counted by the Scheduler whether it finds the schedule or not
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except self._client.exceptions.ResourceNotFoundException:
            pass  # deleted meanwhile, which is the outcome wanted


def _parse(expression: str, timezone: str) -> _Plan:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as unknown:
        raise InvalidScheduleExpression(f"unknown time zone {timezone!r}") from unknown
    if at := _AT.fullmatch(expression):
        try:
            wall = datetime.fromisoformat(at[1])
        except ValueError as impossible:
            raise InvalidScheduleExpression(f"{expression!r} names no real date") from impossible
        # fold=0: the first instance of a repeated wall time, the pre-change offset for a missing one.
        return _OneTime(wall.replace(tzinfo=zone).astimezone(UTC))
    if rate := _RATE.fullmatch(expression):
        count = int(rate[1])
        if count < 1:
            raise InvalidScheduleExpression(f"{expression!r} needs a positive value")
        return _Rate(count * _RATE_UNITS[rate[2].removesuffix("s")])
    if cron := _CRON.fullmatch(expression):
        return _Cron(_croniter_expression(cron[1]), zone)
    raise InvalidScheduleExpression(f"{expression!r} is neither at(), rate() nor cron()")


def _croniter_expression(aws_fields: str) -> str:
    """AWS `minutes hours day-of-month month day-of-week year` as croniter's 7 fields (seconds sixth)."""
    fields = aws_fields.upper().split()
    if len(fields) != 6:
        raise InvalidScheduleExpression(f"cron({aws_fields}) has {len(fields)} fields, not 6")
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise InvalidScheduleExpression(f"cron({aws_fields}) needs ? in exactly one of the two day fields")
    checks = (
        (minutes, _NUMERIC_FIELD),
        (hours, _NUMERIC_FIELD),
        (day_of_month, _DAY_OF_MONTH_FIELD),
        (month, _MONTH_FIELD),
        (year, _NUMERIC_FIELD),
    )
    for value, allowed in checks:
        # croniter also reads its own extensions (H hashes, @daily); AWS has none of them.
        if not allowed.fullmatch(value):
            raise InvalidScheduleExpression(f"cron({aws_fields}): {value!r} is not an AWS cron field")
    if day_of_month == "LW" or day_of_month.startswith("L-"):
        raise InvalidScheduleExpression(f"cron({aws_fields}): the emulator cannot evaluate {day_of_month!r}")
    if day_of_week != "?":
        day_of_week = ",".join(_croniter_day_of_week(item, aws_fields) for item in day_of_week.split(","))
    expression = f"{minutes} {hours} {day_of_month} {month} {day_of_week} 0 {year}"
    try:
        croniter(expression, datetime(2000, 1, 1))
    except CroniterError as refused:
        raise InvalidScheduleExpression(f"cron({aws_fields}): {refused}") from refused
    return expression


def _croniter_day_of_week(item: str, aws_fields: str) -> str:
    if item == "*":
        return "*"
    if item == "L":
        return "6"  # alone, L is the last day of the week: Saturday
    if "/" in item:
        raise InvalidScheduleExpression(f"cron({aws_fields}): day-of-week takes no step in AWS cron")
    if len(item) > 1 and item.endswith("L"):
        return f"l{_croniter_day(item[:-1], aws_fields)}"  # croniter's "last <day> of the month"
    if "#" in item:
        day, _, nth = item.partition("#")
        return f"{_croniter_day(day, aws_fields)}#{nth}"
    if "-" in item:
        first, _, last = item.partition("-")
        return f"{_croniter_day(first, aws_fields)}-{_croniter_day(last, aws_fields)}"
    return str(_croniter_day(item, aws_fields))


def _croniter_day(day: str, aws_fields: str) -> int:
    """AWS 1-7 or SUN-SAT (Sunday first) as croniter's 0-6 (Sunday 0)."""
    if day in _DAY_NAMES:
        return _DAY_NAMES.index(day)
    if day.isdigit() and 1 <= int(day) <= 7:
        return int(day) - 1
    raise InvalidScheduleExpression(f"cron({aws_fields}): {day!r} is not a day of the week")


def _existing_instant(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The instant a wall time names in `zone` (the first of two in an overlap), None inside a gap."""
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


def _event(schedule: _Schedule, scheduled_time: datetime, execution_id: str, attempt: int) -> Any:
    if schedule.input is None:
        return None
    text = (
        schedule.input.replace(_SCHEDULED_TIME, _iso_z(scheduled_time))
        .replace(_EXECUTION_ID, execution_id)
        .replace(_SCHEDULE_ARN, schedule.arn)
        .replace(_ATTEMPT_NUMBER, str(attempt))
    )
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # Scheduler passes Input verbatim; a target other than Lambda may take plain text


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


def _copied(memory: _Memory | None) -> _Memory | None:
    return None if memory is None else dataclasses.replace(memory, fired_once=set(memory.fired_once))


def apply_memory_changes(memory: dict[str, Any], changes: dict[str, Any]) -> None:
    """Folds `SchedulerEmulator.memory_changes()` into a `memory()` (a snapshot's, at a start)."""
    schedules = memory.setdefault("schedules", {})
    for name, remembered in changes["schedules"].items():
        if remembered is None:
            schedules.pop(name, None)
        else:
            schedules[name] = remembered
    memory["reached"] = changes["reached"]
    memory["retries"] = list(changes["retries"])
