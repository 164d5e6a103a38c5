"""The API against its own OpenAPI document, fuzzed by schemathesis on a running local stack: for every operation,
data the document allows and data it does not, with a real API key. No 5xx; every answer's status, content type
and body conform to the document; data the document does not allow is refused, in the error envelope. Bounded:
a few examples per operation, derandomized, so `make test` stays short and a failure reruns the same way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app import app
from chalicelib.openapi import openapi_document
from tests.e2e.conftest import (
    READY_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    LocalStack,
    StackProcess,
    address,
    free_ports,
)

EXAMPLES_PER_OPERATION = 6

schema = schemathesis.openapi.from_dict(openapi_document(app.routes))


@dataclass(frozen=True)
class Target:
    base_url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    # A stack of its own, with the gateway's throttle opened wide: the fuzzer's burst is not what is tested here.
    api_port, aws_port = free_ports(2)
    process = StackProcess(api_port, aws_port, tmp_path_factory.mktemp("carecue-fuzz"))
    process.command += ["--throttle", "100000,100000"]
    process.start()
    try:
        process.wait_ready(READY_TIMEOUT_SECONDS)
        stack = LocalStack(address(process.output, "CareCue API:"), address(process.output, "Local AWS:"), process)
        clinic = stack.create_clinic()
        yield Target(stack.api_url, {"Authorization": f"Bearer {clinic.api_key}"})
    finally:
        process.terminate(STOP_TIMEOUT_SECONDS)
        process.kill()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_holds_to_the_document(case: Any, target: Target) -> None:
    # Every check but "schema-valid data is accepted": the document states shapes, and the API rightly refuses
    # some well-shaped requests for reasons the shape cannot say (a start in the past, no way to reach the patient).
    case.call_and_validate(
        base_url=target.base_url, headers=target.headers, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )
