"""Admin commands about clinics."""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib.admin.context import AdminContext


def register(commands: Any) -> None:
    create = commands.add_parser("create-clinic", help="create a clinic and print its API key (shown once)")
    create.add_argument("--name", required=True, help="the clinic's name as patients know it")
    create.add_argument("--timezone", required=True, help="the clinic's IANA time zone, e.g. America/New_York")
    create.set_defaults(run=create_clinic)


def create_clinic(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    clinic = context.services.clinics.create(args.name, args.timezone)
    return {
        "clinic_id": clinic.clinic_id,
        "name": clinic.name,
        "timezone": clinic.timezone,
        "stage": context.stage,
        "api_key": clinic.api_key,
        "webhook_secret": clinic.webhook_secret,
    }
