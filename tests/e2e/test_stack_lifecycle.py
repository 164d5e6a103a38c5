"""Starting and stopping `python -m infra.local` as a person does with `make run`: a port someone else holds
(a second `make run`, or macOS's AirPlay receiver on the default AWS port 5000) must end the start with an
error, not leave a process that never gets ready and cannot be stopped; and a `kill -9` right after an answer
loses nothing that was answered (the journal, infra/local/journal.py), even with a torn record at its end."""

from __future__ import annotations

import re
import socket
import struct
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    NEW_YORK,
    READY,
    READY_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    STOPPED,
    Clinic,
    LocalStack,
    StackProcess,
    day_after,
    free_ports,
)

# Once the port error is printed, a stack that is going to exit has nothing left to do but exit.
EXIT_AFTER_ERROR_SECONDS = 10.0
PORT_IN_USE = "in use"


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A loopback port held open by another program (this test) for the whole test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("busy", ["api", "aws"])
def test_a_port_already_in_use_ends_the_start_with_an_error(busy: str, occupied_port: int, tmp_path: Path) -> None:
    free_port = free_ports(1)[0]
    api_port, aws_port = (occupied_port, free_port) if busy == "api" else (free_port, occupied_port)
    process = StackProcess(api_port, aws_port, tmp_path / "data")
    process.start()
    try:
        # WHEN it starts on a port another program holds, it reports the port in use (or ends)
        reported = process.wait_for(PORT_IN_USE, READY_TIMEOUT_SECONDS)
        # THEN it ends, with a failing status, by itself or at the latest when asked to stop
        code = process.returncode
        if code is None:
            code = process.terminate(EXIT_AFTER_ERROR_SECONDS)
    finally:
        process.kill()

    output = process.output
    assert reported, f"no {PORT_IN_USE!r} in the output:\n{output}"
    assert READY not in output
    assert code is not None, f"still running {EXIT_AFTER_ERROR_SECONDS:.0f} s after SIGTERM; output:\n{output}"
    assert code != 0


def test_a_start_right_after_a_stop_on_the_same_ports_is_ready_at_once(tmp_path: Path) -> None:
    api_port, aws_port = free_ports(2)
    first = StackProcess(api_port, aws_port, tmp_path / "data")
    first.start()
    try:
        first.wait_ready(READY_TIMEOUT_SECONDS)
        # GIVEN a stack that answered requests (the server closes each connection: its port keeps TIME_WAIT sockets)
        stack = LocalStack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}")
        clinic = stack.create_clinic()
        start = day_after(stack.now(), 2, 10, 0, NEW_YORK).isoformat()
        for n in range(3):
            stack.book_for(clinic, {"patient": {"name": "Pat Example", "phone": f"+1415555011{n}"}, "start": start})
        # WHEN it is stopped and started again at once on the same ports
        assert first.terminate(STOP_TIMEOUT_SECONDS) == 0, first.output
    finally:
        first.kill()
    second = StackProcess(api_port, aws_port, tmp_path / "data")
    second.start()
    try:
        # THEN the second one gets ready, and answers
        second.wait_ready(READY_TIMEOUT_SECONDS)
        assert stack.clock()["frozen"] is True
        assert second.terminate(STOP_TIMEOUT_SECONDS) == 0, second.output
    finally:
        second.kill()


@pytest.mark.parametrize("how", ["variables", "ARGS"])
def test_make_run_passes_ports_and_clock_options_to_the_stack(how: str, tmp_path: Path) -> None:
    api_port, aws_port = free_ports(2)
    clock = ["--clock-start", "2026-11-30T14:00:00Z", "--frozen-clock"]
    options = ["CLOCK_START=2026-11-30T14:00:00Z", "FROZEN=1"] if how == "variables" else [f"ARGS={' '.join(clock)}"]
    # `-o .venv/.installed`: the test uses the virtualenv as it is and never installs into it.
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"PORT={api_port}"]
    process = StackProcess(command=[*command, f"AWS_PORT={aws_port}", f"DATA={tmp_path / 'data'}", *options])
    process.start()
    try:
        process.wait_ready(READY_TIMEOUT_SECONDS)
        stack = LocalStack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}")
        # The API and the local AWS answer on the ports given, and the clock stands at the instant given.
        assert stack.clock()["now"] == "2026-11-30T14:00:00Z"
        assert stack.clock()["frozen"] is True
        assert stack.create_clinic().clinic_id.startswith("cln_")
        # SIGTERM to make reaches the stack (make passes it on to its child), which stops as it should.
        assert process.terminate(STOP_TIMEOUT_SECONDS) is not None, process.output
        assert STOPPED in process.output
    finally:
        process.kill()


PHONES = [f"+1415555013{n}" for n in range(4)]
REPLAYED = re.compile(r"Journal: +replayed (\d+) AWS request\(s\), (\d+) answered differently")


def started(api_port: int, aws_port: int, data: Path) -> StackProcess:
    process = StackProcess(api_port, aws_port, data)
    process.start()
    process.wait_ready(READY_TIMEOUT_SECONDS)
    return process


