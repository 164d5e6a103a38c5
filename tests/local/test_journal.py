"""The local stack's write-ahead journal (`infra/local/journal.py`), in process: the AWS requests the stack's
moto server took, replayed into an empty moto, answer as they did the first time (the same message ids, receipt
handles, schedule ARNs and creation dates); a torn record at the end of a file is ignored; a start reads only
what its snapshot does not hold; and after the stop nothing more is journaled, so nothing more is answered."""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.aws_server import AwsServer, Gate
from infra.local.journal import AwsRecord, Journal, JournalClosed, StackRecord, read_records, segments
from infra.local.persistence import DataFolder, Snapshot, dumps
from infra.local.ports import free_ports

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/carecue-local-scheduler"
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:carecue-local-fire"
CLOCK = {"now": "2026-11-30T14:00:00+00:00", "frozen": True, "offset_seconds": 0.0}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def served(aws_env: None, tmp_path: Path) -> Iterator[tuple[AwsServer, Journal, str]]:
    """The stack's moto server on a free port, journaling into `tmp_path`, on a moto of the test's own."""
    journal = Journal(tmp_path, 1)
    port = free_ports(1)[0]
    server = AwsServer("127.0.0.1", port, Gate(), lambda: None, journal=journal)
    with mock_aws():
        server.start()
        try:
            yield server, journal, f"http://127.0.0.1:{port}"
        finally:
            server.stop()


def use(endpoint: str) -> dict[str, Any]:
    """What CareCue does on moto: a queue and a message received, a schedule, an SMS, an item; what came back."""
    session = boto3.Session(region_name=REGION)
    sqs = session.client("sqs", endpoint_url=endpoint)
    queue = sqs.create_queue(QueueName="carecue-local-replan")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=queue, MessageBody='{"clinic_id": "cln_1"}')["MessageId"]
    received = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["All"])["Messages"][0]
    scheduler = session.client("scheduler", endpoint_url=endpoint)
    scheduler.create_schedule_group(Name="carecue-local")
    arn = scheduler.create_schedule(
        Name="apt_1.reminder-24h.sms",
        GroupName="carecue-local",
        ScheduleExpression="at(2026-12-01T15:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": TARGET, "RoleArn": ROLE, "Input": '{"kind": "reminder"}'},
    )["ScheduleArn"]
    sms = session.client("sns", endpoint_url=endpoint).publish(PhoneNumber="+14155550101", Message="Hello")
    return {
        "message_id": sent,
        "receipt": received["ReceiptHandle"],
        "sent_at": received["Attributes"]["SentTimestamp"],
        "schedule_arn": arn,
        "sms_id": sms["MessageId"],
    }


def seen(endpoint: str) -> dict[str, Any]:
    session = boto3.Session(region_name=REGION)
    schedule = session.client("scheduler", endpoint_url=endpoint).get_schedule(
        Name="apt_1.reminder-24h.sms", GroupName="carecue-local"
    )
    return {"created": schedule["CreationDate"], "modified": schedule["LastModificationDate"]}


def test_replayed_requests_answer_as_the_first_time(served: tuple[AwsServer, Journal, str], tmp_path: Path) -> None:
    server, journal, endpoint = served
    first = use(endpoint)
    before = seen(endpoint)
    records = [r for r in read_records([p for _, p in segments(tmp_path)]).records if isinstance(r, AwsRecord)]

    with mock_aws():  # an empty moto
        replayed = server.replay(records)
        # The state the replay left answers as the original did: the receipt handle of the message received still
        # deletes it, and the schedule keeps its creation date (which the Scheduler emulator tells versions by).
        assert seen(endpoint) == before
        sqs = boto3.Session(region_name=REGION).client("sqs", endpoint_url=endpoint)
        queue = sqs.get_queue_url(QueueName="carecue-local-replan")["QueueUrl"]
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=first["receipt"])

    assert (replayed.requests, replayed.differed) == (len(records), 0)
    assert len(records) == 6  # the reads (GetSchedule) are not journaled


def test_a_torn_record_ends_its_file_and_the_next_file_is_read(tmp_path: Path) -> None:
    journal = Journal(tmp_path, 1)
    journal.append(StackRecord(CLOCK, [{"to": "+14155550101"}], None))
    journal.close()
    with (tmp_path / "journal.000001").open("ab") as torn:
        torn.write(struct.pack(">II", 4096, 0) + b"half a record")
    later = Journal(tmp_path, 2)
    later.append(StackRecord(None, [{"to": "+14155550102"}], None))
    later.close()

    read = read_records([path for _, path in segments(tmp_path)])

    assert read.torn == 1
    assert [r.outbox for r in read.records if isinstance(r, StackRecord)] == [
        [{"to": "+14155550101"}],
        [{"to": "+14155550102"}],
    ]


def test_a_start_replays_only_what_its_snapshot_does_not_hold(tmp_path: Path) -> None:
    # GIVEN a snapshot covering segment 1, written just before a crash that left segment 1 undeleted
    covered = Journal(tmp_path, 1)
    covered.append(StackRecord(CLOCK, [{"to": "+14155550101"}], None))
    covered.close()
    snapshot = Snapshot({}, {"schedules": {}, "reached": None, "retries": []}, [{"to": "+14155550101"}], CLOCK)
    snapshot.journal_segment = 1
    DataFolder(tmp_path).write(dumps(snapshot))
    after = Journal(tmp_path, 2)
    later_clock = {**CLOCK, "now": "2026-11-30T15:00:00+00:00"}
    after.append(StackRecord(later_clock, [{"to": "+14155550102"}], None))
    after.close()

    # WHEN the folder is opened
    folder = DataFolder(tmp_path)
    restored = folder.open(reset=False)

    # THEN each message is there once, the clock is the latest journaled, and new records go to a new file
    assert restored is not None
    assert restored.outbox == [{"to": "+14155550101"}, {"to": "+14155550102"}]
    assert restored.clock == later_clock
    assert [number for number, _ in segments(tmp_path)] == [2, 3]


def test_after_the_stop_nothing_more_is_journaled(tmp_path: Path) -> None:
    journal = Journal(tmp_path, 1)
    journal.close()
    record = AwsRecord(datetime(2026, 11, 30, 14, tzinfo=UTC).replace(tzinfo=None), 7, {}, b"", "200 x")
    with pytest.raises(JournalClosed):
        journal.append(record)


def test_a_replayed_answer_that_differs_is_named_by_its_operation_only(
    served: tuple[AwsServer, Journal, str], tmp_path: Path
) -> None:
    server, _, endpoint = served
    use(endpoint)
    records = [r for r in read_records([p for _, p in segments(tmp_path)]).records if isinstance(r, AwsRecord)]
    # GIVEN the journal says the SMS and the schedule were answered otherwise than moto answers them again
    tampered = [
        dataclasses.replace(r, answer="200 0")
        if r.body.startswith(b"Action=Publish") or b"ScheduleExpression" in r.body
        else r
        for r in records
    ]

    with mock_aws():
        replayed = server.replay(tampered)

    # THEN the start says which operations they were, and nothing of what they carried (the phone, the message)
    assert (replayed.differed, replayed.differed_operations) == (2, ["scheduler.POST", "sns.Publish"])
