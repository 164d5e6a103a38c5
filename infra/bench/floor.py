"""The floor under figure 4: how fast *any* fire could be on this AWS, whatever CareCue's code looked like.

An idealised fire keeps only what "never twice, never for a cancelled booking" cannot do without: one
conditional write per reminder (the claim) and its publish. Everything else is batched 100 reminders at a time
and done with raw boto3 calls, no PynamoDB, no rendering, no logging, no metrics, no Lambda invocation: the
reads of reminders, appointments, the clinic, patients and contacts with `BatchGetItem`, the delivery and
reminder records with `BatchWriteItem`, and one usage `ADD` per batch. It is not a design (it drops the version
check on the record, and the frequency-cap note), only a bound: CareCue's fire cannot be faster than this, so
when the floor itself is near or above the target, the target cannot be met on this AWS by any design that keeps
a per-reminder claim. Bare publishes alternate with it in batches, as in figure 4, and figure 4 runs the floor's
batches between its own (`floor_batch`), so that CareCue's fire is judged against the floor of the same moments
on the same AWS.
"""

from __future__ import annotations

import time
from typing import Any

BATCH = 100


def floor_batch(world: Any, batch: list[dict[str, Any]], first: int) -> tuple[float, float]:
    """One batch (at most `BATCH` events of one clinic) through the idealised fire, and as many bare publishes
        just before it: (the floor's seconds, the bare publishes' seconds). `first` numbers the phone numbers. The
    bare publishes are left out of `world.calls`; the floor's own calls are counted there."""
    from chalicelib.store import models
    from chalicelib.store.models import Appointment, Clinic, Contact, Delivery, Patient, Reminder, Usage

    assert models._shared_connection is not None
    dynamodb: Any = models._shared_connection.client
    sns = world.services.sns
    tables = {model: model.Meta.table_name for model in (Reminder, Appointment, Clinic, Patient, Contact, Delivery)}
    text = "Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00 AM."
    before = (world.calls.calls.copy(), world.calls.seconds.copy())
    started = time.perf_counter()
    for index in range(len(batch)):
        sns.publish(PhoneNumber=f"+1415555{100 + (first + index) % 100:04d}", Message=text)
    bare = time.perf_counter() - started
    world.calls.calls, world.calls.seconds = before  # what the call log holds after this is the floor's own

    started = time.perf_counter()
    clinic_id = batch[0]["clinic_id"]
    reminders = _get(
        dynamodb, tables[Reminder], [{"owner_id": e["owner_id"], "reminder_id": e["reminder_id"]} for e in batch]
    )
    appointments = _get(
        dynamodb, tables[Appointment], [{"clinic_id": clinic_id, "appointment_id": e["owner_id"]} for e in batch]
    )
    _get(dynamodb, tables[Clinic], [{"clinic_id": clinic_id}])
    patients = _get(
        dynamodb,
        tables[Patient],
        [{"clinic_id": clinic_id, "patient_id": a["patient_id"]["S"]} for a in appointments],
    )
    _get(dynamodb, tables[Contact], [{"clinic_id": clinic_id, "address": p["phone"]["S"]} for p in patients])
    sent = []
    for event, patient in zip(batch, patients, strict=False):
        key = {
            "reminder_key": {"S": f"{event['owner_id']}/{event['reminder_id']}"},
            "occurrence": {"S": event["scheduled_time"]},
        }
        dynamodb.put_item(
            TableName=tables[Delivery],
            Item={**key, "status": {"S": "claimed"}},
            ConditionExpression="attribute_not_exists(reminder_key)",
        )
        message_id = sns.publish(PhoneNumber=patient["phone"]["S"], Message=text)["MessageId"]
        sent.append({**key, "status": {"S": "sent"}, "message_id": {"S": message_id}})
    _put(dynamodb, tables[Delivery], sent)
    _put(dynamodb, tables[Reminder], [{**reminder, "status": {"S": "sent"}} for reminder in reminders])
    dynamodb.update_item(
        TableName=Usage.Meta.table_name,
        Key={"clinic_id": {"S": clinic_id}, "month": {"S": "2026-12"}},
        UpdateExpression="ADD sms_messages :n",
        ExpressionAttributeValues={":n": {"N": str(len(batch))}},
    )
    return time.perf_counter() - started, bare


def _get(dynamodb: Any, table: str, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    wanted = [{name: {"S": value} for name, value in key.items()} for key in keys]
    for first in range(0, len(wanted), 100):
        request = {table: {"Keys": wanted[first : first + 100], "ConsistentRead": True}}
        found += dynamodb.batch_get_item(RequestItems=request)["Responses"][table]
    order = {repr(sorted(key.items())): n for n, key in enumerate(keys)}
    names = list(keys[0])
    return sorted(found, key=lambda item: order[repr(sorted((name, item[name]["S"]) for name in names))])


def _put(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for first in range(0, len(items), 25):
        dynamodb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items[first : first + 25]]}
        )
