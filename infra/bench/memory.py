"""`make bench`'s memory and shutdown figures: the local stack (`python -m infra.local`, as `make run` starts it)
on free ports with `--reset` and a data folder of its own, N appointments booked through the API with a real
key (each with its two SMS reminders armed and its confirmation sent), then some of those reminders fired
through the clock route.

Measured from outside, as an operator would: the resident memory (VmRSS from /proc) of the stack's whole process
tree at each checkpoint (250, 500, 1k, 2k, 5k and 10k bookings, up to the number asked); 16 threads of
concurrent GETs of one appointment at that size, counting every reset, refusal or error status; the seconds
from SIGTERM to the process's exit (the stop writes no snapshot: the journal has every answered change,
infra/local/journal.py); and the seconds a start on that data folder takes to be ready (the last snapshot and the
journal since replayed), with the outbox checked whole. The process tree is the stack's own: its data folder is
a temporary one.

The bookings are spread over 100 fictional phone numbers (+1 415 555 01xx) and 30 days of slots, so that the
tables, the timers and the outbox all grow as a clinic's would. One booking client at a time: the stack runs one
invocation at a time anyway (docs/local-stack.md), and one client keeps the figure about the stack, not about
queued connections.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.local.ports import free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]
CLOCK_START = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
# Every 1,000, and 100 before 1,000 and before the last: the time per 100 bookings there
CHECKPOINTS = (250, 500, 900, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000, 10_000)
TARGET_BOOKINGS = 10_000  # the target's size: under RSS_TARGET_MB after this many bookings
# What `make bench` books by default: 10,000 take far longer than its 10 minutes on the shared 2-core machine
# (docs/reliability.md), so below TARGET_BOOKINGS the figure judged is the RSS projected to it from the growth
# through every checkpoint (`projected_rss_mb`; `--memory-bookings 10000` measures it).
DEFAULT_BOOKINGS = 1_000
SMOKE_CHECKPOINTS = (10, 20)
RSS_TARGET_MB = 1024.0  # the whole process tree after the last checkpoint
STOP_TARGET_SECONDS = 5.0
# A start on a large state, snapshot and journal: the e2e tests' wait for a stack to be ready.
RESTART_TARGET_SECONDS = 60.0
CONCURRENT_CLIENTS = 16
GETS_PER_CLIENT = 25
SMOKE_GETS_PER_CLIENT = 2
FIRED_SHARE = 10  # one booking in this many has its reminders fired, through the clock route, before the end
READY = "Ready. Ctrl-C stops."
_TIMEOUT_SECONDS = 60.0
_FIRE_TIMEOUT_SECONDS = 600.0
_FIRE_STEP = timedelta(days=1)  # the reconciler runs at most 3 times a move (infra/local/stack.py)
_SLOTS = 30 * 24 * 4  # quarter hours over 30 days


def tree_rss_mb(pid: int) -> float:
    """VmRSS of `pid` and every descendant, from /proc (0 for a process that ended meanwhile)."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended meanwhile
        for task in tasks:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
                pending += [int(child) for child in (task / "children").read_text().split()]
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


@dataclass
class Checkpoint:
    bookings: int
    rss_mb: float
    seconds: float  # since the first booking


@dataclass
class MemoryRun:
    checkpoints: list[Checkpoint] = field(default_factory=list)
    start_rss_mb: float = 0.0
    fired: int = 0
    fire_seconds: float = 0.0
    final_rss_mb: float = 0.0
    gets: int = 0
    get_failures: list[str] = field(default_factory=list)
    stop_seconds: float | None = None
    stopped_cleanly: bool = False
    outbox_before_stop: int = 0
    restart_seconds: float | None = None
    # SIGTERM as soon as the restarted stack is ready: in the middle of the snapshot each start takes at once
    restart_stop_seconds: float | None = None
    outbox_after_restart: int = 0
    journal: str = ""  # the restarted stack's "Journal:" line
    total_seconds: float = 0.0


