"""Quiet hours: the local hours in which no reminder goes out (default 21:00-08:00 in the patient's zone).

The rule (also in docs/clinic-policy.md): quiet hours defer, they never drop. A reminder due inside quiet hours
moves to the end of that quiet period (the first allowed minute, local time, by the DST rule of `local_clock`). If that
is not before the appointment starts, there is no allowed time left between the due time and the appointment,
so the reminder is skipped with the reason `quiet_hours`. A reminder is never moved earlier: it would arrive
sooner than the clinic asked, and a reminder planned at booking could land in the past.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from msgspec import Struct

from chalicelib.plan.local_clock import local_instant


class QuietHours(Struct, frozen=True):
    start: time  # local wall time quiet hours begin, e.g. 21:00
    end: time  # local wall time they end, e.g. 08:00; before `start` means the period crosses midnight

    def contains(self, instant: datetime, zone: str) -> bool:
        wall = instant.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
        if self.start == self.end:
            return False  # an empty period: quiet hours are off
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def next_allowed(self, instant: datetime, zone: str) -> datetime:
        """`instant` itself when it is allowed, else the end of the quiet period it falls in (UTC)."""
        if not self.contains(instant, zone):
            return instant.astimezone(UTC)
        wall = instant.astimezone(ZoneInfo(zone))
        day = wall.date()
        if wall.time().replace(tzinfo=None) >= self.end:
            day += timedelta(days=1)  # in the evening part of a period that crosses midnight: it ends tomorrow
        allowed = local_instant(day, self.end, zone)
        if allowed <= instant:
            # `end` happens twice tonight and `instant` is already in its second pass: the later one is next.
            allowed = datetime.combine(day, self.end.replace(fold=1), tzinfo=ZoneInfo(zone)).astimezone(UTC)
        return allowed


DEFAULT_QUIET_HOURS = QuietHours(time(21, 0), time(8, 0))


def defer_for_quiet_hours(
    due: datetime, zone: str, quiet: QuietHours | None, appointment_start: datetime | None
) -> datetime | None:
    """When a reminder due at `due` may go out, or None when quiet hours leave no time before the appointment."""
    if quiet is None:
        return due.astimezone(UTC)
    allowed = quiet.next_allowed(due, zone)
    if appointment_start is not None and allowed >= appointment_start:
        return None
    return allowed
