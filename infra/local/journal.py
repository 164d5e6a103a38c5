"""The local stack's write-ahead journal: what changed since the last snapshot, appended before it is answered, so
that a restart is the last snapshot plus the journal replayed, and a `kill -9` loses at most the request that was
being answered (never one that was answered).

Two kinds of record, in the order they happened:

- `AwsRecord`: one request the stack's moto server took that may change moto's state (every request but the
  reads, `aws_server.may_change`), as the server received it (method, path, headers, body), with the real instant
  it ran at and the seed moto's random numbers were drawn from, and a digest of moto's answer. Replayed into the
  same moto (the snapshot's, bounded the same way) at that instant and from that seed, it gives the same answer:
  moto draws every id it makes (message ids, receipt handles, request ids) from one seedable `Random`
  (`moto.moto_api._internal.mock_random`), and reads the time through `moto.core.utils.utcnow`, which
  `hold_moto_time` makes answer the request's own instant while it runs (a schedule's CreationDate, which the
  Scheduler emulator tells versions apart by, an SQS message's visibility). Every request runs alone, reads too
  (aws_server.py: each answer draws its request id from that `Random`), so no other request draws from the seed
  meanwhile. A replayed answer that differs from the original is counted and reported at start
  (`Replay.differed`, with the operations' names), never silently accepted.
- `StackRecord`: what the stack itself changed (the simulated clock, the messages the outbox took, what the
  Scheduler emulator remembered or forgot), written after each request the HTTP front answers and after each
  tick of the timers: never bigger than the change.

Why requests rather than pickled per-request deltas of moto's state: moto tracks no changes, so a delta would
mean pickling whole backends or tables again (a booking's transaction touches three tables, which grow with every
booking), while a request is a few kilobytes whatever the state's size and moto itself knows how to apply it.

Framing: each record is `length (4 bytes) | crc32 (4 bytes) | pickle`, written with one `os.write` on a file
opened with O_APPEND. A record whose length runs past the end of its file or whose checksum is wrong (a `kill -9`
mid-write) ends that file's reading and is ignored, never fatal; each start appends to a new file, so a torn tail
is never followed by good records in the same file.

Durability: a record is in the kernel's page cache once `append` returns, before moto's answer leaves, so it
survives a `kill -9` (or any crash) of the process. `sync` (fdatasync) makes what was appended survive a crash of
the machine: the stack calls it before the HTTP front answers, at each tick and at the stop; so an answered API
request survives a power loss too, while a request another process made straight to the local AWS (the admin
command line) survives one from the next sync on (at most a tick, a second or so, later).

Segments and compaction: the journal is files `journal.000001`, `journal.000002`, ... A snapshot is taken at a
quiet moment; right then the journal moves to a new segment (`rotate`), and the snapshot names the last segment
it covers. Once the snapshot is on disk (atomically renamed), the segments it covers are deleted (`drop_through`);
a start reads only the segments after the one its snapshot names, so a crash between the two steps replays
nothing twice.
"""

from __future__ import annotations

import datetime as _datetime
import os
import pickle  # noqa: S403 - only files this stack wrote itself, in a folder of the user's own, are read
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEGMENT_PREFIX = "journal."
_SEGMENT = re.compile(r"^journal\.(\d{6})$")
_HEADER = struct.Struct(">II")  # length, crc32


@dataclass(frozen=True)
class AwsRecord:
    at: _datetime.datetime  # naive UTC, as moto's utcnow gives it
    seed: int
    environ: dict[str, str]  # the WSGI environ's text entries (method, path, query, headers)
    body: bytes
    answer: str  # status and digest of moto's answer


@dataclass(frozen=True)
class StackRecord:
    clock: dict[str, Any] | None  # the clock's state, when it moved
    outbox: list[dict[str, Any]]  # messages the outbox took since the last record
    scheduler: dict[str, Any] | None  # the emulator's memory changes (SchedulerEmulator.memory_changes)


class JournalClosed(RuntimeError):
    """The stack is stopping: nothing more is journaled, so nothing more may be answered."""


def segment_name(number: int) -> str:
    return f"{SEGMENT_PREFIX}{number:06d}"


def segments(folder: Path) -> list[tuple[int, Path]]:
    """The journal's files in `folder`, oldest first."""
    found = []
    for path in folder.iterdir():
        matched = _SEGMENT.match(path.name)
        if matched:
            found.append((int(matched[1]), path))
    return sorted(found)


