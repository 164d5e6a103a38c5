"""`make bench`'s reconciler figures: one hourly run's AWS calls and time at 1,000, 10,000 and 50,000 pending
reminders, with the work due held constant (issue 18: its cost must follow the work due, not the work pending).

The pending reminders are seeded straight through the store (`chalicelib.store.pending.write_many`, batches of
25): a constant `DUE` of them due within the next 20 hours, their timers armed as a booking arms them, and the
rest spread from 3 to 33 days ahead, with no timer to look at. The first run at each size is a warm-up; the one
measured finds nothing to repair, so what it costs is the check itself.

The wall time on moto is shown but is not the figure with a target: moto answers a query on a global secondary
index by walking (and sorting) every item of the table (`moto.dynamodb.models.table.Table.query`), which
DynamoDB does not (a query costs what it returns), so on moto every index query grows with the table. The time
target is on the wall time modelled for AWS as the other figures model it (`infra.bench.costs`): CareCue's own
time (the wall time here less the time inside AWS calls) plus each call at AWS's round-trip latency.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

SIZES = (1_000, 10_000, 50_000)
SMOKE_SIZES = (250, 500)  # `--smoke`: the same run on a few, so the figure cannot rot
DUE = 200  # reminders due within the next hours, the same at every size
FLAT_TARGET = 2.0  # each figure at N, as a multiple of the same figure at the smallest N
_SEED_BATCH = 5_000


def reminder_figures(world: Any, sizes: tuple[int, ...] = SIZES, due: int = DUE) -> tuple[list[Any], list[str]]:
    """The figures (each size against the smallest) and the notes (every size's calls and times)."""
    from chalicelib.reconcile.reminders import Budgets, ReminderReconciler
    from infra.bench.__main__ import Figure
    from infra.bench.costs import modelled_billed_seconds

    seeded = _seed(world, 0, due, due_soon=True)
    measured: list[tuple[int, int, float, float, float, dict[str, int]]] = []
    # The run's time slices are lifted (its item budgets are not): moto's index queries, which walk the whole
    # table, would use them up at 50,000 where DynamoDB's would not (the modelled AWS wall shows the run fits).
    services = world.services
    reconciler = ReminderReconciler(
        services.clock,
        services.reminder_timers,
        services.regimen_timers,
        services.spend_cap_release,
        Budgets(due_seconds=3600, unarmed_seconds=3600, regimens_seconds=3600, held_seconds=3600),
    )
    steady = reconciler.run().checked  # a warm-up, and the steady state's count
    for size in sizes:
        seeded = _seed(world, seeded, size, due_soon=False)
        world.calls.reset()
        started = time.perf_counter()
        result = reconciler.run()
        wall = time.perf_counter() - started
        in_aws = sum(world.calls.seconds.values())
        if result.checked != steady or result.rearmed or result.missed:
            raise RuntimeError(f"the reconciler's run at {size} pending was not the steady state: {result}")
        by_service: dict[str, int] = {}
        for name, n in world.calls.calls.items():
            by_service[name.split(".")[0]] = by_service.get(name.split(".")[0], 0) + n
        modelled = modelled_billed_seconds(wall, in_aws, by_service)
        measured.append((size, world.calls.total, wall, wall - in_aws, modelled, dict(world.calls.calls)))

    base_size, base_calls, _, _, base_modelled, _ = measured[0]
    figures = []
    notes = [
        f"reconciler (infra/bench/reconciler.py): {due} reminders due within 20 h at every size, the rest 3-33 days"
        " ahead; pending grows, the work due stays constant"
    ]
    for size, calls, wall, own, modelled, by_operation in measured:
        operations = ", ".join(f"{name} {n}" for name, n in sorted(by_operation.items()))
        notes.append(
            f"  {size:>6,} pending: {calls} AWS calls ({operations}); wall modelled on AWS {modelled:.2f} s"
            f" (own time {own * 1000:.0f} ms); wall on moto {wall:.2f} s"
        )
        if size == base_size:
            continue
        figures.append(
            Figure(
                f"reconciler AWS calls, {size:,} / {base_size:,} pending",
                calls / base_calls,
                FLAT_TARGET,
                f"{calls} calls at {size:,} pending, {base_calls} at {base_size:,}",
            )
        )
        figures.append(
            Figure(
                f"reconciler wall on AWS, {size:,} / {base_size:,} pending",
                modelled / base_modelled,
                FLAT_TARGET,
                f"{modelled:.2f} s at {size:,}, {base_modelled:.2f} s at {base_size:,} (modelled: own time"
                f" {own * 1000:.0f} ms + calls at AWS latency; on moto {wall:.2f} s, see the note below)",
            )
        )
    notes.append(
        "  (moto answers an index query by walking and sorting the whole table, so its wall time grows with the"
        " table; DynamoDB's does not. The time target is on the wall modelled for AWS, as infra/bench/costs.py"
        " models the other figures.)"
    )
    return figures, notes


def _seed(world: Any, first: int, until: int, *, due_soon: bool) -> int:
    """Reminders numbered `first` to `until` - 1: due soon (their timers armed), or spread 3 to 33 days ahead."""
    from chalicelib.arm.timers import Timer
    from chalicelib.core.records import Reminder
    from chalicelib.store import pending

    now = world.clock.now()
    for start in range(first, until, _SEED_BATCH):
        batch = []
        for n in range(start, min(until, start + _SEED_BATCH)):
            owner_id = f"apt_reconcile{n:07d}"
            if due_soon:
                send_at = now + timedelta(minutes=30) + timedelta(hours=19) * (n - first) / max(1, until - first)
            else:
                send_at = now + timedelta(days=3) + timedelta(days=30) * (n % 997) / 997
            send_at = send_at.replace(microsecond=0)
            batch.append(
                Reminder(
                    owner_id=owner_id,
                    reminder_id="reminder-24h.sms",
                    clinic_id=f"cln_bench{n % 10}",
                    kind="reminder",
                    channel="sms",
                    send_at=send_at,
                    status="scheduled",
                    owner_version=1,
                    schedule_name=f"{owner_id}.reminder-24h.sms",
                    updated_at=now,
                )
            )
        pending.write_many(batch)
        if due_soon:
            for reminder in batch:
                world.services.reminder_timers.arm(Timer.for_reminder(reminder, reminder.send_at))
    return until
