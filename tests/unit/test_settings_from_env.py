"""Settings read once from the environment, failing fast and by name (`chalicelib.settings`)."""

from __future__ import annotations

import pytest

from chalicelib.settings import (
    MessengerSecrets,
    Settings,
    SettingsError,
    local_environment,
    messenger_secrets_from_env,
    parameter_path,
    resource_prefix,
)

ENV = {
    "CARECUE_STAGE": "dev",
    "AWS_DEFAULT_REGION": "us-east-1",
    "CARECUE_SES_SENDER": "reminders@carecue.example",
    "CARECUE_FIRE_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:carecue-dev-fire",
    "CARECUE_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/carecue-dev-scheduler",
    "CARECUE_DEAD_LETTER_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:carecue-dev-reminders-dlq",
    "CARECUE_FIRE_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:carecue-dev-fire",
}


def without(name: str) -> dict[str, str]:
    return {key: value for key, value in ENV.items() if key != name}


def test_complete_environment_is_read() -> None:
    settings = Settings.from_env(ENV)

    assert settings == Settings(
        stage="dev",
        region="us-east-1",
        ses_sender="reminders@carecue.example",
        fire_function_arn="arn:aws:lambda:us-east-1:123456789012:function:carecue-dev-fire",
        scheduler_role_arn="arn:aws:iam::123456789012:role/carecue-dev-scheduler",
        dead_letter_queue_arn="arn:aws:sqs:us-east-1:123456789012:carecue-dev-reminders-dlq",
        fire_queue_arn="arn:aws:sqs:us-east-1:123456789012:carecue-dev-fire",
        log_level="INFO",
    )


def test_derived_names_start_with_the_stage_prefix() -> None:
    settings = Settings.from_env(ENV)

    assert settings.resource_prefix == "carecue-dev"
    assert settings.schedule_group == "carecue-dev"
    assert settings.fire_queue_name == "carecue-dev-fire"
    assert settings.parameter_path == "/carecue/dev"
    assert (resource_prefix("prod"), parameter_path("prod")) == ("carecue-prod", "/carecue/prod")


@pytest.mark.parametrize(
    "name",
    [
        "CARECUE_STAGE",
        "AWS_DEFAULT_REGION",
        "CARECUE_SES_SENDER",
        "CARECUE_FIRE_FUNCTION_ARN",
        "CARECUE_SCHEDULER_ROLE_ARN",
        "CARECUE_DEAD_LETTER_QUEUE_ARN",
        "CARECUE_FIRE_QUEUE_ARN",
    ],
)
def test_missing_variable_is_named(name: str) -> None:
    with pytest.raises(SettingsError, match=f"environment variable {name} is required"):
        Settings.from_env(without(name))


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_variable_counts_as_missing(blank: str) -> None:
    with pytest.raises(SettingsError, match="CARECUE_SES_SENDER"):
        Settings.from_env({**ENV, "CARECUE_SES_SENDER": blank})


def test_aws_region_wins_over_the_default_region() -> None:
    assert Settings.from_env({**ENV, "AWS_REGION": "eu-west-1"}).region == "eu-west-1"
    assert Settings.from_env({**without("AWS_DEFAULT_REGION"), "AWS_REGION": "eu-west-1"}).region == "eu-west-1"


def test_values_are_trimmed() -> None:
    settings = Settings.from_env({**ENV, "CARECUE_STAGE": " dev ", "CARECUE_SES_SENDER": "reminders@carecue.example\n"})

    assert (settings.stage, settings.ses_sender) == ("dev", "reminders@carecue.example")


def test_log_level_is_read_when_set() -> None:
    assert Settings.from_env({**ENV, "POWERTOOLS_LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"


@pytest.mark.parametrize("stage", ["Prod", "prod_1", "1prod", "-prod", "prod.eu", "a" * 21, "dev stage"])
def test_malformed_stage_is_rejected_by_name(stage: str) -> None:
    with pytest.raises(SettingsError, match="CARECUE_STAGE"):
        Settings.from_env({**ENV, "CARECUE_STAGE": stage})


@pytest.mark.parametrize("stage", ["p", "pr-1234", "a" * 20])
def test_wellformed_stage_is_accepted(stage: str) -> None:
    assert Settings.from_env({**ENV, "CARECUE_STAGE": stage}).schedule_group == f"carecue-{stage}"


def test_settings_are_frozen() -> None:
    settings = Settings.from_env(ENV)

    with pytest.raises(AttributeError, match="immutable"):
        settings.stage = "prod"  # type: ignore[misc]


def test_local_environment_is_a_complete_environment() -> None:
    settings = Settings.from_env(local_environment("local-1", region="eu-west-1", account="000000000000"))

    assert settings.stage == "local-1"
    assert settings.region == "eu-west-1"
    assert settings.fire_function_arn == "arn:aws:lambda:eu-west-1:000000000000:function:carecue-local-1-fire"
    assert settings.dead_letter_queue_arn == "arn:aws:sqs:eu-west-1:000000000000:carecue-local-1-reminders-dlq"


def test_the_admins_messenger_secrets_are_read_from_the_environment_and_blank_is_none() -> None:
    given = messenger_secrets_from_env(
        {"CARECUE_MESSENGER_PAGE_TOKEN": " test-page-token-not-a-real-one\n", "CARECUE_MESSENGER_APP_SECRET": "  "}
    )

    assert (given.page_token, given.app_secret) == ("test-page-token-not-a-real-one", None)
    assert "test-page-token" not in repr(given)  # a traceback or a debug print shows no secret
    assert messenger_secrets_from_env({}) == MessengerSecrets(None, None)