def frame(record: AwsRecord | StackRecord) -> bytes:
    payload = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


@dataclass
class Read:
    records: list[AwsRecord | StackRecord]
    torn: int  # files whose last record was torn (and ignored)


def read_records(paths: list[Path]) -> Read:
    """Every whole record of `paths`, in order; a torn or corrupt record ends its file's reading."""
    records: list[AwsRecord | StackRecord] = []
    torn = 0
    for path in paths:
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            if offset + _HEADER.size > len(data):
                torn += 1
                break
            length, crc = _HEADER.unpack_from(data, offset)
            payload = data[offset + _HEADER.size : offset + _HEADER.size + length]
            if len(payload) != length or zlib.crc32(payload) != crc:
                torn += 1
                break
            try:
                record = pickle.loads(payload)  # noqa: S301 - see the import
            except Exception:
                torn += 1
                break
            records.append(record)
            offset += _HEADER.size + length
    return Read(records, torn)


class Journal:
    """The segment being appended to, in a data folder whose older segments the caller has read."""

    def __init__(self, folder: Path, first_segment: int) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._segment = first_segment
        self._fd: int | None = self._open(first_segment)
        self._unsynced = False
        self.records = 0  # since the last rotation: what a snapshot would compact
        self.bytes = 0

    def _open(self, number: int) -> int:
        fd = os.open(self._folder / segment_name(number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _sync_directory(self._folder)  # the new file's name survives a crash of the machine
        return fd

    def append(self, record: AwsRecord | StackRecord) -> None:
        data = frame(record)
        with self._lock:
            if self._fd is None:
                raise JournalClosed("the local stack is stopping")
            os.write(self._fd, data)
            self._unsynced = True
            self.records += 1
            self.bytes += len(data)

    def sync(self) -> None:
        with self._lock:
            if self._fd is not None and self._unsynced:
                os.fdatasync(self._fd)
                self._unsynced = False

    def rotate(self) -> int:
        """Starts the next segment (at a quiet moment: a snapshot is being captured) and returns the number of
        the one closed, which that snapshot covers."""
        with self._lock:
            if self._fd is None:
                raise JournalClosed("the local stack is stopping")
            os.fsync(self._fd)
            os.close(self._fd)
            covered = self._segment
            self._segment += 1
            self._fd = self._open(self._segment)
            self._unsynced = False
            self.records = 0
            self.bytes = 0
            return covered

    def drop_through(self, covered: int) -> None:
        """Deletes the segments a snapshot now on disk covers."""
        for number, path in segments(self._folder):
            if number <= covered:
                path.unlink(missing_ok=True)
        _sync_directory(self._folder)

    def close(self) -> None:
        """Synced and closed: an append after this raises JournalClosed (its request is not answered)."""
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None


def _sync_directory(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# moto's time, held at one request's instant while that request runs (on its thread only), so that its replay
# stamps the same times.
_held = threading.local()
_real_utcnow: Callable[[], _datetime.datetime] | None = None


def _moto_utcnow() -> _datetime.datetime:
    at: _datetime.datetime | None = getattr(_held, "at", None)
    if at is not None:
        return at
    return _datetime.datetime.now(_datetime.UTC).replace(tzinfo=None)


def install_moto_clock() -> None:
    """Makes moto read the time through `_moto_utcnow`: `moto.core.utils.utcnow` (which unix_time and the ISO
    helpers call) and every moto module's own imported name for it. Idempotent."""
    global _real_utcnow
    import sys

    import moto.core.utils as utils

    if _real_utcnow is None:
        _real_utcnow = utils.utcnow
    for name, module in list(sys.modules.items()):
        if (name == "moto" or name.startswith("moto.")) and getattr(module, "utcnow", None) is _real_utcnow:
            setattr(module, "utcnow", _moto_utcnow)  # noqa: B010 - a module attribute mypy does not know


@contextmanager
def moto_time(at: _datetime.datetime, seed: int) -> Iterator[None]:
    """moto's clock held at `at` on this thread, and its random numbers drawn from `seed`, for one request."""
    from moto.moto_api._internal import mock_random

    mock_random.seed(seed)
    _held.at = at
    try:
        yield
    finally:
        _held.at = None


def now_for_moto() -> _datetime.datetime:
    return _datetime.datetime.now(_datetime.UTC).replace(tzinfo=None)
