"""`python -m chalicelib.admin`: the clinic admin's command line, for anywhere AWS credentials work (AWS
CloudShell included) or, with `--endpoint-url`, the local stack.

Each command prints one JSON object on success; a failure prints one line on stderr and exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from chalicelib.clock import SystemClock
from chalicelib.errors import InvalidRequest
from chalicelib.settings import parameter_path, point_aws_at, resource_prefix, stage_from_env


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.admin", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", help="an AWS endpoint such as the local stack's http://127.0.0.1:5000")
    parser.add_argument(
        "--stage",
        help="the stage whose resources to use (default: $CARECUE_STAGE, else 'local' with --endpoint-url, else 'dev')",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: the usual AWS configuration)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = commands.add_parser("create-clinic", help="create a clinic and print its API key (shown once)")
    create.add_argument("--name", required=True, help="the clinic's name as patients know it")
    create.add_argument("--timezone", required=True, help="the clinic's IANA time zone, e.g. America/New_York")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.endpoint_url:
        point_aws_at(args.endpoint_url)
    stage = args.stage or stage_from_env() or ("local" if args.endpoint_url else "dev")
    try:
        if args.command == "create-clinic":
            print(json.dumps(create_clinic(stage, args.region, args.name, args.timezone)))
        return 0
    except InvalidRequest as e:
        return _fail(str(e))
    except ClientError as e:
        return _fail(f"AWS refused: {e.response.get('Error', {}).get('Code', 'Unknown')} ({stage} stage)")
    except PynamoDBException as e:
        code = e.cause_response_code or type(e).__name__
        hint = " (are the stage's tables deployed?)" if code == "ResourceNotFoundException" else ""
        return _fail(f"DynamoDB refused: {code} ({stage} stage){hint}")
    except BotoCoreError as e:
        return _fail(f"AWS could not be reached: {e}")


def create_clinic(stage: str, region: str | None, name: str, timezone: str) -> dict[str, str]:
    import boto3

    from chalicelib.clinics.secrets import ClinicSecrets
    from chalicelib.clinics.service import ClinicService
    from chalicelib.store.models import bind_tables

    session = boto3.Session(region_name=region)
    region_name = session.region_name
    if not region_name:
        raise InvalidRequest.single("--region", "is needed: no AWS region is configured")
    bind_tables(resource_prefix(stage), region_name)
    secrets = ClinicSecrets(session.client("ssm"), parameter_path(stage))
    clinic = ClinicService(SystemClock(), secrets).create(name, timezone)
    return {
        "clinic_id": clinic.clinic_id,
        "name": clinic.name,
        "timezone": clinic.timezone,
        "stage": stage,
        "api_key": clinic.api_key,
        "webhook_secret": clinic.webhook_secret,
    }


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
