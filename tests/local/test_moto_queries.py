"""The local stack's faster moto reads (infra/local/moto_queries.py) give what moto's own give: every DynamoDB query
(on the table and on an index, paged, reversed, filtered, for a key with no items) the same items, counts and page
keys as moto's Table; every ListSchedules page the same schedules and tokens, also after schedules change; a token
that names nothing the same error. And the Scheduler emulator, told of the Scheduler's writes, fires what it fired
without being told, listing the schedules once rather than once per firing. On backends of their own, except the
emulator's (moto's global Scheduler, restored to moto's class afterwards)."""

from __future__ import annotations

import io
import json
import pickle
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.backends import get_backend
from moto.dynamodb.models import DynamoDBBackend
from moto.scheduler.models import EventBridgeSchedulerBackend
from moto.utilities.paginator import InvalidToken

from infra.local.clock import SimulatedClock
from infra.local.moto_memory import LocalDynamoDBBackend
from infra.local.moto_queries import LocalSchedulerBackend, LocalTable, scheduler_writes
from infra.local.persistence import _Pickler
from infra.local.scheduler_emulator import SchedulerEmulator

ACCOUNT = "123456789012"
TABLE = "carecue-local-things"
HASH_ONLY = "carecue-local-keys"
GROUP = "carecue-local"
FIRE_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:carecue-fire"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/carecue-scheduler"
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


