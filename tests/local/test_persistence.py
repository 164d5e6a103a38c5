"""The local stack's snapshot of moto (`infra/local/persistence.py`), in process: what CareCue stores on each
service it uses is read back the same after moto was emptied and the snapshot put back; a data folder is held
by one stack at a time, and a snapshot another moto or Python wrote is refused, not half read."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.persistence import DataError, DataFolder, Snapshot, dumps, moto_state, restore_moto

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/carecue-local-scheduler"
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:carecue-local-fire"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def fill(session: Any) -> None:
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(
        TableName="carecue-local-clinics",
        KeySchema=[{"AttributeName": "clinic_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "clinic_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="carecue-local-clinics", Item={"clinic_id": {"S": "cln_1"}, "name": {"S": "Clinic"}})
    ssm = session.client("ssm")
    ssm.put_parameter(Name="/carecue/local/link-signing-key", Value="k3y", Type="SecureString")
    # Tags live in a defaultdict made by a lambda, which pickle cannot write as it is.
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="/carecue/local/link-signing-key", Tags=[{"Key": "k", "Value": "v"}]
    )
    sqs = session.client("sqs")
    queue = sqs.create_queue(QueueName="carecue-local-replan")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody='{"clinic_id": "cln_1"}')  # a queue holds a Condition
    scheduler = session.client("scheduler")
    scheduler.create_schedule_group(Name="carecue-local")
    scheduler.create_schedule(
        Name="apt_1.reminder-24h.sms",
        GroupName="carecue-local",
        ScheduleExpression="at(2026-12-01T15:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": TARGET, "RoleArn": ROLE, "Input": '{"kind": "reminder"}'},
    )


def read(session: Any) -> dict[str, Any]:
    sqs = session.client("sqs")
    queue = sqs.get_queue_url(QueueName="carecue-local-replan")["QueueUrl"]
    ssm = session.client("ssm")
    return {
        "item": session.client("dynamodb").get_item(
            TableName="carecue-local-clinics", Key={"clinic_id": {"S": "cln_1"}}
        )["Item"],
        "key": ssm.get_parameter(Name="/carecue/local/link-signing-key", WithDecryption=True)["Parameter"]["Value"],
        "tags": ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/carecue/local/link-signing-key")[
            "TagList"
        ],
        "message": [m["Body"] for m in sqs.receive_message(QueueUrl=queue).get("Messages", [])],
        "schedules": [
            (s["Name"], s["Target"]["Arn"])
            for s in session.client("scheduler").list_schedules(GroupName="carecue-local")["Schedules"]
        ],
    }


@pytest.fixture
def saved(aws_env: None) -> Iterator[bytes]:
    with mock_aws():
        fill(boto3.Session(region_name=REGION))
        yield dumps(Snapshot(moto_state(), {}, [], {}))


def test_what_each_service_holds_comes_back_from_a_snapshot(saved: bytes) -> None:
    with mock_aws():  # a new, empty moto
        session = boto3.Session(region_name=REGION)
        restore_moto(pickle.loads(saved).moto)  # noqa: S301 - the test's own snapshot

        assert read(session) == {
            "item": {"clinic_id": {"S": "cln_1"}, "name": {"S": "Clinic"}},
            "key": "k3y",
            "tags": [{"Key": "k", "Value": "v"}],
            "message": ['{"clinic_id": "cln_1"}'],
            "schedules": [("apt_1.reminder-24h.sms", TARGET)],
        }


def test_a_data_folder_is_held_by_one_stack_at_a_time(tmp_path: Path) -> None:
    first = DataFolder(tmp_path)
    assert first.open(reset=False) is None

    with pytest.raises(DataError, match="in use by another local stack"):
        DataFolder(tmp_path).open(reset=False)


def test_a_snapshot_from_other_versions_is_refused_and_reset_removes_it(saved: bytes, tmp_path: Path) -> None:
    snapshot: Snapshot = pickle.loads(saved)  # noqa: S301 - the test's own snapshot
    snapshot.versions = {**snapshot.versions, "moto": "0.0.1"}
    (tmp_path / "old").mkdir()
    DataFolder(tmp_path / "old").write(dumps(snapshot))

    with pytest.raises(DataError, match="--reset starts empty"):
        DataFolder(tmp_path / "old").open(reset=False)
    assert DataFolder(tmp_path / "old").open(reset=True) is None
    assert not (tmp_path / "old" / "state.pickle").exists()
