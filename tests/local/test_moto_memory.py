"""The local stack's cheaper DynamoDB transactions (infra/local/moto_memory.py) keep moto's outcome: a transaction
that succeeds writes every part, one with a failed condition leaves every item it touched as it was (changed,
added or deleted), and moto keeps no list of the items it made. On a backend of its own: moto's global ones,
which the other tests use, are left as they are."""

from __future__ import annotations

from typing import Any

import pytest
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models.dynamo_type import Item

from infra.local.moto_memory import LocalDynamoDBBackend, stop_tracking_instances

TABLE = "carecue-local-things"


@pytest.fixture
def backend() -> LocalDynamoDBBackend:
    made = LocalDynamoDBBackend("us-east-1", "123456789012")
    made.create_table(
        TABLE,
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        throughput=None,
        attr=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        global_indexes=None,
        indexes=None,
        streams=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    made.put_item(TABLE, {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}})
    made.put_item(TABLE, {"pk": {"S": "a"}, "sk": {"S": "2"}, "n": {"N": "7"}})
    return made


def items(backend: LocalDynamoDBBackend) -> dict[tuple[str, str], dict[str, Any]]:
    table = backend.get_table(TABLE)
    return {
        (item.hash_key.value, item.range_key.value): item.to_json()["Attributes"]
        for by_range in table.items.values()
        for item in by_range.values()
    }


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "a"}, "sk": {"S": sk}}


def transaction(condition_on_3: str) -> list[dict[str, Any]]:
    """Changes item 1, deletes item 2, adds item 4, under a condition on item 3 (which does not exist)."""
    return [
        {
            "Update": {
                "TableName": TABLE,
                "Key": key("1"),
                "UpdateExpression": "SET n = :n",
                "ExpressionAttributeValues": {":n": {"N": "2"}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": key("2")}},
        {"Put": {"TableName": TABLE, "Item": {**key("4"), "n": {"N": "4"}}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": key("3"), "ConditionExpression": condition_on_3}},
    ]


def test_a_transaction_whose_conditions_hold_writes_every_part(backend: LocalDynamoDBBackend) -> None:
    backend.transact_write_items(transaction("attribute_not_exists(pk)"))

    assert items(backend) == {
        ("a", "1"): {**key("1"), "n": {"N": "2"}},
        ("a", "4"): {**key("4"), "n": {"N": "4"}},
    }


def test_a_cancelled_transaction_leaves_every_item_it_touched_as_it_was(backend: LocalDynamoDBBackend) -> None:
    before = items(backend)

    with pytest.raises(TransactionCanceledException) as cancelled:
        backend.transact_write_items(transaction("attribute_exists(pk)"))

    assert "ConditionalCheckFailed" in str(cancelled.value)
    assert items(backend) == before


def test_moto_keeps_no_list_of_the_items_it_made(backend: LocalDynamoDBBackend) -> None:
    stop_tracking_instances()

    for n in range(50):
        backend.put_item(TABLE, {**key(f"x{n}"), "n": {"N": str(n)}})

    assert len(Item.instances_tracked) == 0  # type: ignore[attr-defined]
