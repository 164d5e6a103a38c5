"""A cold start loads and makes only what its handler uses: each case is a fresh interpreter
(`infra.bench.cold_child`, as `make bench` runs it) that imports the app and makes one first invocation, as Lambda
invokes it, against moto's server on 127.0.0.1 in this process; it reports which of the watched modules
(regimen code, the email and phone validators, Babel) it loaded and which boto3 clients the composition root made.

- An appointment's first reminder fires, sends its SMS with a signed link (SNS, the key from SSM) and loads no
  boto3 (its clients are botocore's), no regimen code, no validator and no Babel (an English text's time is
  locale-free), and makes neither an SES nor a Scheduler client.
- The authorizer lets a clinic's key in reading DynamoDB alone: no SSM, SES or Scheduler client.
- A first booking does load the phone validator (the other side of the same watch), and no pydantic (a valid
  booking is read by the plain reader, `chalicelib.appointments.request`), no regimen code, no boto3 and no Babel
  (its English confirmation).
Each makes its SSM, SNS and DynamoDB clients from the trimmed models of the operations the functions call
(`infra/aws/service_models.py`), and its first invocation works through them.
After each, the cyclic garbage collector runs again (`chalicelib.core.heap` holds it off during a Lambda
process's first invocation only). What these cost in time is `make bench`'s figure, not a test's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import composition
from infra.aws.service_models import OPERATIONS
from infra.bench.__main__ import _restored_environment, local_aws
from infra.bench.cold_start import booked_reminders, run_child, tasks


@pytest.fixture(scope="module")
def first_invocations() -> Iterator[dict[str, dict[str, Any]]]:
    """One round of cold starts: a fire, a booking and an authorizer call, each in its own fresh interpreter."""
    with _restored_environment(), local_aws(server=True) as world:
        now = world.clock.now()
        events = booked_reminders(world, 1, now + timedelta(days=2))
        (round_tasks,) = tasks(events, world.clinic_id, world.api_key, now, now + timedelta(days=3))
        yield {mode: run_child(round_tasks[mode]) for mode in ("fire", "booking", "authorizer")}
    composition.reset()


def test_an_appointment_fire_sends_without_regimen_code_validators_or_unused_clients(
    first_invocations: dict[str, dict[str, Any]],
) -> None:
    fire = first_invocations["fire"]

    assert fire["answer"] == {"result": "sent", "batchItemFailures": []}  # the reminder stored sent, none to retry
    assert fire["modules"] == []  # no Babel, boto3, chalicelib.regimens.*, email_validator, phonenumbers, pydantic
    assert fire["clients"] == ["sns", "ssm"]  # the SMS and its link's key; no SES, no Scheduler
    assert fire["operations"]["ssm"] == len(OPERATIONS["ssm"])  # the key read through the trimmed model
    assert fire["operations"]["dynamodb"] == len(OPERATIONS["dynamodb"])
    assert fire["operations"]["sns"] == len(OPERATIONS["sns"])
    assert fire["collector_on"] is True


def test_the_authorizer_reads_dynamodb_alone(first_invocations: dict[str, dict[str, Any]]) -> None:
    authorizer = first_invocations["authorizer"]

    assert authorizer["answer"]["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert authorizer["clients"] == []  # no SSM, SES or Scheduler client: PynamoDB's DynamoDB client only
    assert authorizer["modules"] == []
    assert authorizer["operations"] == {"dynamodb": len(OPERATIONS["dynamodb"])}
    assert authorizer["collector_on"] is True


def test_a_booking_loads_the_phone_validator_and_still_no_regimen_code(
    first_invocations: dict[str, dict[str, Any]],
) -> None:
    booking = first_invocations["booking"]

    assert booking["answer"]["statusCode"] == 201
    assert "phonenumbers" in booking["modules"]
    assert not [
        name for name in booking["modules"] if name.startswith(("pydantic", "chalicelib.regimens", "boto3", "babel"))
    ]
    assert "ses" not in booking["clients"]
    assert booking["operations"]["dynamodb"] == len(OPERATIONS["dynamodb"])
    assert booking["collector_on"] is True
