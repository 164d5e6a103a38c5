"""Admin command: `index-pending`, the one-off backfill after the `by-due` and `by-timer-check` indexes were
added (docs/performance.md, "Deploying the index change"): reminders and regimens stored before them get their
index keys, so the reconciler and the spend-cap release see them; and after the `by-provider` index of
appointments (docs/operations.md, "Deploying the bounded reads"), appointments stored before it get theirs, so
the running-late watch sees them. Safe to run twice, and while the stage runs."""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib.admin.context import AdminContext


def register(commands: Any) -> None:
    backfill = commands.add_parser(
        "index-pending",
        help="give reminders, regimens and appointments stored before their indexes their keys (one-off)",
    )
    backfill.set_defaults(run=index_pending)


def index_pending(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.store import pending
    from chalicelib.store.appointments import index_unlisted_providers

    services = context.services  # binds the stage's tables
    indexed = pending.index_unlisted(services.clock.now())
    return {"stage": context.stage, "indexed": {**indexed, "appointments": index_unlisted_providers()}}
