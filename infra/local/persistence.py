"""The local stack's state on disk: in a data folder (default `.carecue-local/`), one snapshot file and the
write-ahead journal of what changed since (infra/local/journal.py); both are read at start, so a stopped stack
(Ctrl-C, SIGTERM, even `kill -9`) comes back with everything it had answered.

A snapshot holds moto's state for every AWS service CareCue uses (every DynamoDB table and item, the Scheduler
schedules, SSM parameters and secrets, the SQS queues and their messages, SNS and SES), the Scheduler
emulator's memory of what it fired, the outbox and the simulated clock. moto keeps each service's state as
plain Python objects (`moto.backends`, one backend per account and region) and has no persistence of its own;
its maintainers' advice is to pickle those objects (getmoto/moto#1069), which is what this does, in one pickle
so that objects shared between services stay shared. A few of moto's objects cannot be pickled as they are
(locks, a `defaultdict` whose factory is a lambda, SSM's `defaultdict` subclass): `_Pickler` writes them as
their fresh equivalents.

It does not own when a snapshot is taken (the local stack takes it at a quiet moment, between requests, so a
snapshot never holds half a request) nor what the stack does with it. Writing is atomic (a temporary file,
fsync, rename): a `kill -9` leaves the previous snapshot or the new one, never a torn file. A snapshot only
compacts the journal (the segments it covers are deleted once it is on disk): every answered change is in the
journal already, so nothing waits for a snapshot, not even the stop. A pickle is only as
stable as the moto and Python versions that wrote it: a snapshot from other versions is refused with a hint to
start empty (`--reset`), never half read.
"""

from __future__ import annotations

import copyreg
import functools
import io
import os
import pickle  # noqa: S403 - only files this stack wrote itself, in a folder of the user's own, are read
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from infra.local.journal import AwsRecord, Journal, StackRecord, read_records, segments

FORMAT = 1
SNAPSHOT = "state.pickle"
LOCK = "lock"
# The services CareCue calls (composition.py, provision.py); anything else in moto is not CareCue's state.
SERVICES = ("dynamodb", "scheduler", "ssm", "sqs", "sns", "ses", "sesv2")

_LOCKS: dict[type, Callable[[], Any]] = {
    type(threading.Lock()): threading.Lock,
    type(threading.RLock()): threading.RLock,
}


class DataError(RuntimeError):
    """The data folder cannot be used: another stack holds it, or its snapshot is from other versions."""


@dataclass
class Snapshot:
    moto: dict[str, list[tuple[str, str, Any]]]  # service: [(account, region, backend)]
    scheduler: dict[str, Any]  # the emulator's memory
    outbox: list[dict[str, Any]]
    clock: dict[str, Any]
    versions: dict[str, Any] = field(default_factory=lambda: versions())
    journal_segment: int = 0  # the last journal segment whose changes it holds


def versions() -> dict[str, Any]:
    import moto

    return {"format": FORMAT, "moto": moto.__version__, "python": list(sys.version_info[:2])}


def moto_state() -> dict[str, list[tuple[str, str, Any]]]:
    from moto.backends import get_backend

    state: dict[str, list[tuple[str, str, Any]]] = {}
    for service in SERVICES:
        backends: Any = get_backend(service)  # type: ignore[call-overload]
        state[service] = [(account, region, backend) for account, region, backend in backends.iter_backends()]
    return state


def restore_moto(state: dict[str, list[tuple[str, str, Any]]]) -> None:
    """Puts the backends back into moto's own BackendDicts, which moto's responses look them up in."""
    from moto.backends import get_backend

    for service, entries in state.items():
        backends: Any = get_backend(service)  # type: ignore[call-overload]
        for account, region, backend in entries:
            dict.__setitem__(backends[account], region, backend)


def dumps(snapshot: Snapshot) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer).dump(snapshot)
    return buffer.getvalue()


