"""Admin commands about usage and billing: a month's usage for every clinic, and a clinic's spend cap (setting it
also releases the reminders the cap held back, once the clinic is under it: `chalicelib.meter.release`)."""

from __future__ import annotations

import argparse
import csv
import io
import math
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.admin.context import AdminContext
from chalicelib.core.errors import InvalidRequest, NotFound
from chalicelib.store.conditions import condition_failed


def register(commands: Any) -> None:
    report = commands.add_parser("usage", help="a month's usage and estimated cost for every clinic")
    report.add_argument("--month", help="YYYY-MM, in UTC (default: this month)")
    report.add_argument("--csv", action="store_true", help="print CSV for billing instead of JSON")
    report.set_defaults(run=usage)

    cap = commands.add_parser("set-spend-cap", help="set a clinic's monthly spend cap")
    cap.add_argument("--clinic", required=True, help="the clinic id, e.g. cln_0123456789ab")
    amount = cap.add_mutually_exclusive_group(required=True)
    amount.add_argument("--usd", help="the cap in USD a month, e.g. 250")
    amount.add_argument("--default", action="store_true", help="go back to the stage's default cap")
    cap.set_defaults(run=set_spend_cap)


def usage(context: AdminContext, args: argparse.Namespace) -> dict[str, Any] | str:
    from chalicelib.meter.views import CSV_COLUMNS, requested_month, usage_row
    from chalicelib.store.clinics import all_clinics, get_clinic

    context.bind_tables()
    params = {"month": args.month} if args.month is not None else {}
    try:
        month = requested_month(params, context.clock.now())
    except InvalidRequest:
        raise InvalidRequest.single("--month", "must be a month as YYYY-MM, e.g. 2026-12") from None
    meter = context.services.usage
    clinics = [get_clinic(summary.clinic_id) for summary in all_clinics()]  # by id, from the by-status index
    rows = [usage_row(meter.month(clinic, month)) for clinic in clinics]
    if args.csv:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "spend_cap_reached": str(row["spend_cap_reached"]).lower()} for row in rows)
        return text.getvalue().rstrip("\n")
    total = round(sum(row["estimated_cost_usd"] for row in rows), 6)
    return {"stage": context.stage, "month": month, "estimated_cost_usd": total, "clinics": rows}


def set_spend_cap(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.core import records
    from chalicelib.meter.pricing import billing_month
    from chalicelib.meter.release import Release
    from chalicelib.store.convert import to_record
    from chalicelib.store.models import Clinic

    context.bind_tables()
    action = Clinic.monthly_spend_cap_usd.remove() if args.default else Clinic.monthly_spend_cap_usd.set(_usd(args.usd))
    clinic = Clinic(args.clinic)
    try:
        clinic.update(actions=[action], condition=Clinic.clinic_id.exists())
    except UpdateError as e:
        if condition_failed(e):
            raise NotFound(f"clinic {args.clinic}") from None
        raise
    # The update read the clinic back whole (PynamoDB's ALL_NEW), so its record is the clinic as it is now.
    now = context.services.usage.month(to_record(clinic, records.Clinic), billing_month(context.clock.now()))
    # Under the cap now: what it held back and is still of use goes out (the fire path checks it all again).
    release = (
        context.services.spend_cap_release.release_clinic(clinic.clinic_id) if not now.spend_cap_reached else Release()
    )
    return {
        "clinic_id": clinic.clinic_id,
        "stage": context.stage,
        "spend_cap_usd": now.spend_cap_usd,
        "month": now.month,
        "estimated_cost_usd": now.estimated_cost_usd,
        "spend_cap_reached": now.spend_cap_reached,
        "reminders_released": len(release.released),
        "reminders_not_armed": len(release.not_armed),  # Scheduler refused their timers: held, tried again hourly
    }


def _usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < 1e9:
        raise InvalidRequest.single("--usd", f"{text!r} is not an amount in USD, 0 or more")
    return value
