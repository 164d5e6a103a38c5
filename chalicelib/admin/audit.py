"""Admin command: the audit trail of one clinic over a time window (`chalicelib.audit`): who changed what, when."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from chalicelib.admin.context import AdminContext


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="list a clinic's audit trail: who changed what, when (ids only)")
    audit.add_argument("--clinic", required=True, help="the clinic id (or 'stage' for changes to no one clinic)")
    audit.add_argument("--since", help="ISO 8601 start (default: 30 days ago)")
    audit.add_argument("--until", help="ISO 8601 end (default: now)")
    audit.set_defaults(run=show_audit)


def show_audit(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    now = context.services.clock.now()
    since = _instant(args.since, "--since") or now - timedelta(days=30)
    until = _instant(args.until, "--until") or now
    return {"clinic_id": args.clinic, "entries": context.services.audit.entries(args.clinic, since, until)}


def _instant(text: str | None, option: str) -> datetime | None:
    """The option's instant, read as the API reads one (`query_instant`); None when it is not given."""
    from chalicelib.edge.http import query_instant

    return None if text is None else query_instant({option: text}, option)
