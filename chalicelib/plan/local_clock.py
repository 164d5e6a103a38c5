"""Local wall-clock times in an IANA zone, and the written rule for the two times DST makes awkward.

The rule (also in docs/clinic-policy.md):
- a local time that does not exist (it falls in a spring-forward gap) moves forward by the length of the gap:
  02:30 on the night clocks jump from 02:00 to 03:00 becomes 03:30 local, the same instant 02:30 would be
  under the old offset;
- a local time that happens twice (a fall-back overlap) means its first occurrence (`fold=0`).

This is what `zoneinfo` does with `fold=0`, written down so that nothing else in CareCue has to guess.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def local_instant(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of `day` at `at` on the wall clocks of `zone`, by the rule above."""
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=ZoneInfo(zone))
    return wall.astimezone(UTC)


def exists_locally(wall: datetime) -> bool:
    """False for a zoned wall time inside a DST gap (it does not survive a round trip through UTC)."""
    zone = wall.tzinfo
    assert zone is not None
    back = wall.astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == wall.replace(tzinfo=None)