def appointment(stack: LocalStack, clinic: Clinic, appointment_id: str) -> dict[str, Any]:
    status, body = stack.api(clinic).get(f"/v1/appointments/{appointment_id}")
    assert status == 200, body
    return dict(body)


def book_and_kill(stack: LocalStack, process: StackProcess) -> dict[str, Any]:
    """Three bookings whose day-before reminders have gone, then a fourth, and `kill -9` as soon as its 201 is
    in: no snapshot is waited for. What the clinic and its patients could see just before, and the fourth's 201."""
    clinic = stack.create_clinic()
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
    first = [
        stack.book_for(
            clinic,
            {
                "patient": {"name": "Pat Example", "phone": phone},
                "start": (start + n * timedelta(minutes=30)).isoformat(),
            },
        )["id"]
        for n, phone in enumerate(PHONES[:3])
    ]
    stack.advance_to(start - timedelta(hours=20))
    before = {
        "appointments": [appointment(stack, clinic, i) for i in first],
        "timers": stack.pending(),
        "outbox": stack.outbox(),
        "clock": stack.clock(),
    }
    assert len(before["outbox"]) == 6 and len(before["timers"]) == 3, before  # confirmation and 24 h reminder each
    last = stack.book_for(
        clinic,
        {"patient": {"name": "Pat Example", "phone": PHONES[3]}, "start": (start + timedelta(days=2)).isoformat()},
    )
    process.kill()
    return {"clinic": clinic, "start": start, "first": first, "before": before, "last": last}


def test_a_kill_right_after_the_last_answer_keeps_every_booking_its_timers_the_outbox_and_the_clock(
    tmp_path: Path,
) -> None:
    api_port, aws_port = free_ports(2)
    data = tmp_path / "data"
    stack = LocalStack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}")
    first = started(api_port, aws_port, data)
    try:
        # GIVEN bookings, reminders sent, the clock moved, and one more booking: killed as soon as it answered 201
        given = book_and_kill(stack, first)
    finally:
        first.kill()

    second = started(api_port, aws_port, data)
    try:
        # THEN what was answered since the last snapshot was replayed from the journal, each request answered by
        # the local AWS as it was the first time (the same message ids, receipt handles, schedule ARNs)
        replayed = REPLAYED.search(second.output)
        assert replayed is not None, second.output
        journal = [line for line in second.output.splitlines() if line.startswith("Journal:")]
        assert int(replayed[1]) >= 1 and int(replayed[2]) == 0, journal  # which operations differed, if any
        # ...every booking is there, the last one as it was answered, with its timers; the outbox and the clock too
        clinic, before = given["clinic"], given["before"]
        assert [appointment(stack, clinic, i) for i in given["first"]] == before["appointments"]
        assert appointment(stack, clinic, given["last"]["id"]) == given["last"]
        assert stack.pending() == sorted(
            before["timers"] + stack.pending(f"{given['last']['id']}."), key=lambda t: (t["at"], t["schedule"])
        )
        assert len(stack.pending(f"{given['last']['id']}.")) == 2
        assert stack.outbox(*PHONES[:3]) == before["outbox"]
        assert len(stack.outbox(PHONES[3])) == 1  # its confirmation
        assert stack.clock() == {**before["clock"], "pending": stack.clock()["pending"]}
        # ...and the timers still fire, each once, at its time
        fired = stack.advance_to(given["start"] + timedelta(hours=2))
        assert sorted((f["schedule"], f["scheduled_time"]) for f in fired) == sorted(
            (t["schedule"], t["at"]) for t in before["timers"]
        )
        reminders = stack.outbox(*PHONES[:3])[len(before["outbox"]) :]
        assert sorted(m["to"] for m in reminders) == PHONES[:3]
        assert second.terminate(STOP_TIMEOUT_SECONDS) == 0, second.output
    finally:
        second.kill()


def test_a_torn_last_journal_record_is_ignored(tmp_path: Path) -> None:
    api_port, aws_port = free_ports(2)
    data = tmp_path / "data"
    stack = LocalStack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}")
    first = started(api_port, aws_port, data)
    try:
        given = book_and_kill(stack, first)
    finally:
        first.kill()
    # GIVEN the journal's newest file ends in half a record, as a kill in the middle of writing one leaves it
    newest = sorted(data.glob("journal.*"))[-1]
    with newest.open("ab") as journal:
        journal.write(struct.pack(">II", 4096, 0) + b"\x80\x05half a record")

    # WHEN the stack starts on it, THEN it is ready, says so, and has everything that was answered
    second = started(api_port, aws_port, data)
    try:
        assert "1 torn record(s) ignored" in second.output, second.output
        assert appointment(stack, given["clinic"], given["last"]["id"]) == given["last"]
        assert stack.outbox(*PHONES[:3]) == given["before"]["outbox"]
        assert second.terminate(STOP_TIMEOUT_SECONDS) == 0, second.output
    finally:
        second.kill()
