"""Time as a dependency: every piece of domain code asks a `Clock` for "now", so tests and the local stack
can move time without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """Aware UTC, rejecting naive datetimes: a naive time has no place in stored data."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """`2026-12-01T09:00:00Z`: the one text form of an instant in the API and in timer inputs."""
    return to_utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")
