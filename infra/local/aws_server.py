"""The local stack's AWS: moto's server app on 127.0.0.1, in a thread of this process, behind a gate.

It owns serving moto (as `moto.server.ThreadedMotoServer` does, with the same app and request handler) and three
things that class cannot do: every AWS request passes through the stack's `Gate`, so a snapshot of moto's state
(`infra/local/persistence.py`) is never taken in the middle of one; each request that may change something runs
one at a time, at an instant and from a seed of its own, and is appended to the journal (infra/local/journal.py)
before its answer leaves, and `replay` runs the journal's requests again at a start; and after each such request
it calls `on_change`, which is what schedules the next snapshot. The server binds in `start()`, on the
caller's thread, so a port another program holds is an error there rather than a dead server thread.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.local.journal import AwsRecord, Journal, install_moto_clock, moto_time, now_for_moto

if TYPE_CHECKING:
    from infra.local.faults import FaultSwitch

# Requests that only read (by operation name, for the JSON protocols' X-Amz-Target). Not ReceiveMessage: it makes
# receipt handles and moves visibility timeouts, which a replayed DeleteMessage needs (one that received nothing
# is not journaled: the queue worker polls every second).
_READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet")


class Gate:
    """Work in flight (requests, firings, jobs: any number at once) against quiet moments (a snapshot, the stop):
    `quiet()` waits until no work is in flight and holds new work off while it is held."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._busy = 0
        self._held = False

    @contextmanager
    def work(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._held)
            self._busy += 1
        try:
            yield
        finally:
            with self._changed:
                self._busy -= 1
                self._changed.notify_all()

    def idle(self, timeout: float) -> bool:
        """Waits until no work is in flight (True), or `timeout` seconds (False); holds nothing off."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout)

    @contextmanager
    def quiet(self, timeout: float | None = None) -> Iterator[bool]:
        """Yields True once nothing is in flight (False if `timeout` seconds pass first: nothing is held then)."""
        with self._changed:
            got = self._changed.wait_for(lambda: self._busy == 0 and not self._held, timeout)
            if got:
                self._held = True
        try:
            yield got
        finally:
            if got:
                with self._changed:
                    self._held = False
                    self._changed.notify_all()


def may_change(environ: dict[str, Any]) -> bool:
    """Whether an AWS request may change moto's state (a guess on the safe side: unknown ones may)."""
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        return False
    operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[-1]
    return not (operation and operation.startswith(_READS))


def _request_body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length:
        return bytes(stream.read(int(length)))
    return bytes(stream.read()) if environ.get("wsgi.input_terminated") else b""


def _recorded(environ: dict[str, Any]) -> dict[str, str]:
    """What of a WSGI environ a replay needs: its text entries (method, path, query, headers, server name)."""
    return {
        key: value
        for key, value in environ.items()
        if isinstance(value, str) and not key.startswith(("wsgi.", "werkzeug."))
    }


