"""How long a waiting patient will wait, and how late a provider is running: pure functions of one provider's
day, their learned visit length and the current time. Nothing here knows AWS.

The model (docs/check-in.md, "Wait estimates", says the same in prose):
- A provider's visits are measured as a ratio, actual length (start to finish) over booked duration, so one
  history serves 15- and 30-minute slots alike. The learned ratio is the median of the last 30 ratios, shrunk
  towards 1.0 (the booked duration) as if 3 visits had run exactly to time: with no history the estimate is
  the booked duration, and one freak visit moves it little. A median ignores the one-hour visit that
  a mean would chase.
- The provider is free when the visit in progress is expected to end: started + learned length, and for a
  visit that has already run past that, a quarter of its learned length from now (an overrun visit is not
  about to end this second).
- Patients who have checked in are called in the order of their booked starts, each no earlier than their
  booked start (clinics that book appointments do not call a patient before their slot), each visit taking
  its learned length. A patient's wait is the gap from now to their projected call.
- The provider's lag is how far behind the booked start the next patient (checked in, or booked from now
  on) will be called: 0 while the provider is idle and the next patient has not arrived (then the patient is
  late, not the provider).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from msgspec import Struct

HISTORY_SIZE = 30  # the visits a provider's ratio is learned from, most recent first
PRIOR_VISITS = 3  # how many visits of ratio 1.0 the booked duration counts as
OVERRUN_REMAINDER = 0.25  # of the learned length, still expected of a visit that has run past it
MIN_RATIO, MAX_RATIO = 0.2, 5.0  # a visit outside these (a forgotten "finish") says nothing about the provider


class QueuedVisit(Struct, frozen=True):
    """An appointment of the day that has not begun: checked in (`arrived_at`) or not yet."""

    appointment_id: str
    booked_start: datetime
    booked_minutes: int
    arrived_at: datetime | None = None


class VisitInProgress(Struct, frozen=True):
    appointment_id: str
    started_at: datetime
    booked_minutes: int


class WaitEstimate(Struct, frozen=True):
    appointment_id: str
    called_at: datetime  # projected
    wait: timedelta  # from now to the projected call, never negative
    ahead: int  # checked-in patients to be called before this one


def visit_ratio(started_at: datetime, finished_at: datetime, booked_minutes: int) -> float | None:
    """A finished visit's length over its booked duration, or None if it is not believable."""
    if booked_minutes <= 0:
        return None
    ratio = (finished_at - started_at) / timedelta(minutes=booked_minutes)
    return ratio if MIN_RATIO <= ratio <= MAX_RATIO else None


def learned_ratio(recent_ratios: Sequence[float]) -> float:
    """The provider's visit length over booked duration: a median of recent visits, shrunk towards 1.0."""
    recent = list(recent_ratios)[-HISTORY_SIZE:]
    if not recent:
        return 1.0
    count = len(recent)
    return (PRIOR_VISITS * 1.0 + count * statistics.median(recent)) / (PRIOR_VISITS + count)


def expected_length(booked_minutes: int, ratio: float) -> timedelta:
    return timedelta(minutes=booked_minutes * ratio)


def free_at(now: datetime, in_progress: VisitInProgress | None, ratio: float) -> datetime:
    """When the provider is expected to be free to call the next patient."""
    if in_progress is None:
        return now
    length = expected_length(in_progress.booked_minutes, ratio)
    return max(in_progress.started_at + length, now + length * OVERRUN_REMAINDER)


def estimate_waits(
    now: datetime, in_progress: VisitInProgress | None, upcoming: Sequence[QueuedVisit], ratio: float
) -> list[WaitEstimate]:
    """The projected call of every checked-in patient, in the order they will be called."""
    waiting = sorted((v for v in upcoming if v.arrived_at is not None), key=lambda v: (v.booked_start, v.arrived_at))
    provider_free = free_at(now, in_progress, ratio)
    estimates = []
    for ahead, visit in enumerate(waiting):
        called = max(provider_free, visit.booked_start)
        estimates.append(WaitEstimate(visit.appointment_id, called, max(called - now, timedelta(0)), ahead))
        provider_free = called + expected_length(visit.booked_minutes, ratio)
    return estimates


def provider_lag(
    now: datetime, in_progress: VisitInProgress | None, upcoming: Sequence[QueuedVisit], ratio: float
) -> timedelta:
    """How far behind its booked start the provider's next patient will be called (never negative)."""
    # A patient whose booked start has passed and who is not here is late themselves: they set no lag.
    candidates = [v for v in upcoming if v.arrived_at is not None or v.booked_start >= now]
    if not candidates:
        return timedelta(0)
    following = min(candidates, key=lambda v: v.booked_start)
    if in_progress is None and following.arrived_at is None:
        return timedelta(0)
    return max(free_at(now, in_progress, ratio) - following.booked_start, timedelta(0))
