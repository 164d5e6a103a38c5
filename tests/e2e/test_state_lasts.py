"""The local stack keeps its state in its data folder: stopped (SIGTERM, as Ctrl-C or a service manager stops it)
or killed (`kill -9`, right after the last answer), and started again on the same ports, it has
the clinic and its key, the booking, its timers (which still fire), the outbox, the patient's signed links
and the clock; started with RESET=1 it is empty."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    CLOCK_START,
    NEW_YORK,
    READY_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    LocalStack,
    StackProcess,
    day_after,
    fired_for,
    free_ports,
    spoken,
)

PHONE = "+14155550150"
LINK = re.compile(r"http://127\.0\.0\.1:\d+(/p/[A-Za-z0-9_-]+)")


def started(api_port: int, aws_port: int, data: Path) -> StackProcess:
    process = StackProcess(api_port, aws_port, data)
    process.start()
    process.wait_ready(READY_TIMEOUT_SECONDS)
    return process


def seen(stack: LocalStack, api: Any, appointment_id: str) -> dict[str, Any]:
    """What a clinic, a patient and a developer can see of the booking."""
    status, appointment = api.get(f"/v1/appointments/{appointment_id}")
    assert status == 200, appointment
    clock = stack.clock()
    return {
        "appointment": appointment,
        "timers": stack.pending(f"{appointment_id}."),
        "outbox": stack.outbox(PHONE),
        "now": clock["now"],
        "frozen": clock["frozen"],
    }


@pytest.mark.parametrize("stopped_by", ["SIGTERM", "kill -9"])
def test_a_booking_its_timers_the_outbox_and_the_clock_come_back_after_a_restart(
    stopped_by: str, tmp_path: Path
) -> None:
    api_port, aws_port = free_ports(2)
    data = tmp_path / "data"
    stack = LocalStack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}")
    first = started(api_port, aws_port, data)
    try:
        # GIVEN a clinic, a booking, its confirmation and day-before reminder sent (with a signed link to confirm),
        # its 2-hour reminder armed, and the clock moved to 20 hours before the visit
        clinic = stack.create_clinic()
        start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
        booked = stack.book_for(
            clinic, {"patient": {"name": "Pat Example", "phone": PHONE}, "start": start.isoformat()}
        )
        stack.advance_to(start - timedelta(hours=20))
        before = seen(stack, stack.api(clinic), booked["id"])
        assert len(before["outbox"]) == 2 and len(before["timers"]) == 1
        # WHEN the stack is stopped, or killed as soon as it answered (no snapshot is waited for: the journal has it)
        if stopped_by == "SIGTERM":
            assert first.terminate(STOP_TIMEOUT_SECONDS) == 0, first.output
        else:
            first.kill()
    finally:
        first.kill()

    second = started(api_port, aws_port, data)
    try:
        # THEN everything is back: the key still works, the booking, its timers, the outbox and the clock
        assert seen(stack, stack.api(clinic), booked["id"]) == before
        assert "restored" in second.output
        # ...the reminder's link, signed before the restart with the key kept in SSM, still opens the patient's page
        link = LINK.search(before["outbox"][1]["body"])
        assert link is not None, before["outbox"][1]["body"]
        status, _, page = stack.local.raw("GET", link[1], headers={"Accept": "text/html"})
        assert status == 200, page
        # ...and the timer still fires, once, at its time
        fired = fired_for(stack.advance_to(start - timedelta(hours=1)), booked["id"])
        assert [(f["schedule"], f["scheduled_time"]) for f in fired] == [
            (t["schedule"], t["at"]) for t in before["timers"]
        ]
        reminders = stack.outbox(PHONE)[2:]
        assert len(reminders) == 1
        assert spoken(start, NEW_YORK) in reminders[0]["body"]
        assert second.terminate(STOP_TIMEOUT_SECONDS) == 0, second.output
    finally:
        second.kill()


def test_make_run_reset_starts_empty(tmp_path: Path) -> None:
    api_port, aws_port = free_ports(2)
    data = tmp_path / "data"
    stack = LocalStack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}")
    first = started(api_port, aws_port, data)
    try:
        clinic = stack.create_clinic()
        stack.advance_to(stack.now() + timedelta(days=3))
        assert first.terminate(STOP_TIMEOUT_SECONDS) == 0, first.output
    finally:
        first.kill()

    # `-o .venv/.installed`: the test uses the virtualenv as it is and never installs into it.
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"PORT={api_port}"]
    command += [f"AWS_PORT={aws_port}", f"DATA={data}", "RESET=1", f"CLOCK_START={CLOCK_START}", "FROZEN=1"]
    again = StackProcess(command=command)
    again.start()
    try:
        again.wait_ready(READY_TIMEOUT_SECONDS)
        # The clinic is gone (its key refused), and the clock starts over at the instant given.
        status, body = stack.api(clinic).get("/v1/appointments")
        assert status == 403, body
        assert stack.clock()["now"] == CLOCK_START
        assert stack.outbox() == []
        assert again.terminate(STOP_TIMEOUT_SECONDS) is not None
    finally:
        again.kill()
