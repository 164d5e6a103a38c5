"""CareCue's settings: the only place that reads the process environment.

Every variable is read once into a frozen `Settings`; a missing or empty one is an error that names it, so a
misconfigured stage fails at its first request instead of writing to a table called "".
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from msgspec import Struct, field

_STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
DEFAULT_SPEND_CAP = "100"  # USD a month: what a clinic may spend on messages until an admin sets its own cap


class SettingsError(RuntimeError):
    """A required setting is missing or malformed; the message names it."""


class PriceTable(Struct, frozen=True):
    """What a message costs the clinic, in USD, for the usage estimate: the channel fee AWS charges.

    SMS prices are per segment by country calling code ("1" for the US and Canada, "44" for the UK); a number
    whose code is not listed is priced at `other_sms_segment_usd`. Override with CARECUE_PRICES, e.g.
    `{"sms_segment_usd": {"1": 0.00831, "44": 0.0395}, "other_sms_segment_usd": 0.05, "email_usd": 0.0001}`.
    """

    sms_segment_usd: tuple[tuple[str, float], ...] = (("1", 0.00831),)
    other_sms_segment_usd: float = 0.00831
    email_usd: float = 0.0001
    # WhatsApp (since 1 July 2025 both Meta and AWS charge per message): Meta's fee for a template message by the
    # recipient's calling code, plus AWS End User Messaging Social's own fee on every message sent. A free-form
    # reply inside the customer-service window has no Meta fee (service messages are free), only AWS's.
    # Figures: Meta's utility rates from Meta's rate card as republished at
    # https://www.wappbiz.com/blogs/whatsapp-business-latest-pricing-update (Argentina 0.0325, Brazil 0.0085,
    # Chile 0.0250 USD); other countries are priced at the highest of those until the clinic's stage sets its own
    # (CARECUE_PRICES "whatsapp_template_usd"), so the estimate errs high. AWS's fee: 0.005 USD a message
    # (https://aws.amazon.com/end-user-messaging/pricing/; the per-message billing items are described at
    # https://docs.aws.amazon.com/social-messaging/latest/userguide/charged-per-conversation.html).
    whatsapp_template_usd: tuple[tuple[str, float], ...] = (("54", 0.0325), ("55", 0.0085), ("56", 0.025))
    other_whatsapp_template_usd: float = 0.0325
    whatsapp_aws_fee_usd: float = 0.005

    @classmethod
    def from_json(cls, text: str) -> PriceTable:
        try:
            raw = json.loads(text)
            known = {"sms_segment_usd", "other_sms_segment_usd", "email_usd"} | _WHATSAPP_PRICES
            if not isinstance(raw, dict) or not raw.keys() <= known:
                raise ValueError("expected an object with sms_segment_usd, other_sms_segment_usd and email_usd")
            default = cls()
            sms = raw.get("sms_segment_usd", dict(default.sms_segment_usd))
            if not isinstance(sms, dict) or not all(code.isdigit() and 1 <= len(code) <= 3 for code in sms):
                raise ValueError('sms_segment_usd must map country calling codes such as "1" or "44" to prices')
            table = cls(
                sms_segment_usd=tuple(sorted((code, _price(value)) for code, value in sms.items())),
                other_sms_segment_usd=_price(raw.get("other_sms_segment_usd", default.other_sms_segment_usd)),
                email_usd=_price(raw.get("email_usd", default.email_usd)),
                whatsapp_template_usd=_by_code(raw, "whatsapp_template_usd", default.whatsapp_template_usd),
                other_whatsapp_template_usd=_price(
                    raw.get("other_whatsapp_template_usd", default.other_whatsapp_template_usd)
                ),
                whatsapp_aws_fee_usd=_price(raw.get("whatsapp_aws_fee_usd", default.whatsapp_aws_fee_usd)),
            )
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            raise SettingsError(f"CARECUE_PRICES is not a valid price table: {e}") from e
        return table


_WHATSAPP_PRICES = {"whatsapp_template_usd", "other_whatsapp_template_usd", "whatsapp_aws_fee_usd"}


def _by_code(
    raw: dict[str, object], name: str, default: tuple[tuple[str, float], ...]
) -> tuple[tuple[str, float], ...]:
    table = raw.get(name, dict(default))
    if not isinstance(table, dict) or not all(isinstance(c, str) and c.isdigit() and 1 <= len(c) <= 3 for c in table):
        raise ValueError(f'{name} must map country calling codes such as "1" or "54" to prices')
    return tuple(sorted((code, _price(value)) for code, value in table.items()))


def _price(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 100:
        raise ValueError(f"{value!r} is not a price in USD")
    return float(value)


class Settings(Struct, frozen=True):
    stage: str
    region: str
    ses_sender: str
    fire_function_arn: str
    scheduler_role_arn: str
    dead_letter_queue_arn: str
    # The queue reminder timers are delivered to, for the fire function to take 10 at a time (`fire_queue`, app.py).
    fire_queue_arn: str
    log_level: str = "INFO"
    # The SES configuration set whose bounces and complaints reach the email-feedback function (AWS only).
    ses_configuration_set: str | None = None
    # Where patients reach /p/{token} (the API's custom domain); empty leaves links out of messages.
    public_url: str = ""
    prices: PriceTable = field(default_factory=PriceTable)
    default_spend_cap_usd: float = float(DEFAULT_SPEND_CAP)

    @property
    def resource_prefix(self) -> str:
        return resource_prefix(self.stage)

    @property
    def schedule_group(self) -> str:
        return self.resource_prefix

    @property
    def parameter_path(self) -> str:
        return parameter_path(self.stage)

    @property
    def replan_queue_name(self) -> str:
        """The SQS queue of background re-plan jobs (`PUT /v1/clinic`); the stack and the local stack make it."""
        return f"{self.resource_prefix}-replan"

    @property
    def replan_dead_letter_queue_name(self) -> str:
        """Where a re-plan job goes after its last failed attempt."""
        return f"{self.resource_prefix}-replan-dlq"

    @property
    def fire_queue_name(self) -> str:
        """The queue of reminder timers (`fire_queue_arn`); the stack and the local stack make it."""
        return self.fire_queue_arn.rpartition(":")[2]

    @property
    def link_key_parameter(self) -> str:
        """The SSM SecureString that signs patient links."""
        return f"{self.parameter_path}/link-signing-key"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"environment variable {name} is required")
            return value

        stage = required("CARECUE_STAGE")
        if not _STAGE_PATTERN.match(stage):
            raise SettingsError(f"CARECUE_STAGE={stage!r} must be lowercase letters, digits or '-', at most 20")
        region = env.get("AWS_REGION", "").strip() or required("AWS_DEFAULT_REGION")
        return cls(
            stage=stage,
            region=region,
            ses_sender=required("CARECUE_SES_SENDER"),
            fire_function_arn=required("CARECUE_FIRE_FUNCTION_ARN"),
            scheduler_role_arn=required("CARECUE_SCHEDULER_ROLE_ARN"),
            dead_letter_queue_arn=required("CARECUE_DEAD_LETTER_QUEUE_ARN"),
            fire_queue_arn=required("CARECUE_FIRE_QUEUE_ARN"),
            log_level=env.get("POWERTOOLS_LOG_LEVEL", "INFO"),
            ses_configuration_set=env.get("CARECUE_SES_CONFIGURATION_SET", "").strip() or None,
            public_url=env.get("CARECUE_PUBLIC_URL", "").strip(),
            prices=PriceTable.from_json(env["CARECUE_PRICES"]) if env.get("CARECUE_PRICES") else PriceTable(),
            default_spend_cap_usd=_spend_cap(env.get("CARECUE_DEFAULT_SPEND_CAP_USD", DEFAULT_SPEND_CAP)),
        )


def _spend_cap(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e9:
        raise SettingsError(f"CARECUE_DEFAULT_SPEND_CAP_USD={text!r} must be an amount in USD, 0 or more")
    return value


def resource_prefix(stage: str) -> str:
    """`carecue-{stage}`: the start of every table, schedule group, queue and function name of a stage."""
    return f"carecue-{stage}"


def parameter_path(stage: str) -> str:
    return f"/carecue/{stage}"


def default_spend_cap_from_env() -> float:
    """The stage's default monthly spend cap, for the admin command line (which has no Lambda settings)."""
    return _spend_cap(os.environ.get("CARECUE_DEFAULT_SPEND_CAP_USD", DEFAULT_SPEND_CAP))


