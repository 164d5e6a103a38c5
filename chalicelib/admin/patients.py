"""Admin command: merge a clinic's duplicate patients (chalicelib.patients.merge), a dry run unless `--apply`.
It prints ids and counts only, never a name, phone or email."""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib.admin.context import AdminContext
from chalicelib.core.errors import NotFound


def register(commands: Any) -> None:
    merge = commands.add_parser(
        "merge-patients",
        help="merge the clinic's patients with the same name and phone or email (a dry run without --apply)",
    )
    merge.add_argument("--clinic", required=True, help="the clinic id, e.g. cln_0123456789ab")
    merge.add_argument(
        "--apply", action="store_true", help="merge them (without it, print what would merge and change nothing)"
    )
    merge.set_defaults(run=merge_patients)


def merge_patients(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.patients import merge
    from chalicelib.store.clinics import find_clinic

    context.bind_tables()
    if find_clinic(args.clinic) is None:
        raise NotFound(f"clinic {args.clinic}")
    if args.apply:
        return merge.apply(args.clinic, context.clock.now())
    return merge.plan(args.clinic)
