"""What the hourly reconciler (`chalicelib.reconcile`) and the spend-cap release (`chalicelib.meter.release`)
read and mark: the pending reminders of the sparse `by-due` index (`chalicelib.store.due_keys`), and the active
regimens of `by-timer-check`, each read a bounded page at a time; and `status_actions`, the one way every write
in the store changes a reminder's status, reason or send time, so its index keys follow in the same write.

Every read here is a query of one index partition (a day and shard, the unarmed or held reminders of a shard,
a shard's regimens), never a scan. The indexes are eventually consistent, so what they list is read again
(`reminder`, strongly consistent) before anything is decided. Every mark is one conditional write on the
reminder's status (and reason), so a reminder changed since it was read is left alone (`StaleVersion`), and two
runs at once (the reconciler and the admin CLI) cannot both move it.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.core import records
from chalicelib.core.clock import iso_utc
from chalicelib.core.errors import StaleVersion
from chalicelib.core.words import Status
from chalicelib.store import due_keys
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_model, to_record, to_records
from chalicelib.store.models import NEVER_CHECKED, Appointment, Clinic, Delivery, Regimen, Reminder


def status_actions(
    reminder: records.Reminder,
    *,
    status: str,
    reason: str | None,
    send_at: datetime | None = None,
    arm_failed: bool = False,
) -> list[Action]:
    """The update actions that give `reminder` this status and reason (and send time), its `by-due` keys with
    them: set while it is pending, removed when it is not (a sent reminder leaves the index in its sent write)."""
    when = send_at if send_at is not None else reminder.send_at
    armed_failed = arm_failed and status == Status.SCHEDULED.value
    keys = due_keys.pending_keys(
        owner_type=reminder.owner_type,
        owner_id=reminder.owner_id,
        clinic_id=reminder.clinic_id,
        kind=reminder.kind,
        status=status,
        reason=reason,
        send_at=when,
        arm_failed=armed_failed,
    )
    actions: list[Action] = [
        Reminder.status.set(status),
        Reminder.reason.set(reason) if reason is not None else Reminder.reason.remove(),
        Reminder.arm_failed.set(True) if armed_failed else Reminder.arm_failed.remove(),
    ]
    if send_at is not None:
        actions.append(Reminder.send_at.set(send_at))
    if keys is None:
        actions += [Reminder.due_key.remove(), Reminder.due_sort.remove()]
    else:
        actions += [Reminder.due_key.set(keys[0]), Reminder.due_sort.set(keys[1])]
    return actions


# --- reads --------------------------------------------------------------------------------------------------


def due_between(shard: int, day_start: datetime, start: datetime, end: datetime) -> list[records.ListedReminder]:
    """The `scheduled` reminders of one shard and UTC day (that of `day_start`) due from `start` to `end`,
    as the index lists them (keys, send time, timer name)."""
    key = due_keys.day_key(day_start.date(), shard)
    return to_records(
        Reminder.by_due.query(key, Reminder.due_sort.between(iso_utc(start), iso_utc(end))), records.ListedReminder
    )


def unarmed(shard: int, limit: int) -> list[records.ListedReminder]:
    """At most `limit` of the shard's reminders whose timer Scheduler refused, soonest first."""
    return to_records(Reminder.by_due.query(due_keys.unarmed_key(shard), limit=limit), records.ListedReminder)


def held_page(shard: int, after: str | None, limit: int, clinic_id: str | None = None) -> list[records.ListedReminder]:
    """At most `limit` of the shard's reminders held by the spend cap, by clinic and send time, after the
    `due_sort` `after` (None: from the first); only `clinic_id`'s when given."""
    key = due_keys.held_key(shard)
    if clinic_id is not None:
        # After `after` within the clinic's rows: `after` plus the lowest character, up to the clinic's end.
        lowest = after + "\x00" if after is not None else f"{clinic_id}#"
        return to_records(
            Reminder.by_due.query(key, Reminder.due_sort.between(lowest, f"{clinic_id}#\uffff"), limit=limit),
            records.ListedReminder,
        )
    if after is None:
        return to_records(Reminder.by_due.query(key, limit=limit), records.ListedReminder)
    return to_records(Reminder.by_due.query(key, Reminder.due_sort > after, limit=limit), records.ListedReminder)


def regimens_to_check(shard: int, checked_before: datetime, limit: int) -> list[records.ListedRegimen]:
    """At most `limit` of the shard's active regimens whose timers were last checked before `checked_before`
    (never checked first), as the index lists them (keys only)."""
    return to_records(
        Regimen.by_timer_check.query(f"{shard:02d}", Regimen.timers_checked_at < iso_utc(checked_before), limit=limit),
        records.ListedRegimen,
    )


def reminder(owner_id: str, reminder_id: str) -> records.Reminder | None:
    try:
        return to_record(Reminder.get(owner_id, reminder_id, consistent_read=True), records.Reminder)
    except DoesNotExist:
        return None


def appointment(clinic_id: str, appointment_id: str) -> records.Appointment | None:
    try:
        return to_record(Appointment.get(clinic_id, appointment_id, consistent_read=True), records.Appointment)
    except DoesNotExist:
        return None


def clinic(clinic_id: str) -> records.Clinic | None:
    try:
        return to_record(Clinic.get(clinic_id, consistent_read=True), records.Clinic)
    except DoesNotExist:
        return None


def delivery_started(reminder_key: str, occurrence: str) -> bool:
    """Whether the occurrence has a claim or a record (`chalicelib.store.deliveries`)."""
    try:
        Delivery.get(reminder_key, occurrence, consistent_read=True)
    except DoesNotExist:
        return False
    return True


