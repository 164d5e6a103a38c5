"""How the local stack keeps moto's reads from walking (and sorting) everything it holds: what made each booking cost
more than the one before (docs/reliability.md, "Memory and shutdown").

Two reads in moto 5.2 cost time in proportion to everything stored, none of it CareCue's doing:

- **A DynamoDB Query sorts the whole table first.** `Table.query` starts from `Table.all_items()`, which lists
  every item of the table and sorts them all by key with Python-level comparisons of moto's `DynamoType`s, and
  only then keeps the items of the hash key asked for (or, on an index, the items whose index key matches). A
  booking queries the reminders table by appointment: at 10,000 bookings that sorted some 30,000 items for the 3
  it wanted. `LocalTable` runs moto's own `Table.query` (its checks, filters, sort, paging, projection, errors)
  on a view of the table whose `all_items()` is only the candidates: the items stored under that hash key for a
  query on the table, every item unsorted for a query on an index (moto sorts the matches by their full key
  afterwards, which orders them uniquely, so the order it was handed does not matter).
- **A Scheduler ListSchedules page lists, sorts and searches every schedule.** moto builds the whole listing,
  newest first, for each page and then walks it to find the page's token, so listing S schedules in pages of 50
  cost S²/50 steps: at 20,000 schedules (10,000 bookings) one listing, which the Scheduler emulator made on every
  tick and after every firing, would be 400 requests each building, sorting and walking all 20,000.
  `LocalSchedulerBackend` keeps the listing it built until a schedule or a group is created, changed or deleted,
  and finds a page's token by a lookup: the same pages and the same tokens as moto's. It counts those writes, too
  (`scheduler_writes`): the emulator lists again after a firing only if someone wrote.

`speed_up(dynamodb, scheduler)` applies both; `infra/local/moto_memory.bound` calls it with moto's bounds. Nothing
here is in the Lambda package, and the tests' in-process moto is left as it is.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.scheduler.models import EventBridgeSchedulerBackend
from moto.utilities.paginator import Paginator


class LocalTable(Table):
    """moto's Table, its queries started from the candidate items only (module docstring)."""

    def query(
        self,
        hash_key: DynamoType | None,
        range_comparison: str | None,
        range_objs: list[DynamoType],
        limit: int,
        exclusive_start_key: dict[str, Any],
        scan_index_forward: bool,
        projection_expressions: list[list[str]] | None,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[list[Item], int, dict[str, Any] | None]:
        view = _Candidates(self, None if index_name else hash_key)
        return Table.query(
            view,  # type: ignore[arg-type]
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            *args,
            **kwargs,
        )


class _Candidates:
    """The table as `Table.query` reads it, `all_items()` being the items it may return: those under `hash_key`
    (sorted by range key, as moto's listing is), or every item in storage order when no hash key narrows it.
    Everything else is the table's own."""

    def __init__(self, table: Table, hash_key: DynamoType | None) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Item]:
        table = self._table
        if self._hash_key is None:
            if table.range_key_attr:
                return [item for by_range in table.items.values() for item in by_range.values()]
            return list(table.items.values())  # type: ignore[arg-type]
        stored: Any = table.items.get(self._hash_key)
        if stored is None:
            return []
        if table.range_key_attr:
            return sorted(stored.values(), key=lambda item: item.range_key)
        return [stored]


