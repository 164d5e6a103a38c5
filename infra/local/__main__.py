"""`python -m infra.local`: runs the whole of CareCue on this machine (what `make run` starts).

Its state (every table, timer, secret, the outbox and the clock) is kept in the data folder (default
`.carecue-local/` in the repository) and comes back at the next start; `--reset` starts empty. A restored clock
comes back as it was (frozen at its instant, or running on from it); `--frozen-clock` freezes it, and
`--clock-start` moves it forwards (never back: the timers already fired for an instant must not come due again,
so an earlier one is noted and ignored).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType

from chalicelib.edge.gateway import API_BURST_LIMIT, API_RATE_LIMIT
from infra.local.clock import SimulatedClock
from infra.local.faults import FaultSwitch
from infra.local.persistence import DataError, DataFolder, Snapshot
from infra.local.stack import PROJECT_DIR, LocalStack, PortInUse

DEFAULT_DATA = ".carecue-local"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="API port (env PORT)")
    parser.add_argument(
        "--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "5000")), help="local AWS port (env AWS_PORT)"
    )
    parser.add_argument("--clock-start", help="start the simulated clock at this ISO 8601 instant instead of now")
    parser.add_argument(
        "--frozen-clock", action="store_true", help="keep the clock still until POST /_local/clock moves it"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=PROJECT_DIR / DEFAULT_DATA,
        help=f"the folder the state is kept in (default: {DEFAULT_DATA} in the repository)",
    )
    parser.add_argument("--reset", action="store_true", help="start empty: forget the state kept in the data folder")
    parser.add_argument(
        "--throttle",
        default=f"{API_RATE_LIMIT:g},{API_BURST_LIMIT}",
        help="API Gateway's throttle as RATE,BURST requests a second (default: the AWS stages' own)",
    )
    parser.add_argument(
        "--faults",
        default=os.environ.get("CARECUE_FAULTS", ""),
        help="fail that share of the app's calls to each AWS service as AWS fails them, e.g. "
        "'scheduler=0.3,sns=0.3,dynamodb=0.1' (also ses, ssm; env CARECUE_FAULTS; docs/reliability.md)",
    )
    parser.add_argument(
        "--faults-seed",
        default=os.environ.get("CARECUE_FAULTS_SEED"),
        help="seed the fault draw, for a run that fails the same calls again (env CARECUE_FAULTS_SEED)",
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    args = parser.parse_args()

    start = datetime.fromisoformat(args.clock_start) if args.clock_start else None
    folder = DataFolder(args.data)
    try:
        faults = FaultSwitch.from_settings(args.faults, args.faults_seed)
        saved = folder.open(reset=args.reset)
        clock = _clock(saved, start, args.frozen_clock)
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    rate, _, burst = args.throttle.partition(",")
    stack = LocalStack(
        args.port,
        args.aws_port,
        clock,
        data=folder,
        saved=saved,
        throttle=(float(rate), int(burst)),
        faults=faults,
    )
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    try:
        stack.start()
    except PortInUse as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"CareCue API:   {stack.addresses.api}", flush=True)
    print(
        f"Local AWS:     {stack.addresses.aws}   (python -m chalicelib.admin --endpoint-url {stack.addresses.aws} ...)",
        flush=True,
    )
    print(f"Outbox:        {stack.addresses.api}/_local/outbox", flush=True)
    print(f"Clock:         {stack.addresses.api}/_local/clock   (now {stack.clock.now().isoformat()})", flush=True)
    kept = f"restored, {len(saved.outbox)} message(s) in the outbox" if saved is not None else "started empty"
    print(f"Data:          {args.data}   ({kept}; --reset or make run RESET=1 starts empty)", flush=True)
    if stack.replayed is not None or folder.torn:
        # What the journal had since the last snapshot (infra/local/journal.py); a replayed request answered
        # otherwise than the first time would mean the replay is not faithful: it is said, not hidden.
        replayed = stack.replayed.requests if stack.replayed is not None else 0
        differed = stack.replayed.differed if stack.replayed is not None else 0
        print(
            f"Journal:       replayed {replayed} AWS request(s), {differed} answered differently; "
            f"{folder.replayed_changes} change(s) of the stack; {folder.torn} torn record(s) ignored",
            flush=True,
        )
        if stack.replayed is not None and stack.replayed.differed_operations:
            print(f"Journal:       answered differently: {', '.join(stack.replayed.differed_operations)}", flush=True)
    if faults is not None:
        print(f"Faults:        {faults.describe()}   ({stack.addresses.api}/_local/faults)", flush=True)
    print("Ready. Ctrl-C stops.", flush=True)
    # Woken every fraction of a second: Python runs a signal handler on the main thread only, and a SIGTERM the
    # kernel hands to one of the servers' threads would not wake a main thread blocked in a plain wait().
    while not stopped.wait(timeout=0.2):
        pass
    stack.stop()
    print("Stopped.", flush=True)
    return 0


def _clock(saved: Snapshot | None, start: datetime | None, frozen: bool) -> SimulatedClock:
    if saved is None:
        return SimulatedClock(start=start, frozen=frozen)
    clock = SimulatedClock.restored(saved.clock)
    if frozen:
        clock.freeze()
    if start is not None:
        if start < clock.now():
            # Not an error, so that the same `make run CLOCK_START=... FROZEN=1` starts a stack again and again.
            print(
                f"note: the saved clock is at {clock.now().isoformat()}, later than --clock-start "
                f"{start.isoformat()}, and never goes back; --reset (make run RESET=1) starts over",
                file=sys.stderr,
                flush=True,
            )
        else:
            clock.set(start)
    return clock


def exit_now(code: int) -> None:
    """Ends the process once the stack has stopped: the interpreter's own shutdown would wait for the
    servers' daemon threads to give up the GIL, which on a large state took tens of seconds."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
