"""The local stack's fault switch (infra/local/faults.py): how `CARECUE_FAULTS` is read, and that each fault
reaches botocore as the ClientError AWS's own refusal gives (code, HTTP status, retryable), through the stack's
real AWS server on 127.0.0.1; requests not made by the app are never faulted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard

from infra.local.aws_server import AwsServer, Gate
from infra.local.faults import REFUSALS, FaultSwitch, from_the_app, mark_app_requests, parse_rates, parse_seed
from infra.local.ports import free_ports


def test_the_setting_reads_a_share_per_service() -> None:
    assert parse_rates("scheduler=0.3,sns=0.3, dynamodb=0.1 ,ses=1,ssm=0") == {
        "scheduler": 0.3,
        "sns": 0.3,
        "dynamodb": 0.1,
        "ses": 1.0,
        "ssm": 0.0,
    }
    assert parse_rates("") == {}
    assert parse_seed("42") == 42
    assert parse_seed(None) is None
    assert parse_seed(" ") is None


def test_every_wrong_entry_is_named_at_once() -> None:
    with pytest.raises(ValueError) as raised:
        parse_rates("sqs=0.2,sns=1.5,ses=lots,dynamodb,scheduler=0.1,scheduler=0.2")
    message = str(raised.value)
    assert message.startswith("CARECUE_FAULTS: ")
    assert "'sqs' is not one of dynamodb, scheduler, sns, ses, ssm" in message
    assert "sns: '1.5' is not a share between 0 and 1" in message
    assert "ses: 'lots' is not a share between 0 and 1" in message
    assert "dynamodb: '' is not a share between 0 and 1" in message
    assert "scheduler is given twice" in message
    with pytest.raises(ValueError, match="CARECUE_FAULTS_SEED: 'x1' is not a whole number"):
        parse_seed("x1")


def test_no_share_above_zero_is_no_switch() -> None:
    assert FaultSwitch.from_settings("", None) is None
    assert FaultSwitch.from_settings("sns=0", "3") is None
    switch = FaultSwitch.from_settings("sns=0.25,ssm=0.5", "7")
    assert switch is not None and switch.describe() == "sns=0.25, ssm=0.5 (seed 7)"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FaultSwitch]]:
    """The stack's AWS server failing every one of the app's requests to every service."""
    from moto.core.base_backend import BackendDict

    (port,) = free_ports(1)
    switch = FaultSwitch(dict.fromkeys(REFUSALS, 1.0), seed=11)
    server = AwsServer("127.0.0.1", port, Gate(), lambda: None, switch)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", switch
    finally:
        server.stop()
        BackendDict.reset()


def _session(marked: bool) -> boto3.Session:
    session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    if marked:
        mark_app_requests(session)
    return session


# A call each service answers on moto with no set-up.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "dynamodb": ("list_tables", {}),
    "scheduler": ("list_schedules", {}),
    "sns": ("list_topics", {}),
    "ses": ("get_send_quota", {}),
    "ssm": ("describe_parameters", {}),
}


def _client(session: boto3.Session, service: str, endpoint: str, attempts: int = 1) -> Any:
    config = Config(retries={"total_max_attempts": attempts, "mode": "standard"})
    return session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]


@pytest.mark.parametrize("service", list(REFUSALS))
def test_each_fault_is_the_client_error_aws_gives_and_botocore_retries_it(
    served: tuple[str, FaultSwitch], service: str
) -> None:
    endpoint, _ = served
    client = _client(_session(marked=True), service, endpoint)
    operation, params = CALLS[service]
    expected = {(refusal.code, refusal.status) for refusal in REFUSALS[service]}
    seen: set[tuple[str, int]] = set()
    retryable = standard.StandardRetryConditions()
    with from_the_app():
        for _ in range(40):  # seeded: the same draws every run, every refusal among them
            with pytest.raises(ClientError) as raised:
                getattr(client, operation)(**params)
            response = raised.value.response
            got = (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"])
            assert got in expected, f"{service} answered {got}, not one of AWS's refusals {expected}"
            assert response["Error"]["Message"]  # AWS's words, parsed out of the service's own format
            seen.add(got)
            context = standard.RetryContext(
                attempt_number=1,
                operation_model=client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation]),
                parsed_response=response,
                http_response=AWSResponse(endpoint, got[1], {}, None),
            )
            assert retryable.is_retryable(context), f"botocore would not retry {got} from {service}"
    assert seen == expected


def test_only_the_apps_requests_are_faulted_and_counted(served: tuple[str, FaultSwitch]) -> None:
    endpoint, switch = served
    # The stack's own calls (and other processes'): no mark, never faulted, even at a share of 1.
    assert _client(_session(marked=False), "sns", endpoint).list_topics()["Topics"] == []
    app_session = _session(marked=True)
    sns = _client(app_session, "sns", endpoint)
    assert sns.list_topics()["Topics"] == []  # marked client, but outside the app's invocations
    retried = _client(app_session, "ssm", endpoint, attempts=2)
    with from_the_app():
        with pytest.raises(ClientError):
            sns.list_topics()
        with pytest.raises(ClientError) as raised:
            retried.describe_parameters()
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    figures = switch.figures()["services"]
    assert (figures["sns"]["requests"], figures["sns"]["faulted"], figures["sns"]["reached_app"]) == (1, 1, 1)
    assert figures["ssm"]["requests"] == figures["ssm"]["faulted"] == 2
    assert (figures["ssm"]["retries"], figures["ssm"]["reached_app"]) == (1, 1)
    assert sum(figures["ssm"]["codes"].values()) == 2


def test_a_share_fails_about_that_many_calls_and_a_seed_repeats_them() -> None:
    def draws(seed: int) -> list[bool]:
        switch = FaultSwitch({"sns": 0.3}, seed)
        environ = {
            "HTTP_X_CARECUE_LOCAL_CALLER": "app",
            "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=local/20261201/us-east-1/sns/aws4_request, ...",
        }
        return [switch.refuse(dict(environ), lambda *_: None) is not None for _ in range(2000)]

    first = draws(5)
    assert first == draws(5)
    assert first != draws(6)
    assert 0.25 < sum(first) / len(first) < 0.35
