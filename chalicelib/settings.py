"""CareCue's settings: the only place that reads the process environment.

Every variable is read once into a frozen `Settings`; a missing or empty one is an error that names it, so a
misconfigured stage fails at its first request instead of writing to a table called "".
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

_STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


class SettingsError(RuntimeError):
    """A required setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    ses_sender: str
    fire_function_arn: str
    scheduler_role_arn: str
    dead_letter_queue_arn: str
    log_level: str = "INFO"
    # The SES configuration set whose bounces and complaints reach the email-feedback function (AWS only).
    ses_configuration_set: str | None = None
    # Where patients reach /p/{token} (the API's custom domain); empty leaves links out of messages.
    public_url: str = ""

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
            log_level=env.get("POWERTOOLS_LOG_LEVEL", "INFO"),
            ses_configuration_set=env.get("CARECUE_SES_CONFIGURATION_SET", "").strip() or None,
            public_url=env.get("CARECUE_PUBLIC_URL", "").strip(),
        )


def resource_prefix(stage: str) -> str:
    """`carecue-{stage}`: the start of every table, schedule group, queue and function name of a stage."""
    return f"carecue-{stage}"


def parameter_path(stage: str) -> str:
    return f"/carecue/{stage}"


def stage_from_env() -> str | None:
    return os.environ.get("CARECUE_STAGE") or None


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
        "CARECUE_PUBLIC_URL": "https://carecue.example",
    }