class DataFolder:
    """The folder a stack keeps its state in, held by one stack at a time (an exclusive lock on `lock`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: IO[bytes] | None = None
        self.journal: Journal | None = None  # appended to from the start on
        self.to_replay: list[AwsRecord] = []  # the journal's AWS requests after the snapshot, for moto
        self.replayed_changes = 0  # the stack's own changes folded into the snapshot returned
        self.torn = 0  # journal files that ended in a torn record (ignored)

    def open(self, reset: bool) -> Snapshot | None:
        """Takes the folder (DataError if another stack has it) and returns its state, or None when there is
        none or `reset` asks to start empty (the old snapshot and journal are then removed). The state is the
        snapshot with the journal's own changes of the stack folded in; the journal's AWS requests are left in
        `to_replay` for moto, and `journal` is open on a new segment."""
        import fcntl

        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = (self.path / LOCK).open("wb")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise DataError(f"{self.path} is in use by another local stack; stop it or choose --data DIR") from None
        try:
            snapshot = self._read(reset)
        except DataError:
            self._lock.close()  # the stack does not start: the folder is free again
            raise
        covered = snapshot.journal_segment if snapshot is not None else 0
        found = segments(self.path)
        if reset:
            for _, path in found:
                path.unlink()
            found = []
        for number, path in found:
            if number <= covered:
                path.unlink()  # already in the snapshot: a crash came between its rename and the compaction
        read = read_records([path for number, path in found if number > covered])
        self.torn = read.torn
        snapshot = self._fold(snapshot, read.records)
        self.journal = Journal(self.path, max([covered, *(number for number, _ in found)]) + 1)
        return snapshot

    def _fold(self, snapshot: Snapshot | None, records: list[AwsRecord | StackRecord]) -> Snapshot | None:
        """The snapshot with the journal's stack records applied (in order) and its AWS records set aside."""
        from infra.local.scheduler_emulator import apply_memory_changes

        own = [record for record in records if isinstance(record, StackRecord)]
        self.to_replay = [record for record in records if isinstance(record, AwsRecord)]
        clocks = [record.clock for record in own if record.clock is not None]
        if snapshot is None:
            if not clocks:
                # Killed before its start was journaled (the start's own record is its first): nothing answered.
                self.to_replay = []
                return None
            snapshot = Snapshot({}, {"schedules": {}, "reached": None, "retries": []}, [], clocks[0])
        for record in own:
            snapshot.outbox.extend(record.outbox)
            if record.scheduler is not None:
                apply_memory_changes(snapshot.scheduler, record.scheduler)
        if clocks:
            snapshot.clock = clocks[-1]
        self.replayed_changes = len(own)
        return snapshot

    def _read(self, reset: bool) -> Snapshot | None:
        snapshot_file = self.path / SNAPSHOT
        if reset:
            snapshot_file.unlink(missing_ok=True)
            return None
        if not snapshot_file.exists():
            return None
        try:
            loaded = pickle.loads(snapshot_file.read_bytes())  # noqa: S301 - see the import
        except Exception as e:
            raise DataError(f"{snapshot_file} cannot be read ({type(e).__name__}); --reset starts empty") from None
        if not isinstance(loaded, Snapshot) or loaded.versions != versions():
            saved = loaded.versions if isinstance(loaded, Snapshot) else "unknown versions"
            raise DataError(
                f"{snapshot_file} was saved by {saved}, this is {versions()}; --reset starts empty (it is not read)"
            )
        return loaded

    def write(self, data: bytes) -> None:
        target = self.path / SNAPSHOT
        partial = self.path / f"{SNAPSHOT}.partial"
        with partial.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
        directory = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash of the machine too
        finally:
            os.close(directory)


# A snapshot holds requests off while it captures (pickles) the state, which grows with it: at 1,000 bookings a
# capture took 0.8 to 1.8 s on the loaded 2-core machine. The next one waits SPACING_FACTOR times as long as the
# last took (at most MAX_SPACING_SECONDS, reached only by a capture of 15 s), so requests are held off at most
# 1 / (1 + SPACING_FACTOR) of the time. Nothing is lost meanwhile (the journal has it); the spacing bounds the
# journal a start replays, and so does JOURNAL_MAX_BYTES: past it the next snapshot is taken without waiting.
SPACING_FACTOR = 4.0
MAX_SPACING_SECONDS = 60.0
# ...and at least this long: a snapshot after every small change would only rewrite the journal's work.
MIN_SPACING_SECONDS = 5.0
JOURNAL_MAX_BYTES = 2 * 1024 * 1024  # about 900 records: a start replayed 574 in some 35 s at 7,700 bookings (load ~7)


@dataclass
class SnapshotStats:
    taken: int = 0
    last_bytes: int = 0
    last_capture_ms: float = 0.0  # time requests were held off
    last_total_ms: float = 0.0  # capture and write
    total_ms: float = 0.0