class _Stack:
    """`python -m infra.local` in a subprocess; its output drained by a thread so no pipe can fill."""

    def __init__(self, data: Path, reset: bool = True) -> None:
        self.started = time.perf_counter()
        self.api_port, self.aws_port = free_ports(2)
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.aws = f"http://127.0.0.1:{self.aws_port}"
        command = [
            sys.executable,
            "-m",
            "infra.local",
            "--port",
            str(self.api_port),
            "--aws-port",
            str(self.aws_port),
            *(["--reset"] if reset else []),
            "--data",
            str(data),
            "--frozen-clock",
            "--clock-start",
            CLOCK_START.isoformat(),
            "--throttle",
            "100000,100000",  # the stage's throttle would pace the bench, not measure the stack
        ]
        self.env = _environment()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.output: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="bench-stack-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if len(self.output) < 2000:  # the first lines, for an error message; the rest is only drained
                self.output.append(line)
            if READY in line:
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = _TIMEOUT_SECONDS) -> None:
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError("the local stack did not start:\n" + "".join(self.output[-50:]))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _environment() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CARECUE_", "AWS_")) and name not in ("POWERTOOLS_LOG_LEVEL",)
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _request(
    url: str, method: str = "GET", body: Any = None, key: str | None = None, timeout: float = _TIMEOUT_SECONDS
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - 127.0.0.1
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def _create_clinic(stack: _Stack) -> str:
    """A clinic made with the admin command line, as an operator makes one: its API key."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "chalicelib.admin", "--endpoint-url", stack.aws, "create-clinic"]
        + ["--name", "Bench Clinic", "--timezone", "America/New_York"],
        cwd=REPO_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=_TIMEOUT_SECONDS,
    )
    return str(json.loads(done.stdout)["api_key"])


def booking(index: int) -> dict[str, Any]:
    """Appointment `index`: one of 100 fictional patients, in a quarter-hour slot from two days after the start."""
    start = CLOCK_START + timedelta(days=2, minutes=15 * (index % _SLOTS))
    phone = f"+1415555{100 + index % 100:04d}"
    return {
        "patient": {"name": "Pat Example", "phone": phone},
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "external_id": f"bench-{index}",
    }


def _concurrent_gets(api: str, key: str, path: str, per_client: int) -> tuple[int, list[str]]:
    """16 threads, each opening `per_client` fresh connections to GET `path`: the answers and every failure."""
    failures: list[str] = []
    done = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(CONCURRENT_CLIENTS)

    def client() -> None:
        barrier.wait()
        for _ in range(per_client):
            try:
                status, _ = _request(f"{api}{path}", key=key)
                problem = None if status == 200 else f"status {status}"
            except OSError as error:  # a reset, a refused connection, a timeout
                problem = type(error).__name__
            with lock:
                done[0] += 1
                if problem:
                    failures.append(problem)

    threads = [threading.Thread(target=client, name=f"bench-get-{n}") for n in range(CONCURRENT_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0], failures


def run(checkpoints: tuple[int, ...] = CHECKPOINTS, gets_per_client: int = GETS_PER_CLIENT) -> MemoryRun:
    result = MemoryRun()
    started = time.perf_counter()
    with _data_folder() as data:
        stack = _Stack(data)
        try:
            stack.wait_ready()
            key = _create_clinic(stack)
            result.start_rss_mb = tree_rss_mb(stack.process.pid)
            booked, first = 0, ""
            booking_started = time.perf_counter()
            for target in checkpoints:
                while booked < target:
                    status, body = _request(f"{stack.api}/v1/appointments", "POST", booking(booked), key)
                    if status != 201:
                        raise RuntimeError(f"booking {booked} answered {status}: {body}")
                    first = first or str(body["id"])
                    booked += 1
                elapsed = time.perf_counter() - booking_started
                result.checkpoints.append(Checkpoint(booked, tree_rss_mb(stack.process.pid), elapsed))
                last = result.checkpoints[-1]
                # on stderr as it goes: the step takes minutes, and the report is printed at the end
                print(
                    f"memory step: {last.bookings} bookings, {last.rss_mb:.0f} MB, {last.seconds:.0f} s",
                    file=sys.stderr,
                )
            result.fired, result.fire_seconds = _fire_some(stack, booked)
            result.final_rss_mb = tree_rss_mb(stack.process.pid)
            # An appointment as a clinic's system reads it: the authorizer's and the route's reads, at that size.
            path = f"/v1/appointments/{first}"
            result.gets, result.get_failures = _concurrent_gets(stack.api, key, path, gets_per_client)
            result.outbox_before_stop = _outbox_size(stack)
            result.stop_seconds, result.stopped_cleanly = _terminate(stack)
        finally:
            stack.kill()
        # Started again on what the stop left (the last snapshot and the journal since), and stopped at once: the
        # worst moment, as the start's first snapshot is being captured. Then once more, to read the outbox.
        again = _Stack(data, reset=False)
        try:
            again.wait_ready(2 * RESTART_TARGET_SECONDS)
            result.restart_seconds = time.perf_counter() - again.started
            result.journal = next((" ".join(line.split()) for line in again.output if line.startswith("Journal:")), "")
            result.restart_stop_seconds, _ = _terminate(again)
        finally:
            again.kill()
        reading = _Stack(data, reset=False)
        try:
            reading.wait_ready(2 * RESTART_TARGET_SECONDS)
            result.outbox_after_restart = _outbox_size(reading)
            _terminate(reading)
        finally:
            reading.kill()
    result.total_seconds = time.perf_counter() - started
    return result


def _fire_some(stack: _Stack, booked: int) -> tuple[int, float]:
    """Moves the clock over the first slots' reminders: about one booking in FIRED_SHARE has both fired."""
    slots = max(1, min(booked, _SLOTS) // FIRED_SHARE)
    # The 2-hour reminder of the last slot moved over is due 2 h before it; its 24-hour one a day before.
    to = CLOCK_START + timedelta(days=2, minutes=15 * slots) - timedelta(hours=2)
    started = time.perf_counter()
    fired = 0
    # A simulated day a request (each firing is a fire invocation: some 2,000 at 10,000 bookings would take
    # longer than one request's timeout on a busy machine), as a clinic's day passes.
    moment = CLOCK_START
    while moment < to:
        moment = min(to, moment + _FIRE_STEP)
        moved = {"to": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
        status, body = _request(f"{stack.api}/_local/clock", "POST", moved, timeout=_FIRE_TIMEOUT_SECONDS)
        if status != 200:
            raise RuntimeError(f"moving the clock answered {status}: {body}")
        fired += len(body["fired"])
    return fired, time.perf_counter() - started


def _outbox_size(stack: _Stack) -> int:
    status, body = _request(f"{stack.api}/_local/outbox", "GET", timeout=_FIRE_TIMEOUT_SECONDS)
    if status != 200:
        raise RuntimeError(f"the outbox answered {status}")
    return len(body["messages"])


def _terminate(stack: _Stack) -> tuple[float | None, bool]:
    """SIGTERM, then the seconds until the process has exited (None if it ran on past 30 s: it is killed)."""
    started = time.perf_counter()
    stack.process.send_signal(signal.SIGTERM)
    try:
        code = stack.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        return None, False
    return time.perf_counter() - started, code == 0


@contextmanager
def _data_folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="carecue-bench-memory-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def memory_figures(smoke: bool, bookings: int | None = None) -> tuple[list[tuple[str, float, float, str]], list[str]]:
    """(name, value, target, detail) rows for infra.bench's Figure, and the notes (every checkpoint)."""
    wanted = DEFAULT_BOOKINGS if bookings is None else bookings
    below = {n for n in CHECKPOINTS if n < wanted} | ({wanted - 100} if wanted > 100 else set())
    checkpoints = SMOKE_CHECKPOINTS if smoke else tuple(sorted(below | {wanted}))
    measured = run(checkpoints, SMOKE_GETS_PER_CLIENT if smoke else GETS_PER_CLIENT)
    last = measured.checkpoints[-1]
    at = ", ".join(f"{c.bookings:,}: {c.rss_mb:.0f} MB at {c.seconds:.0f} s" for c in measured.checkpoints)
    stop = measured.stop_seconds if measured.stop_seconds is not None else float("inf")
    restart_stop = measured.restart_stop_seconds if measured.restart_stop_seconds is not None else float("inf")
    slope = growth_per_booking(measured.checkpoints)
    if last.bookings >= TARGET_BOOKINGS:
        name, value = f"local stack RSS after {last.bookings:,} bookings (MB)", measured.final_rss_mb
        how = "measured"
    else:
        name = f"local stack RSS at {TARGET_BOOKINGS:,} bookings, from {last.bookings:,} (MB)"
        value = projected_rss_mb(measured.checkpoints, TARGET_BOOKINGS)
        highest = max(c.rss_mb for c in measured.checkpoints)
        how = (
            f"projected from the highest reading, {highest:.0f} MB, + {slope * 1000:.0f} MB per 1k (the line "
            f"through every checkpoint) for the {TARGET_BOOKINGS - last.bookings:,} bookings after {last.bookings:,}"
        )
    rows = [
        (
            name,
            value,
            RSS_TARGET_MB,
            f"{how}; the process tree's VmRSS from /proc, {measured.start_rss_mb:.0f} MB at the start; {at}; "
            f"then {measured.fired} reminders fired ({measured.fire_seconds:.0f} s)",
        ),
        (
            "local stack SIGTERM to exit (s)",
            max(stop, restart_stop),
            STOP_TARGET_SECONDS,
            f"at {last.bookings:,} bookings: {stop:.2f} s after the fire step and the GETs (exit status "
            f"{'0' if measured.stopped_cleanly else 'not 0'}), {restart_stop:.2f} s right after a restart (during "
            "its first snapshot's capture); the worse of the two",
        ),
        (
            "local stack start again on its data (s)",
            measured.restart_seconds if measured.restart_seconds is not None else float("inf"),
            RESTART_TARGET_SECONDS,
            f"at {last.bookings:,} bookings, to ready; {measured.journal or 'no journal to replay'}; outbox "
            f"{measured.outbox_after_restart:,} messages of {measured.outbox_before_stop:,} before the stop"
            + ("" if measured.outbox_after_restart == measured.outbox_before_stop else ": **LOST MESSAGES**"),
        ),
        (
            f"failed GETs, {CONCURRENT_CLIENTS} concurrent clients",
            float(len(measured.get_failures)),
            0.0,
            f"{measured.gets} GETs, each on a fresh connection, at {last.bookings:,} bookings"
            + (f": {sorted(set(measured.get_failures))}" if measured.get_failures else ""),
        ),
    ]
    hundreds = [(at, per_hundred(measured.checkpoints, at)) for at in sorted({1_000, last.bookings})]
    pace = ", ".join(f"{seconds:.1f} s at {at:,}" for at, seconds in hundreds if seconds is not None)
    notes = [
        f"memory step: {last.bookings:,} bookings in {last.seconds:.0f} s ({last.bookings / last.seconds:.1f}/s), "
        f"{measured.total_seconds:.0f} s in all; growth {slope * 1000:.0f} MB per 1k bookings"
        + (f"; 100 bookings took {pace}" if pace else "")
    ]
    return rows, notes


def growth_per_booking(checkpoints: list[Checkpoint]) -> float:
    """MB per booking: the slope of the least-squares line through every checkpoint (0 with fewer than two, and
    never below 0). A line through all readings, not the change between two of them: RSS moves in steps and
    falls after an allocator trim, so one low last reading would otherwise project no growth at all."""
    if len(checkpoints) < 2:
        return 0.0
    mean_x = sum(c.bookings for c in checkpoints) / len(checkpoints)
    mean_y = sum(c.rss_mb for c in checkpoints) / len(checkpoints)
    spread = sum((c.bookings - mean_x) ** 2 for c in checkpoints)
    if spread == 0:
        return 0.0
    return max(0.0, sum((c.bookings - mean_x) * (c.rss_mb - mean_y) for c in checkpoints) / spread)


def projected_rss_mb(checkpoints: list[Checkpoint], bookings: int) -> float:
    """The RSS projected to `bookings` from the growth above, starting from the highest reading taken (a trim
    just before the last checkpoint must not lower the projection)."""
    last = checkpoints[-1]
    return max(c.rss_mb for c in checkpoints) + growth_per_booking(checkpoints) * max(0, bookings - last.bookings)


def per_hundred(checkpoints: list[Checkpoint], at: int) -> float | None:
    """Seconds the 100 bookings up to checkpoint `at` took (None without checkpoints at `at` - 100 and `at`)."""
    seconds = {c.bookings: c.seconds for c in checkpoints}
    if at not in seconds or at - 100 not in seconds:
        return None
    return seconds[at] - seconds[at - 100]


def main(argv: list[str] | None = None) -> int:
    """`python -m infra.bench.memory --bookings 10000`: figure 7 alone (the target's size takes long: docs/bench.md)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m infra.bench.memory", description=main.__doc__)
    parser.add_argument("--bookings", type=int, default=DEFAULT_BOOKINGS, help=f"({DEFAULT_BOOKINGS})")
    parser.add_argument("--smoke", action="store_true", help="20 bookings; judges no target")
    args = parser.parse_args(argv)
    rows, notes = memory_figures(args.smoke, args.bookings)
    for name, value, target, detail in rows:
        verdict = "SMOKE" if args.smoke else "PASS" if value <= target else "FAIL"
        print(f"{verdict}  {name:48} {value:10.4f}   target <= {target:g}\n      {detail}")
    for note in notes:
        print(note)
    return 0 if args.smoke or all(value <= target for _, value, target, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
