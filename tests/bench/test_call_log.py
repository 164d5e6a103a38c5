"""The bench's call log (infra/bench/aws_calls.py) sizes DynamoDB reads as DynamoDB charges them: a strongly
consistent read is a whole read unit per 4 KB, an eventually consistent one half of it, each item of a batch
read apart. It reads the operation's own parameters, which the `before-call` hook alone never saw (every read
was counted as eventually consistent)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.bench.aws_calls import CallLog


@pytest.fixture
def table() -> Iterator[tuple[CallLog, str, Any]]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
        log = CallLog()
        log.attach(session._session.get_component("event_emitter"))  # as the bench attaches it, before any client
        client = session.client("dynamodb")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for key, size in (("small", 10), ("large", 5000)):  # 5,000 bytes: two read units when consistent
            client.put_item(TableName="t", Item={"k": {"S": key}, "v": {"S": "x" * size}})
        log.reset()
        yield log, "t", client


def test_a_consistent_read_costs_a_whole_unit_per_4_kb_and_an_eventual_one_half(
    table: tuple[CallLog, str, Any],
) -> None:
    log, name, client = table
    client.get_item(TableName=name, Key={"k": {"S": "large"}}, ConsistentRead=True)
    assert log.read_units == 2.0
    client.get_item(TableName=name, Key={"k": {"S": "large"}})
    assert log.read_units == 3.0
    assert log.calls["dynamodb.GetItem"] == 2


def test_each_item_of_a_batch_read_is_sized_on_its_own(table: tuple[CallLog, str, Any]) -> None:
    log, name, client = table
    keys = [{"k": {"S": "small"}}, {"k": {"S": "large"}}]
    client.batch_get_item(RequestItems={name: {"Keys": keys, "ConsistentRead": True}})
    assert log.read_units == 3.0  # 1 for the small item, 2 for the large one
    client.batch_get_item(RequestItems={name: {"Keys": keys}})
    assert log.read_units == 4.5
