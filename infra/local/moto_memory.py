"""How the local stack keeps moto's memory bounded: what moto keeps that nothing reads, and what it copies whole.

Measured on the local stack (docs/reliability.md, "Memory and shutdown"): 400 bookings took the process from 216 MB
to 1.9 GB, and each booking took longer than the one before. Three things in moto 5.2, none of them CareCue's:

- **Every model object moto ever made is kept.** `moto.core.common_models.BaseModel.__new__` appends each new
  instance to its class's `instances_tracked` list, for moto's own dashboard (`/moto-api/data.json`), and nothing
  ever removes one. DynamoDB makes an `Item` for every item written and for every item a query or scan returns
  (it deep-copies results), and a transaction deep-copies whole tables (below): all of it stays reachable for
  good. `stop_tracking_instances` gives every model class a list that keeps nothing (the dashboard, which the
  local stack does not use, then shows nothing).
- **A transaction deep-copies every table it touches,** to restore it whole if any part fails
  (`DynamoDBBackend.transact_write_items`): a booking's transaction copied the appointments, patients and
  reminders tables, so its cost grew with every booking before it. `LocalDynamoDBBackend` runs the same
  transaction with a copy of just the items it touches, restored the same way: the checks, the order of the
  writes, the errors and what a cancelled transaction leaves are moto's.
- **SNS and SES keep every SMS and email sent** (`sms_messages`, `sent_messages`), which only moto's own test
  helpers read. The local stack's outbox (infra/local/outbox.py) keeps its own copy of each, so moto's lists
  keep only the latest `KEPT_SENT_MESSAGES`.

`bound(region)` applies all three, and the faster queries and listings of `infra/local/moto_queries.py`; the local
stack calls it once moto's backends are loaded (after a restored snapshot, before the first request). Nothing here
is in the Lambda package, and the tests' in-process moto is left as it is.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from infra.local.moto_queries import LocalTable, speed_up

KEPT_SENT_MESSAGES = 200


class _KeepsNothing(list[Any]):
    """A list that drops what is appended: moto appends every model instance it makes to one of these."""

    def append(self, item: Any) -> None:
        pass


class _Latest(OrderedDict[Any, Any]):
    """An ordered dict that keeps only its latest `KEPT_SENT_MESSAGES` entries (moto's SNS `sms_messages`)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > KEPT_SENT_MESSAGES:
            self.popitem(last=False)


class _LatestList(list[Any]):
    """A list that keeps only its latest `KEPT_SENT_MESSAGES` items (moto's SES `sent_messages`)."""

    def append(self, item: Any) -> None:
        super().append(item)
        if len(self) > KEPT_SENT_MESSAGES:
            del self[: len(self) - KEPT_SENT_MESSAGES]


def stop_tracking_instances() -> None:
    """Every model class moto has loaded keeps no list of its instances from now on."""
    from moto.core.model_instances import model_data

    for models in model_data.values():
        for model in models.values():
            if not isinstance(model.instances_tracked, _KeepsNothing):  # type: ignore[attr-defined]
                model.instances_tracked = _KeepsNothing()  # type: ignore[attr-defined]


class LocalDynamoDBBackend(DynamoDBBackend):
    """moto's DynamoDB, its transactions restoring the items they touched rather than whole-table copies."""

    @property
    def _url_module(self) -> Any:
        # moto finds a backend's URL table next to the module its class is defined in: DynamoDB's, not this one.
        from moto.dynamodb import urls

        return urls

    def create_table(self, name: str, **params: Any) -> Table:  # type: ignore[override]
        # Each table queries through LocalTable (infra/local/moto_queries.py), those created after `bound` too.
        table = super().create_table(name, **params)
        if type(table) is Table:
            table.__class__ = LocalTable  # type: ignore[type-abstract]
        return table

    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        backups = self._touched_items(transact_items)
        tables, self.tables = self.tables, _NoCopies(self.tables)
        try:
            super().transact_write_items(transact_items)
        except Exception:
            self.tables = tables
            for (table_name, hash_key, range_key), item in backups.items():
                _put_back(self.tables[table_name], hash_key, range_key, item)
            raise
        finally:
            self.tables = tables

    def _touched_items(self, transact_items: list[dict[str, Any]]) -> dict[tuple[str, Any, Any], Any]:
        """A copy of each item the transaction names as it stands (None where there is none), by table and key.
        An operation that names no table or key moto can read is left out: moto refuses it before any write."""
        backups: dict[tuple[str, Any, Any], Any] = {}
        for entry in transact_items:
            for operation in entry.values():
                name = operation.get("TableName") if isinstance(operation, dict) else None
                table = self.tables.get(name) if isinstance(name, str) else None
                if table is None:
                    continue
                key = operation.get("Key")
                if key is None and isinstance(operation.get("Item"), dict):
                    key = {name: operation["Item"].get(name) for name in (table.hash_key_attr, table.range_key_attr)}
                try:
                    hash_key, range_key = self.get_keys_value(table, key or {})
                    current = table.get_item(hash_key, range_key)
                except Exception:  # noqa: S112 - a malformed key: moto's own checks refuse the transaction
                    continue
                backups.setdefault((table.name, hash_key, range_key), copy.deepcopy(current))
        return backups


class _NoCopies(dict[str, Any]):
    """The backend's tables as moto's transaction reads them, each "deep copy" of a table being the table itself:
    the copy was only for the rollback, which `LocalDynamoDBBackend` does item by item instead."""

    def __getitem__(self, name: str) -> Any:
        return _Uncopied(super().__getitem__(name))


class _Uncopied:
    def __init__(self, table: Any) -> None:
        self._table = table

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self._table


def _put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    """The item as it stood before the transaction (or none, if it did not exist)."""
    if range_key is not None:
        if item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item


def bound(region: str) -> None:
    """Applies all three to moto's backends for `region`, in every account (the default one is made here)."""
    from moto.backends import get_backend
    from moto.core.models import DEFAULT_ACCOUNT_ID

    from infra.local.persistence import SERVICES

    for service in SERVICES:  # each service's models loaded now, so that none of their classes tracks instances
        backends: Any = get_backend(service)  # type: ignore[call-overload]
        backends[DEFAULT_ACCOUNT_ID][region]  # noqa: B018 - made now, so that it is bounded from the start
    stop_tracking_instances()
    dynamodb: Any = get_backend("dynamodb")
    sns: Any = get_backend("sns")
    ses: Any = get_backend("ses")
    scheduler: Any = get_backend("scheduler")
    for _, _, backend in dynamodb.iter_backends():
        if type(backend) is DynamoDBBackend:
            backend.__class__ = LocalDynamoDBBackend
    for _, _, backend in sns.iter_backends():
        if not isinstance(backend.sms_messages, _Latest):
            backend.sms_messages = _Latest(list(backend.sms_messages.items())[-KEPT_SENT_MESSAGES:])
    for _, _, backend in ses.iter_backends():
        if not isinstance(backend.sent_messages, _LatestList):
            backend.sent_messages = _LatestList(backend.sent_messages[-KEPT_SENT_MESSAGES:])
    speed_up(dynamodb, scheduler)