def regimen(clinic_id: str, regimen_id: str) -> records.Regimen | None:
    try:
        return to_record(Regimen.get(clinic_id, regimen_id, consistent_read=True), records.Regimen)
    except DoesNotExist:
        return None


# --- marks (each an update of the stored item; the record passed in is not changed) ------------------------


def mark_missed(reminder: records.Reminder, reason: str, now: datetime) -> None:
    """`scheduled` → `missed`; `StaleVersion` when the reminder is no longer `scheduled`."""
    try:
        to_model(reminder, Reminder).update(
            actions=[
                *status_actions(reminder, status=Status.MISSED.value, reason=reason),
                Reminder.updated_at.set(now),
            ],
            condition=Reminder.status == Status.SCHEDULED.value,
        )
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("reminder") from e
        raise


def move(
    reminder: records.Reminder,
    *,
    was: tuple[str, str],
    status: str,
    reason: str,
    now: datetime,
    send_at: datetime | None = None,
    schedule_name: str | None = None,
) -> None:
    """(status, reason) `was` → (`status`, `reason`), with a new send time and timer name when both are given;
    `StaleVersion` when the reminder is no longer as it `was`."""
    moved = send_at is not None and schedule_name is not None
    actions = [
        *status_actions(reminder, status=status, reason=reason, send_at=send_at if moved else None),
        Reminder.updated_at.set(now),
    ]
    if moved and schedule_name is not None:
        actions.append(Reminder.schedule_name.set(schedule_name))
    try:
        to_model(reminder, Reminder).update(
            actions=actions, condition=(Reminder.status == was[0]) & (Reminder.reason == was[1])
        )
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("reminder") from e
        raise


def mark_unarmed(reminder: records.Reminder, now: datetime) -> None:
    """Scheduler refused the reminder's timer: listed under `unarmed` until it is armed (if still scheduled)."""
    _if_scheduled(
        reminder, status_actions(reminder, status=Status.SCHEDULED.value, reason=reminder.reason, arm_failed=True), now
    )


def mark_armed(reminder: records.Reminder, now: datetime) -> None:
    """Its timer is armed now: back under its day (if still scheduled)."""
    _if_scheduled(reminder, status_actions(reminder, status=Status.SCHEDULED.value, reason=reminder.reason), now)


def _if_scheduled(reminder: records.Reminder, actions: list[Action], now: datetime) -> None:
    try:
        to_model(reminder, Reminder).update(
            actions=[*actions, Reminder.updated_at.set(now)], condition=Reminder.status == Status.SCHEDULED.value
        )
    except UpdateError as e:
        if not condition_failed(e):
            raise


def unlist_held(reminder: records.Reminder, now: datetime) -> None:
    """A held reminder no longer of use (its appointment started, changed or is gone) stays `skipped` but leaves
    the index, so the release does not read it again."""
    try:
        to_model(reminder, Reminder).update(
            actions=[Reminder.due_key.remove(), Reminder.due_sort.remove(), Reminder.updated_at.set(now)],
            condition=(Reminder.status == Status.SKIPPED.value) & (Reminder.reason == due_keys.SPEND_CAP),
        )
    except UpdateError as e:
        if not condition_failed(e):
            raise


def index_unlisted(now: datetime) -> dict[str, int]:
    """A one-off after the `by-due` and `by-timer-check` indexes were added (docs/performance.md): gives every
    stored reminder still pending, and every active regimen, the index keys it was written without. One scan of
    each table; each item is updated only if it is still as read (so a write racing it is never undone), and one
    that has its keys already is left alone, so running it twice changes nothing."""
    listed = {"reminders": 0, "regimens": 0}
    for reminder in Reminder.scan(Reminder.due_key.does_not_exist()):
        keys = due_keys.keys_of(reminder)
        if keys is None:
            continue  # a final state: listed nowhere
        actions = [Reminder.due_key.set(keys[0]), Reminder.due_sort.set(keys[1])]
        try:
            reminder.update(
                actions=[*actions, Reminder.updated_at.set(now)],
                condition=(Reminder.status == reminder.status) & Reminder.due_key.does_not_exist(),
            )
        except UpdateError as e:
            if not condition_failed(e):
                raise
            continue
        listed["reminders"] += 1
    for regimen in Regimen.scan(Regimen.timer_check.does_not_exist() & (Regimen.status == "active")):
        try:
            regimen.update(
                actions=[
                    Regimen.timer_check.set(f"{due_keys.shard(regimen.regimen_id):02d}"),
                    Regimen.timers_checked_at.set(NEVER_CHECKED),
                ],
                condition=(Regimen.status == "active") & Regimen.timer_check.does_not_exist(),
            )
        except UpdateError as e:
            if not condition_failed(e):
                raise
            continue
        listed["regimens"] += 1
    return listed


def write_many(reminders: list[records.Reminder]) -> None:
    """Stores reminders in batches of 25 (BatchWriteItem), unconditionally: for seeding a stage (`make bench`),
    never for a booking, which writes its reminders in its own transaction."""
    with Reminder.batch_write() as batch:
        for reminder in reminders:
            batch.save(to_model(reminder, Reminder))


def record_regimen_timers(regimen: records.Regimen, names: list[str]) -> None:
    """The names of the regimen's timers armed now."""
    to_model(regimen, Regimen).update(actions=[Regimen.timers.set(names)])


def stamp_regimen_checked(regimen: records.Regimen, now: datetime) -> None:
    """The regimen's timers were checked now: it goes to the back of its shard (only while it is listed)."""
    try:
        to_model(regimen, Regimen).update(
            actions=[Regimen.timers_checked_at.set(iso_utc(now))], condition=Regimen.timer_check.exists()
        )
    except UpdateError as e:
        if not condition_failed(e):
            raise
