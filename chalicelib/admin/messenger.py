"""Admin command: connect a clinic's Facebook Page to Messenger (`set-messenger --clinic ID --page-id ID`).

The Page access token and the Meta app's secret are secrets: they are read from the environment
(`CARECUE_MESSENGER_PAGE_TOKEN`, `CARECUE_MESSENGER_APP_SECRET`, through `chalicelib.settings`, the one reader of
the environment) or, when those are unset or blank and the command runs in a terminal, asked for without echo;
never taken as arguments (which shell history and `ps` would keep). They are stored as SSM SecureString
parameters under the stage's prefix (`chalicelib.clinics.messenger_credentials`), never in DynamoDB, never
printed. The webhook's verify token is generated (`<clinic_id>.<random>`, so the one webhook URL knows whose it
is) and printed once to paste into the app's dashboard; running the command again keeps it. A Page belongs to
one clinic (events are routed by the Page alone): a Page another clinic has is refused. The clinic's utility
templates are named in `PUT /v1/clinic` (`chalicelib.clinics.messenger_settings`).
"""

from __future__ import annotations

import argparse
import getpass
import re
import secrets
import sys
from typing import Any

from chalicelib.admin.context import AdminContext
from chalicelib.core.errors import InvalidRequest
from chalicelib.settings import MESSENGER_APP_SECRET_ENV, MESSENGER_PAGE_TOKEN_ENV, messenger_secrets_from_env

PAGE_TOKEN_ENV = MESSENGER_PAGE_TOKEN_ENV  # noqa: S105 - the name of a variable, not a secret
APP_SECRET_ENV = MESSENGER_APP_SECRET_ENV  # noqa: S105 - the name of a variable, not a secret
_PAGE_ID = re.compile(r"^[0-9]{1,32}$")  # Facebook Page ids are numbers


def register(commands: Any) -> None:
    connect = commands.add_parser(
        "set-messenger",
        help=f"connect a clinic's Facebook Page (token and app secret from ${PAGE_TOKEN_ENV}, ${APP_SECRET_ENV})",
    )
    connect.add_argument("--clinic", required=True, help="the clinic id, e.g. cln_0123456789ab")
    connect.add_argument("--page-id", required=True, help="the Facebook Page's id (digits)")
    connect.add_argument("--base-url", help="the API's base URL, to print the webhook URL (the stack's EndpointURL)")
    connect.set_defaults(run=set_messenger)


def set_messenger(context: AdminContext, args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.clinics.messenger_credentials import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, parameter_name
    from chalicelib.store.clinics import clinic_with_messenger_page, set_messenger_page_id

    if not _PAGE_ID.match(args.page_id):
        raise InvalidRequest.single("--page-id", "must be the Facebook Page's id, digits only")
    given = messenger_secrets_from_env()
    token = _secret(given.page_token, PAGE_TOKEN_ENV, "Page access token: ", "--page-token")
    app_secret = _secret(given.app_secret, APP_SECRET_ENV, "Meta app secret: ", "--app-secret")
    context.bind_tables()
    # One clinic per Page: a Messenger event is routed by its Page alone (the `by-messenger-page` index).
    holder = clinic_with_messenger_page(args.page_id)
    if holder is not None and holder.clinic_id != args.clinic:
        raise InvalidRequest.single("--page-id", "is another clinic's Facebook Page already")
    set_messenger_page_id(args.clinic, args.page_id)  # NotFound for no such clinic, before any secret is stored
    ssm = context.client("ssm")
    names = {key: parameter_name(context.parameter_path, args.clinic, key) for key in (PAGE_TOKEN, APP_SECRET)}
    ssm.put_parameter(Name=names[PAGE_TOKEN], Value=token, Type="SecureString", Overwrite=True)
    ssm.put_parameter(Name=names[APP_SECRET], Value=app_secret, Type="SecureString", Overwrite=True)
    verify_name = parameter_name(context.parameter_path, args.clinic, VERIFY_TOKEN)
    verify_token = _existing(ssm, verify_name)
    result: dict[str, Any] = {
        "clinic_id": args.clinic,
        "messenger_page_id": args.page_id,
        "parameters": [names[PAGE_TOKEN], names[APP_SECRET], verify_name],
    }
    if verify_token is None:
        verify_token = f"{args.clinic}.{secrets.token_urlsafe(24)}"
        ssm.put_parameter(Name=verify_name, Value=verify_token, Type="SecureString", Overwrite=False)
        result["verify_token"] = verify_token  # shown this once: paste it into the app's Webhooks settings
    base = args.base_url or (context.local_stack.api_url if context.local_stack is not None else None)
    if base:
        result["webhook_url"] = f"{base.rstrip('/')}/webhooks/messenger"
    return result


def _secret(value: str | None, variable: str, prompt: str, what: str) -> str:
    """The secret the environment gave, else the one typed at a prompt without echo (in a terminal only)."""
    if value is None and sys.stdin.isatty():
        value = getpass.getpass(prompt)
    if not value or not value.strip():
        raise InvalidRequest.single(what, f"is needed: set ${variable} (it is never taken as an argument)")
    return value.strip()


def _existing(ssm: Any, name: str) -> str | None:
    try:
        return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None