class LocalSchedulerBackend(EventBridgeSchedulerBackend):
    """moto's Scheduler, its ListSchedules listing built once per change and paged by lookup (module docstring)."""

    @property
    def _url_module(self) -> Any:
        # moto finds a backend's URL table next to the module its class is defined in: Scheduler's, not this one.
        from moto.scheduler import urls

        return urls

    def _changed(self) -> None:
        # Requests are served on threads of their own, Scheduler's not one at a time: no write may go uncounted.
        with _WRITES_LOCK:
            self.__dict__["_local_changes"] = self.__dict__.get("_local_changes", 0) + 1

    def create_schedule(self, *args: Any, **kwargs: Any) -> Any:
        self._changed()
        return super().create_schedule(*args, **kwargs)

    def update_schedule(self, *args: Any, **kwargs: Any) -> Any:
        self._changed()
        return super().update_schedule(*args, **kwargs)

    def delete_schedule(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().delete_schedule(*args, **kwargs)

    def create_schedule_group(self, *args: Any, **kwargs: Any) -> Any:
        self._changed()
        return super().create_schedule_group(*args, **kwargs)

    def delete_schedule_group(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().delete_schedule_group(*args, **kwargs)

    def list_schedules(self, *args: Any, **kwargs: Any) -> tuple[list[Any], str | None]:
        """As moto's `@paginate`d ListSchedules: the same arguments, pages and tokens."""
        config: dict[str, Any] = self.PAGINATION_MODEL["list_schedules"]
        token = kwargs.pop(config["input_token"], None)
        limit = kwargs.pop(config["limit_key"], None)
        # The listing depends on the arguments and on the schedules; a change anywhere (counted, and the number of
        # schedules as a check on any change made around these methods) builds it again.
        count = sum(len(group.schedules) for group in self.schedule_groups.values())
        key = (self.__dict__.get("_local_changes", 0), count, repr(args), repr(sorted(kwargs.items())))
        cached = self.__dict__.get("_local_listing")
        if cached is None or cached[0] != key:
            listed = _unpaginated(EventBridgeSchedulerBackend.list_schedules)(self, *args, **kwargs)
            cached = (key, listed, {schedule.arn: index for index, schedule in reversed(list(enumerate(listed)))})
            self.__dict__["_local_listing"] = cached
        paginator = _IndexedPaginator(
            cached[2],
            max_results=limit,
            max_results_default=config.get("limit_default"),
            starting_token=token,
            unique_attribute=config.get("unique_attribute"),
            param_values_to_check=copy.deepcopy(kwargs),
            fail_on_invalid_token=config.get("fail_on_invalid_token", True),
        )
        return paginator.paginate(cached[1])

    def __getstate__(self) -> dict[str, Any]:
        # The listing is rebuilt from the schedules: a snapshot need not carry a second list of them.
        state = dict(self.__dict__)
        state.pop("_local_listing", None)
        return state


_WRITES_LOCK = threading.Lock()


def scheduler_writes() -> int:
    """How many writes moto's Scheduler has taken, in every account and region, since the local stack bound it
    (counted whether they succeeded or not): what the Scheduler emulator checks before listing again."""
    from moto.backends import get_backend

    with _WRITES_LOCK:
        return sum(
            backend.__dict__.get("_local_changes", 0) for _, _, backend in get_backend("scheduler").iter_backends()
        )


def _unpaginated(method: Any) -> Any:
    """The function moto's `@paginate` wraps (functools.wraps keeps it as `__wrapped__`)."""
    return method.__wrapped__


class _IndexedPaginator(Paginator):
    """moto's Paginator, finding the item a token names by a lookup of its unique attribute, not a walk."""

    def __init__(self, positions: dict[str, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._positions = positions

    def paginate(self, results: list[Any]) -> tuple[list[Any], str | None]:
        from moto.core.exceptions import InvalidToken

        index_start = 0
        if self._starting_token:
            parsed = self._parsed_token
            found = None if parsed is None else self._positions.get(str(parsed.get("uniqueAttributes")))
            if found is None:
                # moto's walk found no item that matches: the same outcome
                if self._fail_on_invalid_token:
                    raise InvalidToken("Resource not found!")
                return [], None
            index_start = found
        index_end = min(index_start + self._max_results, len(results))
        page = results[index_start:index_end]
        next_token = None
        if page and index_end < len(results):
            next_token = self._build_next_token(results[index_end])
        return page, next_token


def speed_up(dynamodb: Any, scheduler: Any) -> None:
    """Every table of every DynamoDB backend queries through `LocalTable`; every Scheduler backend lists through
    `LocalSchedulerBackend`. Tables created later are made `LocalTable`s by the local DynamoDB backend."""
    for _, _, backend in dynamodb.iter_backends():
        for table in backend.tables.values():
            if type(table) is Table:
                table.__class__ = LocalTable  # type: ignore[type-abstract]
    for _, _, backend in scheduler.iter_backends():
        if type(backend) is EventBridgeSchedulerBackend:
            backend.__class__ = LocalSchedulerBackend
