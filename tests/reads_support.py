"""What a piece of CareCue reads from DynamoDB, seen through botocore's event hooks on the app's own DynamoDB
client (the one PynamoDB's shared connection makes from the app's session), as `infra/bench` counts calls: each
read call with its table, its index and how many items DynamoDB read for it (a query's or scan's `ScannedCount`,
before any filter; the items a GetItem or BatchGetItem returned). Writes are not listed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chalicelib.store import models

_PREFIX = "carecue-test-"


@dataclass(frozen=True)
class Read:
    operation: str  # Query | Scan | GetItem | BatchGetItem
    table: str  # without the stage's prefix: "appointments"
    index: str | None
    items: int


@dataclass
class Reads:
    calls: list[Read] = field(default_factory=list)

    def of(self, table: str, index: str | None = None) -> list[Read]:
        return [r for r in self.calls if r.table == table and (index is None or r.index == index)]

    def items(self, table: str) -> int:
        return sum(r.items for r in self.of(table))

    @property
    def scans(self) -> list[Read]:
        return [r for r in self.calls if r.operation == "Scan"]

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["test_reads_params"] = params

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        params = context.get("test_reads_params") or {}
        name = model.name
        if name in ("Query", "Scan"):
            count = parsed.get("ScannedCount", len(parsed.get("Items", [])))
            self.calls.append(Read(name, _table(params["TableName"]), params.get("IndexName"), count))
        elif name == "GetItem":
            self.calls.append(Read(name, _table(params["TableName"]), None, 1 if parsed.get("Item") else 0))
        elif name == "BatchGetItem":
            for table, items in parsed.get("Responses", {}).items():
                self.calls.append(Read(name, _table(table), None, len(items)))


def _table(name: str) -> str:
    return name.removeprefix(_PREFIX)


@contextmanager
def dynamodb_reads() -> Iterator[Reads]:
    """Every DynamoDB read the app makes while inside (the `aws` fixture's tables must be bound)."""
    assert models._shared_connection is not None, "bind_tables() first: the aws fixture does"
    events = models._shared_connection.client.meta.events
    reads = Reads()
    # before-parameter-build carries the API's own parameters (TableName, IndexName); before-call has the HTTP
    # request instead. Both events share the request's context, where the parameters wait for the answer.
    events.register("before-parameter-build.dynamodb", reads._before, unique_id="test-reads-before")
    events.register("after-call.dynamodb", reads._after, unique_id="test-reads-after")
    try:
        yield reads
    finally:
        events.unregister("before-parameter-build.dynamodb", unique_id="test-reads-before")
        events.unregister("after-call.dynamodb", unique_id="test-reads-after")
