"""Admin command: a patient's opt-outs, per channel, without printing the patient's name or addresses."""

from __future__ import annotations

import argparse
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.admin.context import AdminContext
from chalicelib.core.errors import NotFound


def register(commands: Any) -> None:
    show = commands.add_parser("show-opt-outs", help="a patient's opt-outs per channel (when, and how)")
    show.add_argument("--clinic", required=True, help="the clinic id, e.g. cln_0123456789ab")
    show.add_argument("--patient", required=True, help="the patient id, e.g. pat_0123456789abcdef")
    show.set_defaults(run=show_opt_outs)


def show_opt_outs(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.core import records
    from chalicelib.patients.service import patient_opt_outs
    from chalicelib.store.convert import to_record
    from chalicelib.store.models import Patient

    context.bind_tables()
    try:
        patient = Patient.get(args.clinic, args.patient)
    except DoesNotExist:
        raise NotFound(f"patient {args.patient} of clinic {args.clinic}") from None
    return {
        "clinic_id": args.clinic,
        "patient_id": args.patient,
        "opt_out": patient_opt_outs(to_record(patient, records.Patient)),
    }
