"""The keys of the sparse `by-due` index of reminders (docs/performance.md): where a pending appointment
reminder is listed, and that a reminder in a final state is listed nowhere.

A reminder has a `due_key` (the index's partition) and a `due_sort` (its range key) only while there is work
left for it:

- `scheduled`, its timer armed (or believed armed): `"<yyyy-mm-dd>#<shard>"`, the UTC day of its send time,
  sorted by send time. The reconciler reads the days around now, nothing else.
- `scheduled`, its timer refused by Scheduler (`arm_failed`): `"unarmed#<shard>"`, sorted by send time. The
  reconciler reads all of these every run, so a failed arm a month ahead is retried too.
- `skipped` for the spend cap (an appointment reminder or cancellation notice, the kinds the cap release can
  send again): `"held#<shard of the clinic>"`, sorted by `"<clinic_id>#<send time>"`, so one clinic's held
  reminders are together and a clinic still over its cap is skipped with one query.

Sent, cancelled, missed, failed and any other `skipped`: no key, so the index holds no history. The shard is a
stable hash of the appointment (or, for held reminders, the clinic) into `SHARDS` partitions, so no partition
is shared by every clinic. Only appointment reminders are indexed: a regimen's dose reminders ride on the
regimen's own timers, which the regimens' own index keeps checked.

Pure functions, no PynamoDB: the model computes its keys from these on every full save, and
`chalicelib.store.pending.status_actions` on every update of a status.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from chalicelib.core.clock import iso_utc, to_utc

SHARDS = 8
UNARMED = "unarmed"
HELD = "held"
# The spend cap's reason, and the kinds its release can send again (`chalicelib.meter.release.RELEASED_KINDS`).
SPEND_CAP = "spend_cap"
HELD_KINDS = ("reminder", "cancellation_notice")
INDEXED_OWNER = "appointment"


def shard(value: str) -> int:
    """A stable shard of `value` (not Python's `hash`, which changes between processes)."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=4).digest(), "big") % SHARDS


def day_key(day: date, shard_number: int) -> str:
    return f"{day.isoformat()}#{shard_number:02d}"


def unarmed_key(shard_number: int) -> str:
    return f"{UNARMED}#{shard_number:02d}"


def held_key(shard_number: int) -> str:
    return f"{HELD}#{shard_number:02d}"


def held_sort(clinic_id: str, send_at: datetime) -> str:
    return f"{clinic_id}#{iso_utc(send_at)}"


def held_clinic(sort: str) -> str:
    """The clinic of a held reminder's `due_sort`."""
    return sort.rsplit("#", 1)[0]


def pending_keys(
    *,
    owner_type: str,
    owner_id: str,
    clinic_id: str,
    kind: str,
    status: str,
    reason: str | None,
    send_at: datetime,
    arm_failed: bool,
) -> tuple[str, str] | None:
    """(`due_key`, `due_sort`) of a reminder in this state, or None: not listed."""
    if owner_type != INDEXED_OWNER:
        return None
    if status == "scheduled":
        number = shard(owner_id)
        key = unarmed_key(number) if arm_failed else day_key(to_utc(send_at).date(), number)
        return key, iso_utc(send_at)
    if status == "skipped" and reason == SPEND_CAP and kind in HELD_KINDS:
        return held_key(shard(clinic_id)), held_sort(clinic_id, send_at)
    return None


def keys_of(reminder: Any) -> tuple[str, str] | None:
    """`pending_keys` of a reminder item as it stands (its own status, reason, send time and arm record)."""
    return pending_keys(
        owner_type=reminder.owner_type,
        owner_id=reminder.owner_id,
        clinic_id=reminder.clinic_id,
        kind=reminder.kind,
        status=reminder.status,
        reason=reminder.reason,
        send_at=reminder.send_at,
        arm_failed=bool(reminder.arm_failed),
    )
