"""Every AWS API call a piece of CareCue makes, seen through botocore's event hooks: counted per operation,
timed, and sized in DynamoDB request units for the cost estimate.

Hooks go on the boto3 session the app's clients are made from, which PynamoDB's shared connection makes its
client from too (`chalicelib.store.models.bind_tables`), before any client exists: botocore copies a session's
hooks into each client when the client is made.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

# DynamoDB on-demand: a read request unit reads 4 KB (half a unit when eventually consistent), a write unit
# writes 1 KB; a transaction costs twice.
_READ_UNIT_BYTES = 4096
_WRITE_UNIT_BYTES = 1024
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


@dataclass
class CallLog:
    calls: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    read_units: float = 0.0
    write_units: float = 0.0

    def attach(self, events: Any) -> None:
        # before-parameter-build carries the operation's own parameters (ConsistentRead, Item, RequestItems);
        # before-call has only the HTTP request. Both share the request's context, read back after the call.
        events.register("before-parameter-build", self._parameters)
        events.register("before-call", self._before)
        events.register("after-call", self._after)

    def reset(self) -> None:
        self.calls.clear()
        self.seconds.clear()
        self.read_units = 0.0
        self.write_units = 0.0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def count(self, service: str) -> int:
        return sum(n for name, n in self.calls.items() if name.startswith(f"{service}."))

    def _parameters(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    def _before(self, context: dict[str, Any], **_: Any) -> None:
        context["bench_started"] = time.perf_counter()

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        self.calls[name] += 1
        started = context.get("bench_started")
        if started is not None:
            self.seconds[name] += time.perf_counter() - started
        if model.service_model.service_name == "dynamodb":
            self._request_units(model.name, context.get("bench_params") or {}, parsed)

    def _request_units(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if operation == "GetItem":
            units = _units(_size(parsed.get("Item")), _READ_UNIT_BYTES)
            self.read_units += units if params.get("ConsistentRead") else units / 2
        elif operation in ("Query", "Scan"):
            units = _units(sum(_size(item) for item in parsed.get("Items", [])), _READ_UNIT_BYTES)
            self.read_units += units if params.get("ConsistentRead") else units / 2
        elif operation == "BatchGetItem":  # each item is its own read, rounded up on its own
            for table, items in parsed.get("Responses", {}).items():
                consistent = (params.get("RequestItems", {}).get(table) or {}).get("ConsistentRead")
                units = sum(_units(_size(item), _READ_UNIT_BYTES) for item in items)
                self.read_units += units if consistent else units / 2
        elif operation == "TransactGetItems":
            self.read_units += 2 * sum(
                _units(_size(answer.get("Item")), _READ_UNIT_BYTES) for answer in parsed.get("Responses", [])
            )
        elif operation in _WRITES:
            self.write_units += _units(
                max(_size(params.get("Item")), _size(parsed.get("Attributes"))), _WRITE_UNIT_BYTES
            )
        elif operation == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                (action,) = item.values()
                self.write_units += 2 * _units(_size(action.get("Item")), _WRITE_UNIT_BYTES)


def _size(item: Any) -> int:
    return len(json.dumps(item, default=str)) if item else 0


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))