class Snapshotter:
    """Writes a snapshot in a background thread after each change it is told of; changes that come while one is
    being written are all in the next one, so a busy minute costs a snapshot per write, not one per request."""

    def __init__(
        self,
        folder: DataFolder,
        capture: Callable[[], tuple[bytes, int]],
        after_write: Callable[[], object] | None = None,
    ) -> None:
        """`capture` gives a snapshot and the last journal segment it covers (deleted once it is written);
        `after_write` is called once each snapshot the thread took is written and its bytes are let go."""
        self._folder = folder
        self._capture = capture
        self._after_write = after_write
        self._changed = threading.Condition()
        self._dirty = False
        self._writing = False
        self._stopped = False
        self._wanted = False  # someone waits for the save: no spacing
        self._spacing = 0.0  # seconds before the next snapshot: SPACING_FACTOR times what the last one took
        self.stats = SnapshotStats()
        self._thread = threading.Thread(target=self._run, name="carecue-snapshots", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def changed(self) -> None:
        journal = self._folder.journal
        with self._changed:
            self._dirty = True
            if journal is not None and journal.bytes > JOURNAL_MAX_BYTES:
                self._wanted = True  # a long journal makes a slow start: compact it now
            self._changed.notify_all()

    @property
    def folder(self) -> Path:
        return self._folder.path

    def wait_saved(self, timeout: float) -> bool:
        """True once every change told so far is on disk (the next snapshot is taken at once, not spaced)."""
        with self._changed:
            if timeout > 0 and self._dirty:
                self._wanted = True
                self._changed.notify_all()
            return self._changed.wait_for(lambda: not self._dirty and not self._writing, timeout)

    def stop(self) -> None:
        """No snapshot is started by the thread from now on. One it is writing is not waited for: the process may
        end in the middle of it (the previous snapshot and the journal stay whole, journal.py)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._dirty or self._stopped)
                if self._stopped:
                    return
                # Spaced by a multiple of what the last one cost, so that on a large state snapshots hold requests
                # off a bounded share of the time (each one holds them for its capture); a caller waiting for the
                # save (`wait_saved`, the stop) cuts the spacing short.
                self._changed.wait_for(lambda: self._stopped or self._wanted, self._spacing)
                if self._stopped:
                    return
                self._dirty = False
                self._writing = True
            try:
                started = time.perf_counter()
                data, covered = self._capture()
                captured = (time.perf_counter() - started) * 1000
                self._folder.write(data)
                if self._folder.journal is not None:
                    self._folder.journal.drop_through(covered)
                self._count(len(data), captured, started)
                del data  # before `after_write`: the local stack gives the allocator's free memory back there
                if self._after_write is not None:
                    self._after_write()
                spent = time.perf_counter() - started
                self._spacing = min(MAX_SPACING_SECONDS, max(MIN_SPACING_SECONDS, SPACING_FACTOR * spent))
            finally:
                with self._changed:
                    self._writing = False
                    self._wanted = self._wanted and self._dirty
                    self._changed.notify_all()

    def _count(self, size: int, captured_ms: float, started: float) -> None:
        total = (time.perf_counter() - started) * 1000
        self.stats.taken += 1
        self.stats.last_bytes = size
        self.stats.last_capture_ms = captured_ms
        self.stats.last_total_ms = total
        self.stats.total_ms += total


def _new_defaultdict(cls: type[defaultdict[Any, Any]], factory: Any) -> defaultdict[Any, Any]:
    made = defaultdict.__new__(cls)
    defaultdict.__init__(made, factory)
    return made


def _picklable_factory(factory: Any) -> Any:
    """A factory pickle can write: a lambda such as SSM's `lambda: defaultdict(dict)` is rewritten by what it
    makes."""
    if factory is None or getattr(factory, "__qualname__", "").count("<") == 0:
        return factory
    sample = factory()
    if isinstance(sample, defaultdict) and type(sample) is defaultdict:
        return functools.partial(defaultdict, _picklable_factory(sample.default_factory))
    if type(sample) in (dict, list, set):
        return type(sample)
    raise pickle.PicklingError(f"cannot write a defaultdict made by {factory!r}")


def _fresh(make: Callable[[], Any], obj: Any) -> Any:
    return make, ()


def _reduce_defaultdict(obj: defaultdict[Any, Any]) -> Any:
    state = getattr(obj, "__dict__", None) or None
    return _new_defaultdict, (type(obj), _picklable_factory(obj.default_factory)), state, None, iter(obj.items())


def _subclasses(cls: type) -> list[type]:
    found = [cls]
    subclass: type
    for subclass in cls.__subclasses__():
        found += _subclasses(subclass)
    return found


class _Pickler(pickle.Pickler):
    """pickle's own Pickler with a few more types in its dispatch table (by exact type, so the C pickler stays
    fast for every other object: a hook called for each object made a snapshot several times slower)."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        table: dict[type, Callable[[Any], Any]] = dict(copyreg.dispatch_table)
        # A lock is held by no one in a snapshot taken at a quiet moment: a fresh one stands for it.
        for lock_type, fresh in _LOCKS.items():
            table[lock_type] = functools.partial(_fresh, fresh)
        table[threading.Condition] = functools.partial(_fresh, threading.Condition)
        table[threading.Event] = functools.partial(_fresh, threading.Event)
        # moto's defaultdict subclasses (SSM's ParameterDict) take other arguments than a factory.
        for cls in _subclasses(defaultdict):
            table[cls] = _reduce_defaultdict
        # Each DynamoDB item through a line of Python: the C pickler otherwise holds the GIL for the whole
        # capture (seconds on a large state), and the stop's own thread could not run until it ended.
        from moto.dynamodb.models.dynamo_type import Item

        table[Item] = _reduce_yielding
        self.dispatch_table = table


def _reduce_yielding(obj: Any) -> Any:
    """What pickle does by default for `obj`, from Python code, where the interpreter lets other threads run."""
    return obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
