"""The local stack's clock: real time by default, or a time a person or a test chose, moved only forwards.

It owns "now" for everything the local stack runs (the Chalice app, the Scheduler emulator). It is a
`chalicelib.core.clock.Clock` (it has `now()`), so domain code cannot tell it from the system clock. It never
sleeps: moving it is instant, and the local stack fires whatever Scheduler would have fired meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


def _system_now() -> datetime:
    return datetime.now(UTC)


def _aware_utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} is naive; give it a time zone")
    return moment.astimezone(UTC)


class SimulatedClock:
    """A clock that is real time shifted by an offset, or frozen at an instant.

    Running (the default), it keeps ticking with real time from wherever it was set; frozen, it stands
    still until `advance` or `set` moves it. It never goes backwards: reminders already fired for an
    instant must not become due again, so a backwards move is an error, not a no-op.
    """

    def __init__(
        self,
        start: datetime | None = None,
        frozen: bool = False,
        real_now: Callable[[], datetime] = _system_now,
    ) -> None:
        self._real_now = real_now
        self._frozen = frozen
        # The local stack's HTTP thread and its firing thread both read and move the clock.
        self._lock = threading.Lock()
        real = self._read_real()
        begin = real if start is None else _aware_utc(start, "start")
        self._offset = begin - real
        self._frozen_at = begin

    @classmethod
    def restored(cls, state: dict[str, Any], real_now: Callable[[], datetime] = _system_now) -> SimulatedClock:
        """The clock `state()` described: frozen at its instant, or running with its offset from real time (so
        the time the stack was stopped has passed for it too), never earlier than the instant it had reached."""
        reached = datetime.fromisoformat(state["now"])
        if state["frozen"]:
            return cls(start=reached, frozen=True, real_now=real_now)
        clock = cls(real_now=real_now)
        with clock._lock:
            clock._offset = max(timedelta(seconds=float(state["offset_seconds"])), reached - clock._read_real())
        return clock

    def state(self) -> dict[str, Any]:
        """What `restored` needs: the instant reached, frozen or not, and the offset from real time."""
        with self._lock:
            return {
                "now": self._now_locked().isoformat(),
                "frozen": self._frozen,
                "offset_seconds": self._offset.total_seconds(),
            }

    def freeze(self) -> datetime:
        """Stops the clock where it is (the local stack's `--frozen-clock` on a restored clock)."""
        with self._lock:
            self._frozen_at = self._now_locked()
            self._frozen = True
            return self._frozen_at

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        """The simulated instant, aware UTC."""
        with self._lock:
            return self._now_locked()

    def advance(self, delta: timedelta) -> datetime:
        """Moves the clock forwards by `delta` and returns the new instant."""
        if delta < timedelta(0):
            raise ValueError(f"cannot advance the clock by a negative {delta}")
        with self._lock:
            return self._move_to_locked(self._now_locked() + delta)

    def set(self, to: datetime) -> datetime:
        """Moves the clock to `to` (not earlier than now) and returns it."""
        target = _aware_utc(to, "to")
        with self._lock:
            current = self._now_locked()
            if target < current:
                raise ValueError(f"cannot move the clock back from {current.isoformat()} to {target.isoformat()}")
            return self._move_to_locked(target)

    def _read_real(self) -> datetime:
        return _aware_utc(self._real_now(), "real_now()")

    def _now_locked(self) -> datetime:
        if self._frozen:
            return self._frozen_at
        return self._read_real() + self._offset

    def _move_to_locked(self, target: datetime) -> datetime:
        if self._frozen:
            self._frozen_at = target
        else:
            self._offset = target - self._read_real()
        return target