def stage_from_env() -> str | None:
    return os.environ.get("CARECUE_STAGE") or None


# The admin's `set-messenger` takes a Page's secrets from these variables (or a prompt), never as arguments.
MESSENGER_PAGE_TOKEN_ENV = "CARECUE_MESSENGER_PAGE_TOKEN"  # noqa: S105 - the name of a variable, not a secret
MESSENGER_APP_SECRET_ENV = "CARECUE_MESSENGER_APP_SECRET"  # noqa: S105 - the name of a variable, not a secret


class MessengerSecrets(Struct, frozen=True):
    """The Page access token and the Meta app secret in the admin's environment, for `set-messenger`; None where
    a variable is unset or blank (the command then asks for it in a terminal). Never logged, never printed."""

    page_token: str | None = None
    app_secret: str | None = None

    def __repr__(self) -> str:  # a traceback or a debug print shows whether each is set, never its value
        return f"MessengerSecrets(page_token={_shown(self.page_token)}, app_secret={_shown(self.app_secret)})"


def _shown(secret: str | None) -> str:
    return "None" if secret is None else "'***'"


def messenger_secrets_from_env(environ: Mapping[str, str] | None = None) -> MessengerSecrets:
    env = os.environ if environ is None else environ
    return MessengerSecrets(
        page_token=env.get(MESSENGER_PAGE_TOKEN_ENV, "").strip() or None,
        app_secret=env.get(MESSENGER_APP_SECRET_ENV, "").strip() or None,
    )


