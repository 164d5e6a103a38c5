"""`python -m chalicelib.admin`: the clinic admin's command line, for anywhere AWS credentials work (AWS
CloudShell included) or, with `--endpoint-url`, the local stack.

Each command prints one JSON object on success (or the text it was asked for, such as CSV); a failure prints one
line on stderr and exits non-zero.
Commands live in one module per concern; each module's `register` adds its subcommands.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from chalicelib.admin import (
    audit,
    clinic_access,
    clinics,
    dead_letters,
    indexes,
    messenger,
    opt_outs,
    patients,
    usage,
    webhooks,
    whatsapp,
)
from chalicelib.admin.context import AdminContext
from chalicelib.admin.local_stack import read_published
from chalicelib.core.clock import Clock, SystemClock
from chalicelib.core.errors import CareCueError
from chalicelib.settings import point_aws_at, stage_from_env

COMMAND_MODULES = [
    clinics,
    clinic_access,
    dead_letters,
    webhooks,
    usage,
    opt_outs,
    patients,
    audit,
    indexes,
    whatsapp,
    messenger,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.admin", description="CareCue's admin command line.")
    parser.add_argument("--endpoint-url", help="an AWS endpoint such as the local stack's http://127.0.0.1:5000")
    parser.add_argument(
        "--stage",
        help="the stage whose resources to use (default: $CARECUE_STAGE, else 'local' with --endpoint-url, else 'dev')",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: the usual AWS configuration)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, clock: Clock | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.endpoint_url:
        point_aws_at(args.endpoint_url)
    stage = args.stage or stage_from_env() or ("local" if args.endpoint_url else "dev")
    context = AdminContext(stage, args.region, clock=clock or SystemClock())
    try:
        if args.endpoint_url and clock is None:
            _follow_local_stack(context)
        result = args.run(context, args)
        print(result if isinstance(result, str) else json.dumps(result))  # a str is a finished text, e.g. CSV
        if _changes_something(args):
            clinic_id = getattr(args, "clinic", None) or (result.get("clinic_id") if isinstance(result, dict) else None)
            target = {"clinic_id": clinic_id} if clinic_id else {}
            context.services.audit.record(clinic_id, "admin", f"admin {args.command}", target)
        return 0
    except CareCueError as e:
        return _fail(str(e))
    except PynamoDBException as e:
        code = e.cause_response_code or type(e).__name__
        hint = " (are the stage's tables deployed?)" if code == "ResourceNotFoundException" else ""
        return _fail(f"DynamoDB refused: {code} ({stage} stage){hint}")
    except ClientError as e:
        return _fail(f"AWS refused: {e.response.get('Error', {}).get('Code', 'Unknown')} ({stage} stage)")
    except BotoCoreError as e:
        return _fail(f"AWS could not be reached: {e}")


# Commands that only read: everything else changes the stage and goes in the audit trail (chalicelib.audit).
READ_ONLY = {"list-clinics", "show-opt-outs", "usage", "webhook-url", "audit"}


def _changes_something(args: argparse.Namespace) -> bool:
    if args.command == "merge-patients":
        return bool(getattr(args, "apply", False))
    return args.command not in READ_ONLY


def _follow_local_stack(context: AdminContext) -> None:
    """Against a running local stack: its simulated clock and its API address (`chalicelib.admin.local_stack`)."""
    published = read_published(context.client("ssm"), context.stage)
    if published is not None:
        context.local_stack = published
        context.clock = published.clock()


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
