"""Admin command: connect a clinic's WhatsApp sender (a phone number of the clinic's WhatsApp Business Account in
AWS End User Messaging Social). Its templates are named in `PUT /v1/clinic` (`chalicelib.clinics.whatsapp_settings`)."""

from __future__ import annotations

import argparse
import re
from typing import Any

from chalicelib.admin.context import AdminContext
from chalicelib.core.errors import InvalidRequest

# AWS's own pattern for originationPhoneNumberId: an id, or the phone number's ARN.
_PHONE_NUMBER_ID = re.compile(
    r"^(phone-number-id-[0-9a-zA-Z]+|arn:[^:]+:social-messaging:[^:]*:\d*:phone-number-id/[0-9a-zA-Z]+)$"
)


def register(commands: Any) -> None:
    connect = commands.add_parser("set-whatsapp", help="connect a clinic's WhatsApp phone number (its sender)")
    connect.add_argument("--clinic", required=True, help="the clinic id, e.g. cln_0123456789ab")
    connect.add_argument(
        "--phone-number-id",
        required=True,
        help="the End User Messaging Social phone number id, e.g. phone-number-id-0123456789abcdef (or its ARN)",
    )
    connect.set_defaults(run=set_whatsapp)


def set_whatsapp(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.store.clinics import clinic_with_whatsapp_sender, set_whatsapp_phone_number_id

    if not _PHONE_NUMBER_ID.match(args.phone_number_id) or len(args.phone_number_id) > 115:
        raise InvalidRequest.single("--phone-number-id", "must be phone-number-id-… or its ARN")
    # Kept as the id, whichever was given: the WABA's events name the number by its ARN, read back to the id.
    phone_number_id = (
        "phone-number-id-" + args.phone_number_id.rsplit("/", 1)[1]
        if "/" in args.phone_number_id
        else args.phone_number_id
    )
    context.bind_tables()
    # One clinic per sender: a WhatsApp event is routed by its sender alone (the `by-whatsapp-sender` index).
    holder = clinic_with_whatsapp_sender(phone_number_id)
    if holder is not None and holder.clinic_id != args.clinic:
        raise InvalidRequest.single("--phone-number-id", "is another clinic's WhatsApp sender already")
    set_whatsapp_phone_number_id(args.clinic, phone_number_id)
    return {"clinic_id": args.clinic, "whatsapp_phone_number_id": phone_number_id}
