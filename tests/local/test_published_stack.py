"""What the local stack publishes for the admin command line (`chalicelib.admin.local_stack`): the clock the
command line follows from it is the stack's, frozen or running, whatever the machine's clock says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.admin.local_stack import PublishedStack

MACHINE = datetime(2031, 5, 4, 12, 0, tzinfo=UTC)  # far from the stack's clock on purpose
STACK_NOW = datetime(2026, 11, 30, 14, 0, 30, 250000, tzinfo=UTC)


class MachineClock:
    def __init__(self) -> None:
        self.current = MACHINE

    def now(self) -> datetime:
        return self.current


def test_a_frozen_stack_clock_stands_still_while_the_machine_clock_runs() -> None:
    published = PublishedStack.from_json(PublishedStack("http://127.0.0.1:8123", STACK_NOW, True, MACHINE).to_json())
    machine = MachineClock()
    clock = published.clock(machine)

    machine.current += timedelta(minutes=5)

    assert clock.now() == STACK_NOW
    assert published.api_url == "http://127.0.0.1:8123"


def test_a_running_stack_clock_moves_on_by_the_time_passed_since_it_was_published() -> None:
    published = PublishedStack.from_json(PublishedStack("http://127.0.0.1:8123", STACK_NOW, False, MACHINE).to_json())
    machine = MachineClock()
    clock = published.clock(machine)

    machine.current += timedelta(minutes=5)

    assert clock.now() == STACK_NOW + timedelta(minutes=5)
