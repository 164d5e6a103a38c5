"""Reading the items one delivery needs from several tables in one round trip.

A send needs its reminder, the clinic, the clinic's usage this month and (for an appointment) the appointment
before it knows anything else; as GetItems that is four round trips in a row. `prefetched` fetches them with one
strongly consistent BatchGetItem and keeps them while the delivery runs; the code that needs an item calls
`get`, which hands out a prefetched item once and otherwise reads the table (`Model.get`) as before. So the
delivery code reads the same way with or without a prefetch, and an item read again after a write comes from
the table, not from the prefetch.

Records in hand (`in_hand`): a booking sends its confirmation on the items it has just written and read in its
own first round trip, not read again (docs/performance.md, "A booking"). A `prefetched` inside takes what it
needs from them instead of asking DynamoDB, and each item so taken leaves a guard (`guards`): the condition that
it is still as in hand (a reminder still `scheduled` at its version, the appointment at its version and status,
the clinic's status, the patient's phone and email, the address's opt-out). The claim checks them in its own
transaction (`store.deliveries.claim_counted`, `claim`), so a confirmation whose appointment was cancelled or
moved, or whose address said STOP, between the booking's write and the claim is not claimed: `ChangedMeanwhile`,
and the dispatcher re-checks it on items read now. A read does no better: it leaves the read-to-claim window open.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pynamodb.models import Model

from chalicelib.core.observability import logger
from chalicelib.store import models
from chalicelib.store.convert import MODELS, to_model

_M = TypeVar("_M", bound=Model)
# (the record type, or the store's own model, hash key, range key or None): the domain names what it reads by record
Key = tuple[type[Any], Any, Any]
_MAX_KEYS = 100  # BatchGetItem's limit per request
_ROUNDS = 3  # unprocessed keys are asked for again this many times, then read one by one if ever needed

_prefetch: ContextVar[dict[tuple[str, Any, Any], Model | None] | None] = ContextVar("carecue_prefetch", default=None)
_in_hand: ContextVar[dict[tuple[str, Any, Any], Model | None] | None] = ContextVar("carecue_in_hand", default=None)
# What the prefetch took from the records in hand, to be checked at the claim: (model class, hash, range, condition).
Guard = tuple[type[Model], Any, Any, Any]
_guards: ContextVar[list[Guard] | None] = ContextVar("carecue_guards", default=None)


class ChangedMeanwhile(Exception):
    """An item a send was checked on, taken from the records in hand, changed before the claim: nothing was
    claimed, and the send is to be checked again on items read now."""


class Pool:
    """Items fetched for several sends (`pooled`), and which of them more than one send asked for."""

    def __init__(self, items: dict[tuple[str, Any, Any], Model | None], shared: set[tuple[str, Any, Any]]) -> None:
        self.items = items
        self.shared = shared

    def take(self, key: tuple[str, Any, Any]) -> Model | None:
        """The item for one send: its own copy where others asked for it too (the clinic, the month's usage)."""
        item = self.items[key]
        return _copy(item) if key in self.shared else item


def pooled(keys: Iterable[Key]) -> Pool:
    """The items of several sends fetched in one round trip (a batch of timers: `Dispatcher.deliver_all`), for
    each send's own `prefetched` to take its share from; nothing fetched if that fails (each then reads its own)."""
    wanted = [(MODELS.get(kind, kind), hash_key, range_key) for kind, hash_key, range_key in keys]
    named = [(model.Meta.table_name, hash_key, range_key) for model, hash_key, range_key in wanted]
    shared = {key for key, n in Counter(named).items() if n > 1}
    try:
        return Pool(batch_get(wanted), shared)
    except ClientError as e:
        logger.warning("prefetch failed", extra={"code": e.response.get("Error", {}).get("Code")})
        return Pool({}, set())


@contextlib.contextmanager
def prefetched(keys: Iterable[Key], pool: Pool | None = None) -> Iterator[dict[tuple[str, Any, Any], Model | None]]:
    """With the keys' items fetched in one round trip; if that batch fails (one of its tables is unavailable),
    with nothing fetched, so each item is read on its own and only a read that needs the failing table fails:
    a usage table that is down must not stop a confirmation (`chalicelib.meter.sender` sends it unmetered).
    Yields what it fetched, for `in_hand`. Keys in the records in hand (`in_hand`) are taken from them, guarded.
    Keys in `pool` (`pooled`) are taken from it, each send with its own copy of an item that several read (the
    clinic, the month's usage), so that no send sees another's changes to it."""
    wanted = [(MODELS.get(kind, kind), hash_key, range_key) for kind, hash_key, range_key in keys]
    if pool is not None:
        shared = {(model.Meta.table_name, hash_key, range_key) for model, hash_key, range_key in wanted}
        own = {key: pool.take(key) for key in shared if key in pool.items}
        missing = [k for k in wanted if (k[0].Meta.table_name, k[1], k[2]) not in own]
        if missing:  # the pool failed or DynamoDB left them unprocessed: read now, or item by item if that fails
            own.update(pooled(missing).items)
        token = _prefetch.set(own)
        try:
            yield dict(own)
        finally:
            _prefetch.reset(token)
        return
    hand, guards = _in_hand.get(), []
    taken: dict[tuple[str, Any, Any], Model | None] = {}
    if hand is not None:
        for model, hash_key, range_key in wanted:
            key = (model.Meta.table_name, hash_key, range_key)
            if key in hand:
                taken[key] = item = hand.pop(key)
                guard = _guard(model, hash_key, range_key, item)
                if guard is not None:
                    guards.append(guard)
        wanted = [k for k in wanted if (k[0].Meta.table_name, k[1], k[2]) not in taken]
    try:
        items: dict[tuple[str, Any, Any], Model | None] = {**taken, **(batch_get(wanted) if wanted else {})}
    except ClientError as e:
        logger.warning("prefetch failed", extra={"code": e.response.get("Error", {}).get("Code")})
        items = taken
    token, guard_token = _prefetch.set(items), _guards.set(guards)
    try:
        yield dict(items)
    finally:
        _prefetch.reset(token)
        _guards.reset(guard_token)


@contextlib.contextmanager
def in_hand(fetched: Mapping[tuple[str, Any, Any], Model | None], written: Iterable[Any]) -> Iterator[None]:
    """With items a request read (`fetched`, as `prefetched` yielded them) and records it wrote (`written`, as
    stored: they win over what was read) in hand, for a `prefetched` inside to take instead of reading them,
    each once, guarded (the module docstring)."""
    hand: dict[tuple[str, Any, Any], Model | None] = dict(fetched)
    for record in written:
        model = to_model(record, MODELS[type(record)])
        hash_key, range_key = _keys(model)
        hand[(model.Meta.table_name, hash_key, range_key)] = model
    token = _in_hand.set(hand)
    try:
        yield
    finally:
        _in_hand.reset(token)


def known_absent(model: type[Model], hash_key: Any, range_key: Any = None) -> bool:
    """True when the send's first read found no such item; False when it found one or did not read it. Takes the
    item (once), so that a read of it later, after a write, asks the table."""
    items = _prefetch.get()
    key = (model.Meta.table_name, hash_key, range_key)
    return items is not None and key in items and items.pop(key) is None


def _copy(item: Model | None) -> Model | None:
    return None if item is None else type(item).from_raw_data(item.serialize())


def guards() -> list[Guard]:
    """The conditions the claim of the send running now checks: the items it took from the records in hand."""
    return list(_guards.get() or [])


def guards_checked() -> None:
    """The claim held with its guards: what the send was checked on is as in hand, nothing more to check."""
    found = _guards.get()
    if found is not None:
        found.clear()


def _keys(model: Model) -> tuple[Any, Any]:
    attributes = _key_attributes(type(model))
    values = [getattr(model, attribute.attr_name) for attribute in attributes]
    return values[0], values[1] if len(values) > 1 else None


def _guard(model: type[Model], hash_key: Any, range_key: Any, item: Model | None) -> Guard | None:
    """The condition that the item is still as in hand, for what a send's re-check decided on; None: nothing to
    guard (the month's usage: the claim counts it under the cap conditionally anyway)."""
    condition: Any
    if model is models.Reminder:
        assert isinstance(item, models.Reminder)
        condition = (models.Reminder.status == item.status) & (models.Reminder.owner_version == item.owner_version)
    elif model is models.Appointment:
        assert isinstance(item, models.Appointment)
        condition = (models.Appointment.version == item.version) & (models.Appointment.status == item.status)
    elif model is models.Clinic:
        assert isinstance(item, models.Clinic)
        condition = models.Clinic.status == item.status
    elif model is models.Patient:
        assert isinstance(item, models.Patient)
        condition = _same(models.Patient.phone, item.phone) & _same(models.Patient.email, item.email)
    elif model is models.Contact:
        opted_out = item.opted_out_at if isinstance(item, models.Contact) else None
        condition = _same(models.Contact.opted_out_at, opted_out)
    else:
        return None
    return model, hash_key, range_key, condition


def _same(attribute: Any, value: Any) -> Any:
    return attribute.does_not_exist() if value is None else attribute == value


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