def _tables(backend: DynamoDBBackend) -> DynamoDBBackend:
    """A table keyed (pk, sk) with an index on (g, sk) that only some items are in, and a hash-only table; the
    same pseudo-random items in both on every backend."""
    backend.create_table(
        TABLE,
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        throughput=None,
        attr=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "g")],
        global_indexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]},
            }
        ],
        indexes=None,
        streams=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    backend.create_table(
        HASH_ONLY,
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        throughput=None,
        attr=[{"AttributeName": "pk", "AttributeType": "S"}],
        global_indexes=None,
        indexes=None,
        streams=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    draw = random.Random(19)
    for number in range(240):
        item = {
            "pk": {"S": f"p{draw.randrange(12)}"},
            "sk": {"S": f"s{draw.randrange(1000):04d}"},
            "n": {"N": str(number)},
            "other": {"S": "x" * draw.randrange(5)},
        }
        if draw.random() < 0.7:
            item["g"] = {"S": f"g{draw.randrange(4)}"}
        backend.put_item(TABLE, item)
    for number in range(30):
        backend.put_item(HASH_ONLY, {"pk": {"S": f"k{number}"}, "n": {"N": str(number)}})
    return backend


QUERIES: list[dict[str, Any]] = [
    {"hash_key_dict": {"S": "p3"}},
    {"hash_key_dict": {"S": "p3"}, "range_comparison": ">", "range_value_dicts": [{"S": "s0300"}]},
    {"hash_key_dict": {"S": "p5"}, "scan_index_forward": False, "limit": 4},
    {"hash_key_dict": {"S": "nobody"}},
    {"hash_key_dict": {"S": "p7"}, "filter_expression": "n > :low", "expr_values": {":low": {"N": "100"}}},
    {"index_name": "by-g", "hash_key_dict": {"S": "g2"}, "hash_key_conditions": [("g", {"S": "g2"})]},
    {
        "index_name": "by-g",
        "hash_key_dict": {"S": "g1"},
        "hash_key_conditions": [("g", {"S": "g1"})],
        "range_comparison": "BETWEEN",
        "range_value_dicts": [{"S": "s0100"}, {"S": "s0700"}],
        "scan_index_forward": False,
        "limit": 5,
    },
    {"index_name": "by-g", "hash_key_dict": {"S": "g9"}, "hash_key_conditions": [("g", {"S": "g9"})]},
]


def query_pages(backend: DynamoDBBackend, table: str, asked: dict[str, Any]) -> list[Any]:
    """Every page of a query, followed with its last evaluated key as a client pages: items as DynamoDB JSON."""
    pages, start = [], None
    while True:
        arguments: dict[str, Any] = {
            "range_comparison": None,
            "range_value_dicts": [],
            "limit": None,
            "scan_index_forward": True,
            "projection_expressions": None,
            **asked,
            "exclusive_start_key": start,
        }
        items, scanned, last = backend.query(table, **arguments)
        pages.append(([item.to_json()["Attributes"] for item in items], scanned, last))
        if last is None or not arguments["limit"]:
            return pages
        start = last


def test_every_query_gives_what_moto_gives() -> None:
    moto_own = _tables(DynamoDBBackend("us-east-1", ACCOUNT))
    local = _tables(LocalDynamoDBBackend("us-east-1", ACCOUNT))
    assert type(local.get_table(TABLE)) is LocalTable  # made by the local backend: it queries the local way

    for asked in QUERIES:
        expected = query_pages(moto_own, TABLE, asked)
        assert query_pages(local, TABLE, asked) == expected, asked
    assert len(query_pages(local, TABLE, QUERIES[0])[0][0]) > 5  # the queries find items: the comparison means it
    for key in ("k3", "nothing"):
        asked = {"hash_key_dict": {"S": key}}
        assert query_pages(local, HASH_ONLY, asked) == query_pages(moto_own, HASH_ONLY, asked)


def test_a_query_sees_writes_made_since_the_last() -> None:
    local = _tables(LocalDynamoDBBackend("us-east-1", ACCOUNT))
    local.put_item(TABLE, {"pk": {"S": "new"}, "sk": {"S": "a"}, "g": {"S": "g-new"}})
    local.delete_item(TABLE, {"pk": {"S": "p3"}, "sk": query_pages(local, TABLE, QUERIES[0])[0][0][0]["sk"]})

    on_table = query_pages(local, TABLE, {"hash_key_dict": {"S": "new"}})
    on_index = query_pages(
        local,
        TABLE,
        {"index_name": "by-g", "hash_key_dict": {"S": "g-new"}, "hash_key_conditions": [("g", {"S": "g-new"})]},
    )

    assert [item["sk"] for item in on_table[0][0]] == [{"S": "a"}]
    assert [item["pk"] for item in on_index[0][0]] == [{"S": "new"}]


def _schedules(backend: EventBridgeSchedulerBackend, names: list[str]) -> None:
    for name in names:
        backend.create_schedule(
            description="",
            end_date="",
            flexible_time_window={"Mode": "OFF"},
            group_name=GROUP,
            kms_key_arn="",
            name=name,
            schedule_expression="at(2026-01-02T09:00:00)",
            schedule_expression_timezone="UTC",
            start_date="",
            state="ENABLED",
            target={"Arn": FIRE_ARN, "RoleArn": ROLE_ARN},
            action_after_completion="DELETE",
        )


def listing(backend: EventBridgeSchedulerBackend, page_size: int) -> list[tuple[list[str], str | None]]:
    pages, token = [], None
    while True:
        found, token = backend.list_schedules([GROUP], None, None, max_results=page_size, next_token=token)
        pages.append(([schedule.name for schedule in found], token))
        if token is None:
            return pages


@pytest.fixture
def two_schedulers() -> tuple[EventBridgeSchedulerBackend, LocalSchedulerBackend]:
    moto_own = EventBridgeSchedulerBackend("us-east-1", ACCOUNT)
    local = LocalSchedulerBackend("us-east-1", ACCOUNT)
    for backend in (moto_own, local):
        backend.create_schedule_group(GROUP, [])
        _schedules(backend, [f"reminder-{number}" for number in range(57)])
    return moto_own, local


def test_every_listing_page_is_moto_s_own(two_schedulers: tuple[Any, Any]) -> None:
    moto_own, local = two_schedulers
    for page_size in (7, 50, 100):
        assert listing(local, page_size) == listing(moto_own, page_size)

    for backend in (moto_own, local):  # a change between two listings is in the next
        backend.delete_schedule(GROUP, "reminder-3")
        _schedules(backend, ["reminder-new"])
        backend.update_schedule(
            description="",
            end_date="",
            flexible_time_window={"Mode": "OFF"},
            group_name=GROUP,
            kms_key_arn="",
            name="reminder-9",
            schedule_expression="at(2026-01-03T09:00:00)",
            schedule_expression_timezone="UTC",
            start_date="",
            state="DISABLED",
            target={"Arn": FIRE_ARN, "RoleArn": ROLE_ARN},
        )
    names = [name for page, _ in listing(local, 7) for name in page]
    assert "reminder-new" in names and "reminder-3" not in names
    assert listing(local, 7) == listing(moto_own, 7)
    assert [s.name for s in local.list_schedules([GROUP], "DISABLED")[0]] == ["reminder-9"]


def test_a_token_that_names_no_schedule_is_refused_as_moto_refuses_it(two_schedulers: tuple[Any, Any]) -> None:
    moto_own, local = two_schedulers
    _, token = local.list_schedules([GROUP], None, None, max_results=10)
    for backend in (moto_own, local):
        backend.delete_schedule(GROUP, listing(backend, 100)[0][0][10])  # the schedule the token points at
    for backend in (moto_own, local):
        with pytest.raises(InvalidToken):
            backend.list_schedules([GROUP], None, None, max_results=10, next_token=token)


@pytest.fixture
def local_scheduler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's global Scheduler as the local stack binds it (LocalSchedulerBackend), for a boto3 client."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        backend = get_backend("scheduler")[ACCOUNT]["us-east-1"]
        backend.__class__ = LocalSchedulerBackend
        try:
            client = boto3.client("scheduler", region_name="us-east-1")
            client.create_schedule_group(Name=GROUP)
            yield client
        finally:
            backend.__class__ = EventBridgeSchedulerBackend


def arm(client: Any, name: str, at: str) -> None:
    client.create_schedule(
        Name=name,
        GroupName=GROUP,
        ScheduleExpression=f"at({at})",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": FIRE_ARN, "RoleArn": ROLE_ARN, "Input": json.dumps({"reminder": name})},
        ActionAfterCompletion="DELETE",
    )


def test_the_emulator_told_of_writes_fires_the_same_and_lists_once(local_scheduler: Any) -> None:
    client = local_scheduler
    listings = []
    client.meta.events.register("before-call.scheduler.ListSchedules", lambda **_: listings.append(1))

    def run(writes: Any) -> tuple[list[tuple[str, datetime]], list[str]]:
        """Ten reminders on 2 January; the third's invocation arms a follow-up due the same morning and the fifth's
        deletes the eighth (as a cancel would): what fired, and what is left."""
        for number in range(10):
            arm(client, f"r{number}", f"2026-01-02T09:{number:02d}:00")

        def target(arn: str, event: Any) -> Any:
            name = event["reminder"]  # the Input, parsed as the fire function gets it
            if name == "r2":
                arm(client, "r2-follow-up", "2026-01-02T09:30:00")
            if name == "r4":
                client.delete_schedule(Name="r7", GroupName=GROUP)
            return {"ok": True}

        clock = SimulatedClock(start=JAN_1, frozen=True)
        emulator = SchedulerEmulator(client, GROUP, target, now=clock.now, writes=writes)
        firings = emulator.fire_due(datetime(2026, 1, 2, 12, tzinfo=UTC))
        left = [s["Name"] for s in client.list_schedules(GroupName=GROUP)["Schedules"]]
        return [(f.schedule_name, f.scheduled_time) for f in firings], left

    told, left_told = run(scheduler_writes)
    listed_told = len(listings) - 1  # the last listing is the test's own
    listings.clear()
    untold, left_untold = run(None)

    assert told == untold
    assert [name for name, _ in told] == ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r2-follow-up"]
    assert left_told == left_untold == []  # each deleted after its completion
    # Listed again after the two invocations that wrote, not after every firing.
    assert listed_told == 3
    assert len(listings) - 1 == 11  # without: once before each of the 10 firings, and once to find none is left


def test_a_snapshot_of_the_local_scheduler_lists_the_same_after_it_is_read(two_schedulers: tuple[Any, Any]) -> None:
    _, local = two_schedulers
    before = listing(local, 10)

    restored = pickle.loads(dumps_backend(local))  # noqa: S301 - written just above

    assert type(restored) is LocalSchedulerBackend
    assert listing(restored, 10) == before
    _schedules(restored, ["after-restart"])
    assert "after-restart" in [name for page, _ in listing(restored, 10) for name in page]


def dumps_backend(backend: Any) -> bytes:
    """As the local stack's snapshot writes moto's backends (infra/local/persistence.py)."""
    buffer = io.BytesIO()
    _Pickler(buffer).dump(backend)
    return buffer.getvalue()


def test_the_emulator_told_of_writes_lists_again_only_once_someone_wrote(local_scheduler: Any) -> None:
    client = local_scheduler
    listings = []
    client.meta.events.register("before-call.scheduler.ListSchedules", lambda **_: listings.append(1))
    arm(client, "later", "2026-01-05T09:00:00")
    clock = SimulatedClock(start=JAN_1, frozen=True)
    emulator = SchedulerEmulator(client, GROUP, Target(), now=clock.now, writes=scheduler_writes)

    assert emulator.fire_due(datetime(2026, 1, 2, tzinfo=UTC)) == []
    assert emulator.fire_due(datetime(2026, 1, 3, tzinfo=UTC)) == []  # an idle tick: nothing written since
    listed_idle = len(listings)
    arm(client, "soon", "2026-01-03T10:00:00")
    fired = emulator.fire_due(datetime(2026, 1, 4, tzinfo=UTC))

    assert listed_idle == 1
    assert [firing.schedule_name for firing in fired] == ["soon"]  # armed after the last listing: seen
    assert len(listings) == 2


class Target:
    def __call__(self, arn: str, event: Any) -> Any:
        return {"ok": True}
