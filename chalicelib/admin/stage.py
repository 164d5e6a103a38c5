"""The settings an admin command acts with, as the stage's functions have them: on AWS from the map the
stack keeps in SSM (`/carecue/{stage}/stage`), on the local stack (or moto) from the local conventions."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from msgspec.structs import replace

from chalicelib.admin.context import AdminContext
from chalicelib.settings import Settings, default_spend_cap_from_env, local_environment, parameter_path


def stage_map(context: AdminContext) -> dict[str, Any] | None:
    """The stack's `/carecue/{stage}/stage` parameter, or None where no stack was deployed."""
    try:
        parameter = context.client("ssm").get_parameter(Name=f"{parameter_path(context.stage)}/stage")
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    value: dict[str, Any] = json.loads(parameter["Parameter"]["Value"])
    return value


def stage_settings(context: AdminContext) -> Settings:
    region = context.session.region_name
    deployed = stage_map(context)
    # The admin's own environment sets the default spend cap: the stage map does not carry it.
    default_cap = default_spend_cap_from_env()
    if deployed is None:
        return replace(Settings.from_env(local_environment(context.stage, region)), default_spend_cap_usd=default_cap)
    return Settings(
        stage=context.stage,
        region=region,
        ses_sender=deployed["ses_sender"],
        fire_function_arn=deployed["fire_function_arn"],
        scheduler_role_arn=deployed["scheduler_role_arn"],
        dead_letter_queue_arn=deployed["dead_letter_queue_arn"],
        fire_queue_arn=deployed["fire_queue_arn"],
        default_spend_cap_usd=default_cap,
    )


def queue_url(context: AdminContext, settings: Settings) -> str:
    """The reminders' dead-letter queue, found by the name in its ARN."""
    name = settings.dead_letter_queue_arn.rsplit(":", 1)[-1]
    return str(context.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
