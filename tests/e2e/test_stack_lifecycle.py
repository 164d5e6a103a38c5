"""Starting and stopping `python -m infra.local` as a person does with `make run`: a port someone else holds
(a second `make run`, or macOS's AirPlay receiver on the default AWS port 5000) must end the start with an
error, not leave a process that never gets ready and cannot be stopped."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    NEW_YORK,
    READY,
    READY_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    STOPPED,
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
