"""Simulated clinic days for back-testing the wait estimate: seeded random arrivals, lateness and visit
lengths, one provider, played minute by minute the way the front desk would drive CareCue.

The provider calls the earliest-booked patient present, never before their booked start; each visit's true
length is the booked duration times the provider's own pace times lognormal noise. At each check-in the
estimator (learning from the visits finished so far, across days) predicts the wait; the simulation records
the prediction and, later, the actual wait.

Run `python -m tests.waiting.simulation` for the report.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.waiting.estimator import (
    QueuedVisit,
    VisitInProgress,
    estimate_waits,
    learned_ratio,
    visit_ratio,
)

DAY_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@dataclass
class Patient:
    appointment_id: str
    booked_start: datetime
    booked_minutes: int
    arrives_at: datetime | None  # None: a no-show
    length: timedelta  # true visit length
    estimated_wait: timedelta | None = None
    called_at: datetime | None = None


def simulated_day(rng: random.Random, pace: float, slots: int = 16) -> list[Patient]:
    patients = []
    start = DAY_START
    for number in range(slots):
        booked = rng.choice((15, 20, 30, 30, 30))
        no_show = rng.random() < 0.08
        lateness = timedelta(minutes=rng.gauss(-8, 10))  # most come early, some late
        noise = rng.lognormvariate(0, 0.35)
        patients.append(
            Patient(
                f"apt_{number:02d}",
                start,
                booked,
                None if no_show else start + lateness,
                timedelta(minutes=booked * pace * noise),
            )
        )
        start += timedelta(minutes=booked)
    return patients


def play(patients: list[Patient], history: list[float]) -> None:
    """Plays one day minute by minute; appends each finished visit's ratio to `history`."""
    now = DAY_START - timedelta(minutes=60)
    end = DAY_START + timedelta(hours=16)
    current: Patient | None = None
    current_started = now
    arrived: set[str] = set()
    step = timedelta(minutes=1)
    while now < end:
        ratio = learned_ratio(history)
        if current is not None and now >= current_started + current.length:
            measured = visit_ratio(current_started, current_started + current.length, current.booked_minutes)
            if measured is not None:
                history.append(measured)
            current = None
        for patient in patients:
            if patient.arrives_at is not None and patient.appointment_id not in arrived and patient.arrives_at <= now:
                arrived.add(patient.appointment_id)
                in_progress = (
                    VisitInProgress(current.appointment_id, current_started, current.booked_minutes)
                    if current is not None
                    else None
                )
                waiting = [
                    QueuedVisit(p.appointment_id, p.booked_start, p.booked_minutes, p.arrives_at)
                    for p in patients
                    if p.appointment_id in arrived and p.called_at is None
                ]
                estimates = {e.appointment_id: e for e in estimate_waits(now, in_progress, waiting, ratio)}
                patient.estimated_wait = estimates[patient.appointment_id].wait
        if current is None:
            present = [
                p for p in patients if p.appointment_id in arrived and p.called_at is None and p.booked_start <= now
            ]
            if present:
                current = min(present, key=lambda p: p.booked_start)
                current.called_at = now
                current_started = now
        now += step


@dataclass(frozen=True)
class BacktestReport:
    days: int
    check_ins: int
    median_abs_error_minutes: float
    p90_abs_error_minutes: float
    naive_median_abs_error_minutes: float  # "you will be called at your booked time"


def backtest(seed: int = 8, days: int = 20, pace: float = 1.3) -> BacktestReport:
    rng = random.Random(seed)
    history: list[float] = []
    errors: list[float] = []
    naive: list[float] = []
    for _ in range(days):
        patients = simulated_day(rng, pace)
        play(patients, history)
        for p in patients:
            if p.arrives_at is None or p.called_at is None or p.estimated_wait is None:
                continue
            actual = p.called_at - p.arrives_at
            errors.append(abs((p.estimated_wait - actual) / timedelta(minutes=1)))
            naive_wait = max(p.booked_start - p.arrives_at, timedelta(0))
            naive.append(abs((naive_wait - actual) / timedelta(minutes=1)))
    deciles = statistics.quantiles(errors, n=10)
    return BacktestReport(days, len(errors), statistics.median(errors), deciles[-1], statistics.median(naive))


if __name__ == "__main__":
    for pace in (0.9, 1.0, 1.3):
        print(f"provider pace {pace}: {backtest(pace=pace)}")  # noqa: T201
