"""What the hourly reconciler (`chalicelib.reconcile`) and the spend-cap release (`chalicelib.meter.release`)
read and mark: reminders still waiting for a send, or held back, and the regimens whose timers they re-arm.

Reminders are listed through the `by-status` index (one status, by send time): a query of one partition, not
a scan of every reminder ever planned. The index is eventually consistent, so what it lists is read again
(`reminder`, strongly consistent) before anything is decided. Every mark is one conditional write on the
reminder's status (and reason), so a reminder changed since it was read is left alone (`StaleVersion`), and two
runs at once (the reconciler and the admin CLI) cannot both move it. Active regimens are found by a scan of the
regimens table: it is small, one item per regimen.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.core.errors import StaleVersion
from chalicelib.core.words import RegimenStatus, Status
from chalicelib.store.conditions import condition_failed
from chalicelib.store.models import Appointment, Clinic, Delivery, Regimen, Reminder

# --- reads --------------------------------------------------------------------------------------------------


def scheduled() -> Iterable[Reminder]:
    """Every reminder still `scheduled`, as the index lists them."""
    return Reminder.by_status.query(Status.SCHEDULED.value)


def skipped_since(since: datetime, *, reason: str, owner_type: str, clinic_id: str | None = None) -> list[Reminder]:
    """Reminders `skipped` for `reason` with a send time from `since` on, as the index lists them."""
    held = (Reminder.reason == reason) & (Reminder.owner_type == owner_type)
    if clinic_id is not None:
        held = held & (Reminder.clinic_id == clinic_id)
    recent = Reminder.send_at >= since
    return list(Reminder.by_status.query(Status.SKIPPED.value, recent, filter_condition=held))


def reminder(owner_id: str, reminder_id: str) -> Reminder | None:
    try:
        return Reminder.get(owner_id, reminder_id, consistent_read=True)
    except DoesNotExist:
        return None


def appointment(clinic_id: str, appointment_id: str) -> Appointment | None:
    try:
        return Appointment.get(clinic_id, appointment_id, consistent_read=True)
    except DoesNotExist:
        return None


def clinic(clinic_id: str) -> Clinic | None:
    try:
        return Clinic.get(clinic_id, consistent_read=True)
    except DoesNotExist:
        return None


def delivery_started(reminder_key: str, occurrence: str) -> bool:
    """Whether the occurrence has a claim or a record (`chalicelib.store.deliveries`)."""
    try:
        Delivery.get(reminder_key, occurrence, consistent_read=True)
    except DoesNotExist:
        return False
    return True


def active_regimens() -> Iterable[Regimen]:
    return Regimen.scan(Regimen.status == RegimenStatus.ACTIVE)


# --- marks (each updates its record in place) ---------------------------------------------------------------


def mark_missed(reminder: Reminder, reason: str, now: datetime) -> None:
    """`scheduled` → `missed`; `StaleVersion` when the reminder is no longer `scheduled`."""
    try:
        reminder.update(
            actions=[
                Reminder.status.set(Status.MISSED.value),
                Reminder.reason.set(reason),
                Reminder.updated_at.set(now),
            ],
            condition=Reminder.status == Status.SCHEDULED.value,
        )
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("reminder") from e
        raise


def move(
    reminder: Reminder,
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
    actions: list[Action] = [
        Reminder.status.set(status),
        Reminder.reason.set(reason),
        Reminder.updated_at.set(now),
    ]
    if send_at is not None and schedule_name is not None:
        actions += [Reminder.send_at.set(send_at), Reminder.schedule_name.set(schedule_name)]
    try:
        reminder.update(actions=actions, condition=(Reminder.status == was[0]) & (Reminder.reason == was[1]))
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("reminder") from e
        raise


def record_regimen_timers(regimen: Regimen, names: list[str]) -> None:
    """The names of the regimen's timers armed now."""
    regimen.update(actions=[Regimen.timers.set(names)])
