"""The stage's DynamoDB tables as CloudFormation, generated from the PynamoDB models: the models are the one
definition of every key, index and TTL, so the deployed tables cannot drift from the code that reads them."""

from __future__ import annotations

from typing import Any

from chalicelib.settings import resource_prefix
from chalicelib.store.models import TABLES


def table_logical_id(name: str) -> str:
    """`reminders` → `RemindersTable`: the resource's id in the template."""
    return f"{name.title().replace('-', '')}Table"


def table_resources(stage: str, *, protect: bool) -> dict[str, Any]:
    """One `AWS::DynamoDB::Table` per model: on demand, encrypted, point-in-time recovery, TTL where the model
    has a TTL attribute; with `protect` (prod), deletion protection and a retained table if the stack goes."""
    resources: dict[str, Any] = {}
    for name, model in TABLES.items():
        schema: Any = model._get_schema()
        definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
        properties: dict[str, Any] = {
            "TableName": f"{resource_prefix(stage)}-{name}",
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": _key_schema(schema["key_schema"]),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "DeletionProtectionEnabled": protect,
        }
        indexes = []
        for index in schema["global_secondary_indexes"]:
            for definition in index["attribute_definitions"]:
                definitions[definition["AttributeName"]] = definition["AttributeType"]
            projection: dict[str, Any] = {"ProjectionType": index["projection"]["ProjectionType"]}
            if "NonKeyAttributes" in index["projection"]:
                projection["NonKeyAttributes"] = list(index["projection"]["NonKeyAttributes"])
            indexes.append(
                {
                    "IndexName": index["index_name"],
                    "KeySchema": _key_schema(index["key_schema"]),
                    "Projection": projection,
                }
            )
        if schema["local_secondary_indexes"]:
            raise NotImplementedError("local secondary indexes are not generated: no CareCue model has one")
        if indexes:
            properties["GlobalSecondaryIndexes"] = indexes
        properties["AttributeDefinitions"] = [
            {"AttributeName": attribute, "AttributeType": kind} for attribute, kind in sorted(definitions.items())
        ]
        ttl = model._ttl_attribute()  # type: ignore[no-untyped-call]
        if ttl is not None:
            properties["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
        resource: dict[str, Any] = {"Type": "AWS::DynamoDB::Table", "Properties": properties}
        if protect:
            # A deleted stack or a replaced table must never take patient data with it.
            resource["DeletionPolicy"] = "Retain"
            resource["UpdateReplacePolicy"] = "Retain"
        else:
            resource["DeletionPolicy"] = "Delete"
            resource["UpdateReplacePolicy"] = "Delete"
        resources[table_logical_id(name)] = resource
    return resources


def _key_schema(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    # DynamoDB wants the HASH key first; PynamoDB lists them in attribute order.
    ordered = sorted(keys, key=lambda key: key["KeyType"] != "HASH")
    return [{"AttributeName": key["AttributeName"], "KeyType": key["KeyType"]} for key in ordered]
