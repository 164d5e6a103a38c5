"""The template's tables against the PynamoDB models: created on moto from the template's own properties, each
table has the keys, indexes, projections and TTL that the models create, and the models work on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.store.due_keys import shard
from chalicelib.store.models import (
    TABLES,
    Appointment,
    AuditEntry,
    Clinic,
    ContactProof,
    Delivery,
    Reminder,
    bind_tables,
    create_tables,
)
from infra.aws.template import merge_template
from tests.conftest import World


def create_from_template(dynamodb: Any, properties: dict[str, Any]) -> None:
    """What CloudFormation does with an AWS::DynamoDB::Table's properties, in API calls."""
    request = {
        key: properties[key]
        for key in ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes")
        if key in properties
    }
    dynamodb.create_table(
        **request,
        SSESpecification={"Enabled": properties["SSESpecification"]["SSEEnabled"]},
        DeletionProtectionEnabled=properties["DeletionProtectionEnabled"],
    )
    if "TimeToLiveSpecification" in properties:
        dynamodb.update_time_to_live(
            TableName=properties["TableName"],
            TimeToLiveSpecification={
                "AttributeName": properties["TimeToLiveSpecification"]["AttributeName"],
                "Enabled": properties["TimeToLiveSpecification"]["Enabled"],
            },
        )


def shape(dynamodb: Any, table_name: str) -> dict[str, Any]:
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    return {
        "keys": table["KeySchema"],
        "attributes": sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "indexes": sorted(
            (i["IndexName"], repr(i["KeySchema"]), repr(i["Projection"]))
            for i in table.get("GlobalSecondaryIndexes", [])
        ),
        "ttl": ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None,
    }


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_template_table_has_exactly_the_keys_indexes_and_ttl_of_its_model(aws: World, stage: str) -> None:
    dynamodb = aws.session.client("dynamodb")
    tables = [
        r["Properties"] for r in merge_template(stage)["Resources"].values() if r.get("Type") == "AWS::DynamoDB::Table"
    ]
    # The models' own tables, as the local stack creates them (the `test` stage's, made by the fixture).
    assert sorted(t["TableName"] for t in tables) == sorted(f"carecue-{stage}-{name}" for name in TABLES)

    for properties in tables:
        create_from_template(dynamodb, properties)
        name = properties["TableName"].removeprefix(f"carecue-{stage}-")
        model_table = f"carecue-test-{name}"
        if name == "deliveries":
            # PynamoDB's create_table sets the key schema, not TTL: the model's TTL attribute is the truth.
            dynamodb.update_time_to_live(
                TableName=model_table, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True}
            )
        assert shape(dynamodb, properties["TableName"]) == shape(dynamodb, model_table), name


def test_the_ttls_in_the_template_are_the_models_ttl_attributes() -> None:
    resources = merge_template("dev")["Resources"]
    properties = resources["DeliveriesTable"]["Properties"]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": Delivery.expires_at.attr_name, "Enabled": True}
    audit = resources["AuditTable"]["Properties"]
    assert audit["TimeToLiveSpecification"] == {"AttributeName": AuditEntry.expires_at.attr_name, "Enabled": True}
    proofs = resources["ContactProofsTable"]["Properties"]
    assert proofs["TimeToLiveSpecification"] == {"AttributeName": ContactProof.forget_at.attr_name, "Enabled": True}
    ttl_tables = [name for name, r in resources.items() if "TimeToLiveSpecification" in r.get("Properties", {})]
    assert sorted(ttl_tables) == ["AuditTable", "ContactProofsTable", "DeliveriesTable"]


def test_the_models_read_and_write_the_tables_the_template_creates(aws: World) -> None:
    dynamodb = aws.session.client("dynamodb")
    for resource in merge_template("dev")["Resources"].values():
        if resource.get("Type") == "AWS::DynamoDB::Table":
            create_from_template(dynamodb, resource["Properties"])
    bind_tables("carecue-dev", aws.services.settings.region)
    create_tables()  # every table exists already: this must create nothing and fail on nothing
    now = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)

    Clinic("cln_1", name="Riverside", timezone="UTC", api_key_hash="h1", created_at=now).save()
    Appointment(
        "cln_1",
        "apt_1",
        patient_id="pat_1",
        start=now + timedelta(days=2),
        timezone="UTC",
        created_at=now,
        updated_at=now,
    ).save()
    Reminder(
        "apt_1",
        "reminder-24h.sms",
        clinic_id="cln_1",
        kind="reminder",
        channel="sms",
        send_at=now + timedelta(days=1),
        status="scheduled",
        owner_version=1,
        updated_at=now,
    ).save()

    assert [c.clinic_id for c in Clinic.by_api_key.query("h1")] == ["cln_1"]
    assert [a.appointment_id for a in Appointment.by_start.query("cln_1", Appointment.start > now)] == ["apt_1"]
    due = f"2026-12-01#{shard('apt_1'):02d}"
    assert [r.reminder_id for r in Reminder.by_due.query(due, Reminder.due_sort > "2026-11-30")] == ["reminder-24h.sms"]
    assert {t["TableName"] for t in [dynamodb.describe_table(TableName=f"carecue-dev-{n}")["Table"] for n in TABLES]}
