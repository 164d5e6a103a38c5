"""The running-late watch: a one-time EventBridge Scheduler timer per provider every 5 minutes of a clinic
day, so that a provider's lag is noticed while nothing else happens (a long visit in progress).

Its bound: it is re-armed only while the provider has a patient waiting or in progress (`WaitingService.refresh`)
and only inside the clinic's opening hours. A slot before opening moves to the opening time; a slot at or after
closing becomes the closing time itself, and that last firing closes the provider's day instead of re-arming
(`WaitingService.watch_fired`); from closing time on nothing arms it. So a provider's watch fires at most
(close - open) / 5 minutes + 1 times a day, however long a forgotten "finish" stays open.

Each timer is named after the clinic, the provider and its 5-minute slot: arming the same slot twice (a
check-in and a finish in the same five minutes) is one timer, and a fired timer never has to be updated in
place (its completion delete would race with the update). Its Input is ids only, in the envelope every timer
has (`chalicelib.arm.envelope`); the fire function reloads the provider's day.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.arm.envelope import WatchTimerEvent, watch_input
from chalicelib.core.clock import to_utc

if TYPE_CHECKING:
    from chalicelib.arm.timers import ReminderTimers

WATCH_EVERY = timedelta(minutes=5)

WatchEvent = WatchTimerEvent  # a watch timer's event, as `chalicelib.arm.envelope` reads it


def next_slot(now: datetime) -> datetime:
    """The first 5-minute boundary at least 5 minutes after `now`."""
    moment = to_utc(now) + WATCH_EVERY
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    slots = -(-(moment - epoch) // WATCH_EVERY)  # ceiling division of timedeltas
    return epoch + slots * WATCH_EVERY


def watch_name(clinic_id: str, provider: str, slot: datetime) -> str:
    provider_part = hashlib.sha256(provider.encode("utf-8")).hexdigest()[:12]  # names are free text; keep them out
    return f"wait.{clinic_id}.{provider_part}.{to_utc(slot):%Y%m%d%H%M}"


class WatchTimers:
    def __init__(self, timers: ReminderTimers) -> None:
        self._timers = timers

    def arm(self, clinic_id: str, provider: str, now: datetime, opens: datetime, closes: datetime) -> bool:
        """Arms the provider's next watch slot inside the day from `opens` to `closes` (the last slot is `closes`,
        when the day closes); an already armed slot is left as it is. False: the day has closed, nothing armed."""
        slot = watch_slot(now, opens, closes)
        if slot is None:
            return False
        event = watch_input(clinic_id, provider)
        self._timers.arm_once(
            watch_name(clinic_id, provider, slot), slot, event, what="running-late watch", replace=False
        )
        return True


def watch_slot(now: datetime, opens: datetime, closes: datetime) -> datetime | None:
    """The next watch slot of a day open from `opens` to `closes`: never before opening, `closes` at the latest,
    None once the day has closed."""
    if now >= closes:
        return None
    return min(max(next_slot(now), to_utc(opens)), to_utc(closes))
