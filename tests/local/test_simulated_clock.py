"""The local stack's simulated clock: follows real time by default, moves only forwards, never sleeps.

Real time is a fake here (`FakeRealTime`), so every expected instant is written out by hand.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.local.clock import SimulatedClock

REAL_START = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
CHOSEN = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class FakeRealTime:
    def __init__(self, start: datetime = REAL_START) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def pass_time(self, delta: timedelta) -> None:
        self.current += delta


def test_by_default_it_is_real_time() -> None:
    real = FakeRealTime()
    clock = SimulatedClock(real_now=real)

    assert clock.now() == REAL_START
    real.pass_time(timedelta(minutes=5))
    assert clock.now() == datetime(2026, 11, 26, 18, 5, tzinfo=UTC)


def test_default_real_time_is_aware_utc() -> None:
    now = SimulatedClock().now()

    assert now.tzinfo is UTC


def test_a_start_time_shifts_real_time() -> None:
    real = FakeRealTime()
    clock = SimulatedClock(start=CHOSEN, real_now=real)

    assert clock.now() == CHOSEN
    real.pass_time(timedelta(seconds=90))
    assert clock.now() == datetime(2026, 3, 1, 9, 1, 30, tzinfo=UTC)


def test_a_frozen_clock_stands_still_until_moved() -> None:
    real = FakeRealTime()
    clock = SimulatedClock(start=CHOSEN, frozen=True, real_now=real)

    real.pass_time(timedelta(hours=3))
    assert clock.now() == CHOSEN

    assert clock.advance(timedelta(days=1)) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC)) == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    real.pass_time(timedelta(hours=3))
    assert clock.now() == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def test_frozen_without_a_start_freezes_at_real_time() -> None:
    real = FakeRealTime()
    clock = SimulatedClock(frozen=True, real_now=real)

    real.pass_time(timedelta(hours=1))
    assert clock.now() == REAL_START


def test_a_running_clock_keeps_ticking_from_where_it_was_set() -> None:
    real = FakeRealTime()
    clock = SimulatedClock(real_now=real)

    clock.set(datetime(2026, 12, 24, 8, 0, tzinfo=UTC))
    real.pass_time(timedelta(minutes=10))
    assert clock.now() == datetime(2026, 12, 24, 8, 10, tzinfo=UTC)

    clock.advance(timedelta(hours=1))
    assert clock.now() == datetime(2026, 12, 24, 9, 10, tzinfo=UTC)


def test_moving_back_is_refused_and_names_both_times() -> None:
    clock = SimulatedClock(start=CHOSEN, frozen=True, real_now=FakeRealTime())

    with pytest.raises(ValueError) as refused:
        clock.set(datetime(2026, 2, 28, 9, 0, tzinfo=UTC))

    assert "2026-03-01T09:00:00+00:00" in str(refused.value)
    assert "2026-02-28T09:00:00+00:00" in str(refused.value)
    assert clock.now() == CHOSEN


def test_advancing_by_a_negative_amount_is_refused() -> None:
    clock = SimulatedClock(start=CHOSEN, frozen=True, real_now=FakeRealTime())

    with pytest.raises(ValueError, match="negative"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == CHOSEN


def test_setting_to_now_is_allowed() -> None:
    clock = SimulatedClock(start=CHOSEN, frozen=True, real_now=FakeRealTime())

    assert clock.set(CHOSEN) == CHOSEN


@pytest.mark.parametrize("use", ["start", "set"])
def test_naive_datetimes_are_refused(use: str) -> None:
    naive = datetime(2026, 3, 1, 9, 0)
    with pytest.raises(ValueError, match="naive"):
        if use == "start":
            SimulatedClock(start=naive, real_now=FakeRealTime())
        else:
            SimulatedClock(real_now=FakeRealTime()).set(naive)


def test_a_naive_real_time_source_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        SimulatedClock(real_now=lambda: datetime(2026, 3, 1, 9, 0))


def test_other_offsets_come_back_as_utc() -> None:
    new_york_winter = timezone(timedelta(hours=-5))
    clock = SimulatedClock(start=datetime(2026, 1, 15, 9, 0, tzinfo=new_york_winter), frozen=True)

    assert clock.now() == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_concurrent_advances_all_count() -> None:
    clock = SimulatedClock(start=CHOSEN, frozen=True, real_now=FakeRealTime())

    def advance_many() -> None:
        for _ in range(500):
            clock.advance(timedelta(seconds=1))

    threads = [threading.Thread(target=advance_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert clock.now() == CHOSEN + timedelta(seconds=4000)


@given(steps=st.lists(st.integers(min_value=0, max_value=10**9), max_size=20))
def test_a_frozen_clock_is_the_start_plus_every_advance(steps: list[int]) -> None:
    clock = SimulatedClock(start=CHOSEN, frozen=True, real_now=FakeRealTime())
    previous = clock.now()

    for seconds in steps:
        moved = clock.advance(timedelta(seconds=seconds))
        assert moved >= previous
        previous = moved

    assert clock.now() == CHOSEN + timedelta(seconds=sum(steps))


def test_a_saved_frozen_clock_comes_back_at_its_instant() -> None:
    real = FakeRealTime()
    saved = SimulatedClock(start=CHOSEN, frozen=True, real_now=real).state()

    real.pass_time(timedelta(days=2))  # the stack was stopped for two days
    clock = SimulatedClock.restored(saved, real_now=real)

    assert (clock.now(), clock.frozen) == (CHOSEN, True)


def test_a_saved_running_clock_runs_on_with_its_offset_and_never_goes_back() -> None:
    real = FakeRealTime()
    saved = SimulatedClock(start=CHOSEN, real_now=real).state()

    real.pass_time(timedelta(hours=1))  # stopped for an hour: the clock, like real time, has moved on by it
    assert SimulatedClock.restored(saved, real_now=real).now() == CHOSEN + timedelta(hours=1)
    # A machine clock set back while stopped does not take the stack's clock back with it.
    real.pass_time(-timedelta(hours=5))
    assert SimulatedClock.restored(saved, real_now=real).now() == CHOSEN


def test_freezing_a_running_clock_keeps_its_instant() -> None:
    real = FakeRealTime()
    clock = SimulatedClock(start=CHOSEN, real_now=real)

    real.pass_time(timedelta(minutes=3))
    clock.freeze()
    real.pass_time(timedelta(hours=3))

    assert (clock.now(), clock.frozen) == (CHOSEN + timedelta(minutes=3), True)
