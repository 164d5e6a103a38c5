"""Admin commands that connect a clinic's booking tool: its secret, the URL to paste, and a form's mapping.

Square signs the notification URL as well as the body, so CareCue must store the URL exactly as Square has it.
`set-webhook-secret --provider square` without `--notification-url` stores CareCue's own webhook URL for the
clinic, the one `webhook-url` prints (from `--base-url`, or against a running local stack the address that stack
serves, as it published it: `chalicelib.admin.local_stack`), and prints it to paste into Square; with neither it
refuses, rather than store settings that would refuse every delivery.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any

from chalicelib.admin.context import AdminContext
from chalicelib.core.errors import InvalidRequest, NotFound

PROVIDERS = ("calcom", "calendly", "square", "acuity", "typeform", "form")
LOCAL_DEFAULT = "against a running local stack: the address it serves"


def register(commands: Any) -> None:
    secret = commands.add_parser(
        "set-webhook-secret", help="store a clinic's secret for one booking tool (generated and shown once if omitted)"
    )
    secret.add_argument("--clinic", required=True, help="the clinic id, cln_…")
    secret.add_argument("--provider", required=True, choices=PROVIDERS)
    secret.add_argument("--secret", help="the tool's signing secret (Square's signature key, Acuity's API key)")
    secret.add_argument(
        "--notification-url",
        help="Square: the notification URL exactly as entered in Square (default: the URL webhook-url prints)",
    )
    secret.add_argument("--base-url", help=f"Square: the API's base URL (default {LOCAL_DEFAULT})")
    secret.add_argument("--access-token", help="Square: an access token that may read customers")
    secret.add_argument("--user-id", help="Acuity: the account's user id (for reading appointments)")
    secret.set_defaults(run=set_webhook_secret)

    url = commands.add_parser("webhook-url", help="print the URL to paste into a booking tool")
    url.add_argument("--clinic", required=True, help="the clinic id, cln_…")
    url.add_argument("--provider", required=True, choices=PROVIDERS)
    url.add_argument("--base-url", help=f"the API's base URL (default {LOCAL_DEFAULT})")
    url.set_defaults(run=webhook_url)

    mapping = commands.add_parser("set-form-mapping", help="store which form fields hold the booking's details")
    mapping.add_argument("--clinic", required=True, help="the clinic id, cln_…")
    mapping.add_argument(
        "--file", required=True, type=Path, help="a JSON mapping file (see docs/booking-tools.md, 'Any form tool')"
    )
    mapping.add_argument("--provider", default="form", choices=("form", "typeform"))
    mapping.set_defaults(run=set_form_mapping)


def set_webhook_secret(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.intake.credentials import parameter_name

    _require_clinic(context, args.clinic)
    extras = {"notification-url": args.notification_url, "access-token": args.access_token, "user-id": args.user_id}
    allowed = {"square": {"notification-url", "access-token"}, "acuity": {"user-id"}}.get(args.provider, set())
    for key, value in extras.items():
        if value is not None and key not in allowed:
            raise InvalidRequest.single(f"--{key}", f"does not apply to {args.provider}")
    if args.provider != "square" and args.base_url is not None:
        raise InvalidRequest.single("--base-url", f"does not apply to {args.provider}")
    if args.provider in ("square", "acuity") and args.secret is None:
        raise InvalidRequest.single("--secret", f"is required: {args.provider} makes its own signing key")
    if args.provider == "square" and args.notification_url is None:
        # Square signs the URL too: without one stored, every delivery would be refused.
        extras["notification-url"] = _webhook_address(
            context, "square", args.clinic, args.base_url, "--notification-url"
        )
    generated = args.secret is None
    secret = secrets.token_urlsafe(32) if generated else args.secret.strip()
    if not secret:
        raise InvalidRequest.single("--secret", "must not be empty")
    ssm = context.client("ssm")
    name = parameter_name(context.parameter_path, args.clinic, args.provider)
    ssm.put_parameter(Name=name, Value=secret, Type="SecureString", Overwrite=True, Description="webhook secret")
    stored = [name]
    for key, value in extras.items():
        if value is not None:
            extra = parameter_name(context.parameter_path, args.clinic, args.provider, key)
            ssm.put_parameter(Name=extra, Value=value, Type="SecureString", Overwrite=True)
            stored.append(extra)
    result: dict[str, Any] = {"clinic_id": args.clinic, "provider": args.provider, "parameters": stored}
    if args.provider == "square":
        result["notification_url"] = extras["notification-url"]  # must be Square's Notification URL, exactly
    if generated:
        result["secret"] = secret  # shown this once; paste it into the booking tool
    return result


def webhook_url(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    url = _webhook_address(context, args.provider, args.clinic, args.base_url)
    result = {"clinic_id": args.clinic, "provider": args.provider, "url": url}
    if args.provider == "form":
        result["unsigned_url"] = f"{url}?token=<the clinic's form secret>"
    return result


def set_form_mapping(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.intake.credentials import parameter_name
    from chalicelib.intake.form_mapping import parse_mapping

    try:
        text = args.file.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidRequest.single("--file", f"cannot be read ({e.strerror})") from None
    mapping = parse_mapping(text)
    _require_clinic(context, args.clinic)
    name = parameter_name(context.parameter_path, args.clinic, args.provider, "mapping")
    context.client("ssm").put_parameter(Name=name, Value=mapping.to_json(), Type="String", Overwrite=True)
    return {"clinic_id": args.clinic, "provider": args.provider, "parameter": name, "mapping": dict(mapping.fields)}


def _webhook_address(
    context: AdminContext, provider: str, clinic_id: str, base_url: str | None, alternative: str | None = None
) -> str:
    """CareCue's webhook URL for the clinic and tool: the one to paste into the tool."""
    base = base_url or (context.local_stack.api_url if context.local_stack is not None else None)
    if base is None:
        other = f" (or {alternative})" if alternative else ""
        raise InvalidRequest.single(
            "--base-url",
            f"is needed{other}: the stage's API URL (the stack's EndpointURL output; a running local stack's is "
            "found through --endpoint-url)",
        )
    return f"{base.rstrip('/')}/webhooks/{provider}/{clinic_id}"


def _require_clinic(context: AdminContext, clinic_id: str) -> None:
    from pynamodb.exceptions import DoesNotExist

    from chalicelib.store.models import Clinic

    context.bind_tables()
    try:
        Clinic.get(clinic_id)
    except DoesNotExist:
        raise NotFound(f"clinic {clinic_id}") from None
