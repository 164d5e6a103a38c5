"""Admin commands of the reminders' own repair: redrive the dead-letter queue (see chalicelib.reconcile.dead_letters)
and run the hourly reconciler now (`reconcile`: the same run the hourly schedule makes, against the stage or the
local stack the command points at, on that stage's clock)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

from chalicelib.admin.context import AdminContext
from chalicelib.core.errors import InvalidRequest


def register(commands: Any) -> None:
    redrive = commands.add_parser(
        "redrive-dlq",
        help="send, re-arm or mark missed the reminder timers in the dead-letter queue; never sends twice",
    )
    redrive.add_argument(
        "--max-late-hours",
        type=float,
        default=6.0,
        help="a reminder later than this is marked missed instead of sent (default 6)",
    )
    redrive.add_argument("--limit", type=int, default=1000, help="handle at most this many events (default 1000)")
    redrive.set_defaults(run=redrive_dlq)
    reconcile = commands.add_parser(
        "reconcile",
        help="run the hourly reconciler now: re-arm missing timers, mark missed reminders, release held ones",
    )
    reconcile.set_defaults(run=reconcile_now)


def reconcile_now(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    """What the run repaired, in counts only (no reminder ids, no patient data)."""
    with _diagnostics_to_stderr():
        result = context.services.reconciler.run()
    return {"stage": context.stage, **result.as_dict()}


def redrive_dlq(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from datetime import timedelta

    from chalicelib.admin.stage import queue_url
    from chalicelib.reconcile.dead_letters import DeadLetterRedrive

    if args.max_late_hours <= 0:
        raise InvalidRequest.single("--max-late-hours", "must be more than 0")
    if args.limit < 1:
        raise InvalidRequest.single("--limit", "must be at least 1")
    services = context.services
    redrive = DeadLetterRedrive(
        services.clock,
        context.client("sqs"),
        queue_url(context, services.settings),
        services.dispatcher,
        services.reminder_timers,
        services.reconciler,
    )
    with _diagnostics_to_stderr():
        result = redrive.run(max_lateness=timedelta(hours=args.max_late_hours), limit=args.limit)
    return {"stage": context.stage, "outcomes": result.outcomes}


@contextmanager
def _diagnostics_to_stderr() -> Iterator[None]:
    """The dispatcher's log lines and metrics go to stderr: stdout is the command's one JSON object."""
    from chalicelib.core.observability import logger

    handler = logger.registered_handler
    previous = handler.setStream(sys.stderr) if isinstance(handler, logging.StreamHandler) else None
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        if previous is not None and isinstance(handler, logging.StreamHandler):
            handler.setStream(previous)
