"""What the in-process tests share to wake the fire function: the timers the app armed on moto's Scheduler, read
back as Scheduler holds them, and fired the way Scheduler fires them, one stored schedule on demand (its Input
with the scheduled-time placeholder filled in) or every schedule due up to an instant (the local stack's
emulator, the clock following each firing). moto stores schedules but never fires them; this is the one place
the tests stand in for that."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalice.test import Client

from app import app
from chalicelib.arm.timers import SCHEDULED_TIME
from infra.local.clock import SimulatedClock
from infra.local.scheduler_emulator import Firing, SchedulerEmulator
from tests.conftest import World


def armed_schedules(world: World) -> dict[str, dict[str, Any]]:
    """Every schedule armed in the stage's group, by name, as Scheduler's GetSchedule answers for it."""
    scheduler, group = world.services.scheduler, world.services.settings.schedule_group
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]]
    return {name: dict(scheduler.get_schedule(Name=name, GroupName=group)) for name in names}


def armed_expressions(world: World) -> dict[str, str]:
    """Every armed schedule's expression, by name: `at(...)`, `cron(...)` or `rate(...)`."""
    return {name: schedule["ScheduleExpression"] for name, schedule in armed_schedules(world).items()}


def stored_event(world: World, name: str, scheduled_time: str | None = None) -> dict[str, Any]:
    """The event Scheduler would pass for the stored schedule `name`: its Input with the scheduled-time
    placeholder filled in, by default with the instant its `at()` expression names (UTC, as the app arms them)."""
    schedule = world.services.scheduler.get_schedule(Name=name, GroupName=world.services.settings.schedule_group)
    if scheduled_time is None:
        scheduled_time = schedule["ScheduleExpression"].removeprefix("at(").removesuffix(")") + "Z"
    return dict(json.loads(schedule["Target"]["Input"].replace(SCHEDULED_TIME, scheduled_time)))


def timer_event(world: World, owner_id: str, reminder_id: str) -> dict[str, Any]:
    """The event of the timer armed for `owner_id`'s `reminder_id`, due at its `at()` time."""
    return stored_event(world, f"{owner_id}.{reminder_id}")


def fire(event: dict[str, Any]) -> dict[str, Any]:
    """The fire function as Lambda runs it: a JSON copy of `event` (Lambda's payload is JSON), its answer."""
    with Client(app, stage_name="local") as client:
        return dict(client.lambda_.invoke("fire", json.loads(json.dumps(event))).payload)


def fire_queued(event: dict[str, Any]) -> dict[str, Any]:
    """A reminder's timer as the fire queue hands it to the fire_batch function, in a batch of one: its answer, or
    its send's exception raised (for the Scheduler emulator's retries to stand in for the queue's redelivery)."""
    from app import _timer_handlers, services
    from chalicelib.fire.queue import QueuedTimer

    (answer,) = services().fire_batch.answers([QueuedTimer("m-1", "", json.dumps(event), 1)], _timer_handlers())
    if isinstance(answer, Exception):
        raise answer
    return dict(answer)


def fire_stored(world: World, name: str, scheduled_time: str | None = None) -> dict[str, Any]:
    """Fires the stored schedule `name` as Scheduler would (see `stored_event`)."""
    return fire(stored_event(world, name, scheduled_time))


def fire_when_due(world: World, owner_id: str, reminder_id: str) -> dict[str, Any]:
    """Moves the world's clock to the timer's due time, then fires it, as Scheduler wakes it on time."""
    event = timer_event(world, owner_id, reminder_id)
    clock = world.services.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(datetime.fromisoformat(event["scheduled_time"]))
    return fire(event)


class Timers:
    """Time passing for everything the app armed in `world`: the local stack's Scheduler emulator firing each
    schedule as it falls due, into the fire function; what each firing answered is kept in `results`. After each
    firing, the WhatsApp statuses and Messenger delivery receipts it caused are delivered, as the local stack
    delivers them after every invocation (a message the channel took is reported delivered before the clinic's
    delivery window ends)."""

    def __init__(self, world: World, clock: SimulatedClock) -> None:
        self.clock = clock
        self._world = world
        self.whatsapp_events: list[dict[str, Any]] = []  # the WhatsApp events delivered after the firings
        self.results: list[dict[str, Any]] = []
        services = world.services
        self._emulator = SchedulerEmulator(
            services.scheduler, services.settings.schedule_group, self._invoke, now=clock.now
        )

    def _invoke(self, target_arn: str, event: Any) -> dict[str, Any]:
        result = fire_queued(event) if target_arn == self._world.services.settings.fire_queue_arn else fire(event)
        self.results.append(result)
        from infra.local.messenger_fake import FakeMessengerApi, deliver_receipts
        from tests.whatsapp_support import deliver_events

        self.whatsapp_events += deliver_events(self._world)
        fake = self._world.services.messenger_api
        if isinstance(fake, FakeMessengerApi):  # Meta's message_deliveries, as the local stack posts them
            deliver_receipts(fake.take_receipts(), self._world.services)
        return result

    def fire_due(self, until: datetime, on_time: Callable[[datetime], Any] | None = None) -> list[Firing]:
        """Fires every schedule due up to `until`, earliest first, calling `on_time` with each one's time first."""
        return self._emulator.fire_due(until, on_time=on_time)

    def go_to(self, moment: datetime) -> list[Firing]:
        """Fires everything due up to `moment`, the clock moving forwards to each firing, then to `moment`."""
        firings = self._emulator.fire_due(moment, on_time=self._forward)
        self._forward(moment)
        return firings

    def _forward(self, instant: datetime) -> None:
        if instant > self.clock.now():
            self.clock.set(instant)