def on_lambda() -> bool:
    """True in a Lambda function's process: the runtime sets `AWS_LAMBDA_FUNCTION_NAME` (not a CareCue setting,
    so not part of `Settings`; read before the settings are, by `import app`)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def point_aws_at(endpoint_url: str, region: str = "us-east-1") -> None:
    """Sends every AWS client this process creates to `endpoint_url` (the local stack's moto server).

    Set before any client exists; botocore reads AWS_ENDPOINT_URL when a client is made. Dummy credentials
    and a region are filled in only when absent, so a real profile is never overwritten.
    """
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - moto accepts any key; this is no secret


def local_environment(stage: str, region: str = "us-east-1", account: str = "123456789012") -> dict[str, str]:
    """The settings of a stage that runs on the embedded local AWS (moto): the local stack and the tests."""
    prefix = f"carecue-{stage}"
    return {
        "CARECUE_STAGE": stage,
        "AWS_DEFAULT_REGION": region,
        "CARECUE_SES_SENDER": "reminders@carecue.example",
        "CARECUE_FIRE_FUNCTION_ARN": f"arn:aws:lambda:{region}:{account}:function:{prefix}-fire",
        "CARECUE_SCHEDULER_ROLE_ARN": f"arn:aws:iam::{account}:role/{prefix}-scheduler",
        "CARECUE_DEAD_LETTER_QUEUE_ARN": f"arn:aws:sqs:{region}:{account}:{prefix}-reminders-dlq",
        "CARECUE_FIRE_QUEUE_ARN": f"arn:aws:sqs:{region}:{account}:{prefix}-fire",
        "CARECUE_PUBLIC_URL": "https://carecue.example",
    }