def operation_of(environ: dict[str, str], body: bytes) -> str:
    """A request's AWS operation, by its target header (JSON protocols) or its `Action` (query protocols, in the
    query string or the form body): `dynamodb.PutItem`, `sns.Publish`; `?` where neither names one."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, name = target.partition(".")
        service = "dynamodb" if prefix.startswith("DynamoDB") else prefix.split("_")[0].lower()
        return f"{service}.{name}"
    form = f"{environ.get('QUERY_STRING', '')}&{body[:200].decode('ascii', 'replace')}"
    action = re.search(r"(?:^|&)Action=([A-Za-z]+)", form)
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([a-z0-9-]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    service = scope[1] if scope else "?"  # the signature's credential scope names the service
    return f"{service}.{action[1]}" if action else f"{service}.{environ.get('REQUEST_METHOD', '?')}"


def _digest(status: str, body: bytes) -> str:
    return f"{status.split(' ', 1)[0]} {hashlib.blake2b(body, digest_size=12).hexdigest()}"


def _nothing_received(environ: dict[str, Any], body: bytes) -> bool:
    """An SQS ReceiveMessage that got no message changed nothing: the queue worker polls every second."""
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).endswith(".ReceiveMessage") and b'"Messages"' not in body


@dataclass
class Replay:
    requests: int = 0
    differed: int = 0  # answered otherwise than the first time (reported at start; see journal.py)
    # Which requests those were, by operation (`dynamodb.TransactWriteItems`, `sqs.ReceiveMessage`): their names only,
    # never their bodies, which hold patient data.
    differed_operations: list[str] = field(default_factory=list)


class AwsServer:
    def __init__(
        self,
        host: str,
        port: int,
        gate: Gate,
        on_change: Callable[[], None],
        faults: FaultSwitch | None = None,
        journal: Journal | None = None,
    ) -> None:
        self._faults = faults  # the fault switch (infra/local/faults.py): refuses a share of the app's requests
        self._journal = journal
        self._app: Any = None
        # Requests one at a time: DynamoDB's transactions are not atomic under threads (below), and a journaled
        # request must draw moto's random numbers alone to be replayable (every answer draws one: below).
        self._serial = threading.Lock()
        self._host = host
        self._port = port
        self._gate = gate
        self._on_change = on_change
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Binds the port (OSError if it is taken) and serves in a daemon thread."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import ThreadedWSGIServer

        install_moto_clock()  # before moto answers anything: journal.py
        moto_app = DomainDispatcherApplication(create_backend_app)
        self._app = moto_app

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            refused = self._faults.refuse(environ, start_response) if self._faults is not None else None
            if refused is not None:
                return refused  # as AWS refuses it: moto never sees it, so nothing changed
            # The whole answer is read inside the gate: moto may build it lazily from its state. DynamoDB requests
            # go one at a time: moto's TransactWriteItems checks, writes and rolls back (by restoring whole tables)
            # with no lock, so two at once can both pass a condition or undo each other's writes; DynamoDB's are
            # atomic. (The admin CLI and tests call moto from other processes, so the app's own lock is not enough.)
            # Every request, reads too, one at a time: moto draws each answer's request id from the one random
            # generator a journaled request is seeded from (`moto.utilities.aws_headers.gen_amzn_requestid_long`),
            # so a read answered during a write (the tick's ListSchedules beside a Publish) would change the ids the
            # write drew, and its replay would answer differently (seen under load as "1 answered differently").
            changes = may_change(environ)
            with self._gate.work(), self._serial:
                if not changes:
                    return [self._answer(environ, start_response)[1]]
                request_body = _request_body(environ)
                environ["wsgi.input"] = io.BytesIO(request_body)
                at, seed = now_for_moto(), secrets.randbits(64)
                with moto_time(at, seed):
                    status, body = self._answer(environ, start_response)
                if _nothing_received(environ, body):
                    return [body]
                if self._journal is not None:
                    # Before the answer leaves (JournalClosed, at the stop, makes it a 500: never answered).
                    self._journal.append(AwsRecord(at, seed, _recorded(environ), request_body, _digest(status, body)))
            self._on_change()
            return [body]

        class Server(ThreadedWSGIServer):
            # werkzeug's default already; stated because a restart on the same port, at once, needs it.
            allow_reuse_address = True

        self._server = Server(self._host, self._port, app, MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="carecue-aws", daemon=True)
        self._thread.start()

    def _answer(self, environ: dict[str, Any], start_response: Any) -> tuple[str, bytes]:
        """moto's answer, read whole (moto may build it lazily from its state), and its status line."""
        statuses: list[str] = []

        def started(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return (
                start_response(status, headers, exc_info) if exc_info is not None else start_response(status, headers)
            )

        answer = self._app(environ, started)
        try:
            body = b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        return (statuses[-1] if statuses else "200 OK"), body

    def replay(self, records: list[AwsRecord]) -> Replay:
        """Runs the journal's requests into moto again, in order, each at its instant and from its seed (at a
        start, before any other request)."""
        done = Replay()

        def ignore(status: str, headers: Any, exc_info: Any = None) -> None:
            return None

        with self._serial:
            for record in records:
                environ: dict[str, Any] = {
                    **record.environ,
                    "wsgi.input": io.BytesIO(record.body),
                    "wsgi.url_scheme": "http",
                    "wsgi.errors": io.StringIO(),
                    "wsgi.multithread": True,
                    "wsgi.multiprocess": False,
                    "wsgi.run_once": False,
                    "wsgi.version": (1, 0),
                }
                with moto_time(record.at, record.seed):
                    status, body = self._answer(environ, ignore)
                done.requests += 1
                if _digest(status, body) != record.answer:
                    done.differed += 1
                    done.differed_operations.append(operation_of(record.environ, record.body))
        return done

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
