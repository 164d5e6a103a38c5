"""Reading the items one delivery needs from several tables in one round trip.

A send needs its reminder, the clinic, the clinic's usage this month and (for an appointment) the appointment
before it knows anything else; as GetItems that is four round trips in a row. `prefetched` fetches them with one
strongly consistent BatchGetItem and keeps them while the delivery runs; the code that needs an item calls
`get`, which hands out a prefetched item once and otherwise reads the table (`Model.get`) as before. So the
delivery code reads the same way with or without a prefetch, and an item read again after a write comes from
the table, not from the prefetch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pynamodb.models import Model

from chalicelib.core.observability import logger
from chalicelib.store import models
from chalicelib.store.convert import MODELS

_M = TypeVar("_M", bound=Model)
# (the record type, or the store's own model, hash key, range key or None): the domain names what it reads by record
Key = tuple[type[Any], Any, Any]
_MAX_KEYS = 100  # BatchGetItem's limit per request
_ROUNDS = 3  # unprocessed keys are asked for again this many times, then read one by one if ever needed

_prefetch: ContextVar[dict[tuple[str, Any, Any], Model | None] | None] = ContextVar("carecue_prefetch", default=None)


@contextlib.contextmanager
def prefetched(keys: Iterable[Key]) -> Iterator[None]:
    """With the keys' items fetched in one round trip; if that batch fails (one of its tables is unavailable),
    with nothing fetched, so each item is read on its own and only a read that needs the failing table fails:
    a usage table that is down must not stop a confirmation (`chalicelib.meter.sender` sends it unmetered)."""
    try:
        items: dict[tuple[str, Any, Any], Model | None] | None = batch_get(
            [(MODELS.get(kind, kind), hash_key, range_key) for kind, hash_key, range_key in keys]
        )
    except ClientError as e:
        logger.warning("prefetch failed", extra={"code": e.response.get("Error", {}).get("Code")})
        items = None
    token = _prefetch.set(items)
    try:
        yield
    finally:
        _prefetch.reset(token)


def get(model: type[_M], hash_key: Any, range_key: Any = None, consistent_read: bool = True) -> _M:
    """The item, prefetched or read now; `model.DoesNotExist` when there is none."""
    items = _prefetch.get()
    key = (model.Meta.table_name, hash_key, range_key)
    if items is not None and key in items:
        item = items.pop(key)
        if item is None:
            raise model.DoesNotExist()
        assert isinstance(item, model)
        return item
    return model.get(hash_key, range_key, consistent_read=consistent_read)


def batch_get(keys: list[Key]) -> dict[tuple[str, Any, Any], Model | None]:
    """Every key's item, or None where the table has none; keys DynamoDB left unprocessed are left out."""
    wanted: dict[tuple[str, str], tuple[type[Model], tuple[str, Any, Any]]] = {}
    tables: dict[str, type[Model]] = {}
    requests: dict[str, list[dict[str, Any]]] = {}
    for model, hash_key, range_key in dict.fromkeys(keys):
        serialized = _serialized_key(model, hash_key, range_key)
        table = model.Meta.table_name
        wanted[(table, _identity(serialized))] = (model, (table, hash_key, range_key))
        tables[table] = model
        requests.setdefault(table, []).append(serialized)
    found: dict[tuple[str, Any, Any], Model | None] = {}
    pending = [(table, key) for table, table_keys in requests.items() for key in table_keys]
    client = _client()
    for _ in range(_ROUNDS):
        if not pending:
            break
        chunk, pending = pending[:_MAX_KEYS], pending[_MAX_KEYS:]
        request: dict[str, Any] = {}
        for table, key in chunk:
            request.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(key)
        answer = client.batch_get_item(RequestItems=request)
        for table, items in answer.get("Responses", {}).items():
            for raw in items:
                model, found_key = wanted[(table, _identity(_key_of(tables[table], raw)))]
                found[found_key] = model.from_raw_data(raw)
        unprocessed = answer.get("UnprocessedKeys", {})
        returned = {(table, _identity(key)) for table, spec in unprocessed.items() for key in spec["Keys"]}
        for table, key in chunk:
            model, found_key = wanted[(table, _identity(key))]
            if (table, _identity(key)) not in returned and found_key not in found:
                found[found_key] = None
        pending = [(table, key) for table, spec in unprocessed.items() for key in spec["Keys"]] + pending
    return found


def _serialized_key(model: type[Model], hash_key: Any, range_key: Any) -> dict[str, Any]:
    key = {}
    for attribute, value in zip(_key_attributes(model), (hash_key, range_key), strict=False):
        key[attribute.attr_name] = {attribute.attr_type: attribute.serialize(value)}
    return key


def _key_of(model: type[Model], raw: dict[str, Any]) -> dict[str, Any]:
    return {attribute.attr_name: raw[attribute.attr_name] for attribute in _key_attributes(model)}


def _key_attributes(model: type[Model]) -> list[Any]:
    """The hash key attribute, then the range key attribute when the table has one."""
    hash_key: Any = model._hash_key_attribute()  # type: ignore[no-untyped-call]
    range_key: Any = model._range_key_attribute()  # type: ignore[no-untyped-call]
    return [hash_key] if range_key is None else [hash_key, range_key]


def _identity(key: dict[str, Any]) -> str:
    return repr(sorted((name, sorted(value.items())) for name, value in key.items()))


def _client() -> Any:
    if models._shared_connection is None:
        raise RuntimeError("bind_tables() has not been called")
    return models._shared_connection.client
