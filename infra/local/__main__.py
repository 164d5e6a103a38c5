"""`python -m infra.local`: runs the whole of CareCue on this machine (what `make run` starts)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from types import FrameType

from infra.local.clock import SimulatedClock
from infra.local.stack import LocalStack, PortInUse


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
    args = parser.parse_args()

    start = datetime.fromisoformat(args.clock_start) if args.clock_start else None
    stack = LocalStack(args.port, args.aws_port, SimulatedClock(start=start, frozen=args.frozen_clock))
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
    print("Ready. Ctrl-C stops.", flush=True)
    # Woken every fraction of a second: Python runs a signal handler on the main thread only, and a SIGTERM the
    # kernel hands to one of the servers' threads would not wake a main thread blocked in a plain wait().
    while not stopped.wait(timeout=0.2):
        pass
    stack.stop()
    print("Stopped.", flush=True)
    return 0


def exit_now(code: int) -> None:
    """Ends the process once the stack has stopped: the interpreter's own shutdown would wait for the
    servers' daemon threads to give up the GIL, which on a large state took tens of seconds."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
