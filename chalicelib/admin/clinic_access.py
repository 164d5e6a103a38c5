"""Admin commands about who may use CareCue: list the clinics, replace a clinic's API key, suspend or resume a
clinic."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from chalicelib.admin.context import AdminContext
from chalicelib.core.clock import iso_utc
from chalicelib.core.words import ClinicStatus

if TYPE_CHECKING:
    from chalicelib.clinics.access import ClinicAccess


def register(commands: Any) -> None:
    listing = commands.add_parser("list-clinics", help="list the stage's clinics with their status")
    listing.set_defaults(run=list_clinics)

    rotate = commands.add_parser(
        "rotate-api-key", help="give a clinic a new API key (shown once); the old key stops working"
    )
    rotate.add_argument("--clinic", required=True, help="the clinic's id, cln_…")
    rotate.set_defaults(run=rotate_api_key)

    suspend = commands.add_parser(
        "suspend-clinic", help="refuse the clinic's API key and skip its reminders until it is resumed"
    )
    suspend.add_argument("--clinic", required=True, help="the clinic's id, cln_…")
    suspend.set_defaults(run=suspend_clinic)

    resume = commands.add_parser("resume-clinic", help="let a suspended clinic use CareCue again")
    resume.add_argument("--clinic", required=True, help="the clinic's id, cln_…")
    resume.set_defaults(run=resume_clinic)


def _access(context: AdminContext) -> ClinicAccess:
    return context.services.clinic_access


def list_clinics(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    clinics = _access(context).list()
    return {
        "stage": context.stage,
        "clinics": [
            {
                "clinic_id": c.clinic_id,
                "name": c.name,
                "timezone": c.timezone,
                "status": c.status,
                "created_at": iso_utc(c.created_at),
            }
            for c in clinics
        ],
    }


def rotate_api_key(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    api_key = _access(context).rotate_api_key(args.clinic)
    return {"clinic_id": args.clinic, "stage": context.stage, "api_key": api_key}


def suspend_clinic(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    _access(context).set_status(args.clinic, ClinicStatus.SUSPENDED)
    return {"clinic_id": args.clinic, "stage": context.stage, "status": ClinicStatus.SUSPENDED}


def resume_clinic(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    _access(context).set_status(args.clinic, ClinicStatus.ACTIVE)
    return {"clinic_id": args.clinic, "stage": context.stage, "status": ClinicStatus.ACTIVE}
