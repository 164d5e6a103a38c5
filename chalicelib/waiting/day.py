"""A provider's day as the waiting room sees it: the day's appointments (read through the store), turned into
the estimator's terms, with each checked-in patient's estimate and the provider's lag."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from msgspec import Struct, field

from chalicelib.core.records import Appointment
from chalicelib.store import clinic_day
from chalicelib.visits.day import provider_key
from chalicelib.visits.status import ARRIVED, BOOKED, CANCELLED, IN_PROGRESS
from chalicelib.waiting.estimator import (
    QueuedVisit,
    VisitInProgress,
    WaitEstimate,
    estimate_waits,
    learned_ratio,
    provider_lag,
)


class ProviderQueue(Struct, frozen=True):
    provider: str
    appointments: list[Appointment]  # the day's, cancelled ones left out, in booked order
    in_progress: Appointment | None
    ratio: float
    lag: timedelta
    estimates: dict[str, WaitEstimate] = field(default_factory=dict)  # by appointment id, checked-in patients


def day_window(day: date, zone: str) -> tuple[datetime, datetime]:
    """The UTC instants a local calendar day in `zone` runs between (23 or 25 hours on DST days)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def day_appointments(clinic_id: str, day: date, zone: str) -> list[Appointment]:
    start, end = day_window(day, zone)
    found = clinic_day.appointments_starting(clinic_id, start, end - timedelta(microseconds=1))
    return [a for a in found if a.status != CANCELLED]


def provider_day_appointments(clinic_id: str, provider: str, day: date, zone: str) -> list[Appointment]:
    """One provider's queue of `day_appointments` (`provider` as `provider_key` names it), read by provider and
    day (the `by-provider` index): a refresh or a watch firing reads that provider's day, not the clinic's."""
    start, end = day_window(day, zone)
    found = clinic_day.provider_appointments_starting(clinic_id, provider, start, end - timedelta(microseconds=1))
    return [a for a in found if a.status != CANCELLED]


def provider_ratio(clinic_id: str, provider: str) -> float:
    return learned_ratio(clinic_day.visit_ratios(clinic_id, provider))


def provider_queues(clinic_id: str, appointments: list[Appointment], now: datetime) -> list[ProviderQueue]:
    """One queue per provider with appointments that day, in the order of their first booked start."""
    by_provider: dict[str, list[Appointment]] = {}
    for appointment in sorted(appointments, key=lambda a: (a.start, a.appointment_id)):
        by_provider.setdefault(provider_key(appointment), []).append(appointment)
    return [build_queue(p, day, provider_ratio(clinic_id, p), now) for p, day in by_provider.items()]


def build_queue(provider: str, appointments: list[Appointment], ratio: float, now: datetime) -> ProviderQueue:
    started = [a for a in appointments if a.status == IN_PROGRESS and a.started_at is not None]
    # Two visits "in progress" means the front desk forgot a finish: the latest started is the one going on.
    current = max(started, key=lambda a: a.started_at or now) if started else None
    in_progress = (
        VisitInProgress(current.appointment_id, current.started_at, int(current.duration_minutes))
        if current is not None and current.started_at is not None
        else None
    )
    upcoming = [
        QueuedVisit(a.appointment_id, a.start, int(a.duration_minutes), a.arrived_at if a.status == ARRIVED else None)
        for a in appointments
        if a.status in (BOOKED, ARRIVED)
    ]
    estimates = {e.appointment_id: e for e in estimate_waits(now, in_progress, upcoming, ratio)}
    lag = provider_lag(now, in_progress, upcoming, ratio)
    return ProviderQueue(provider, appointments, current, ratio, lag, estimates)
