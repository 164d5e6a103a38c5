"""The local stack's AWS: moto's server app on 127.0.0.1, in a thread of this process, behind a gate.

It owns serving moto (as `moto.server.ThreadedMotoServer` does, with the same app and request handler) and two
things that class cannot do: every AWS request passes through the stack's `Gate`, so a snapshot of moto's state
(`infra/local/persistence.py`) is never taken in the middle of one; and after each request that may have changed
something it calls `on_change`, which is what schedules the next snapshot. The server binds in `start()`, on the
caller's thread, so a port another program holds is an error there rather than a dead server thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.faults import FaultSwitch

# Requests that only read (by operation name, for the JSON protocols' X-Amz-Target), and ReceiveMessage: the
# queue worker polls every second, and what a receive changes (a receive count, a visibility timeout) is
# worth no snapshot: lost, the message is simply received again.
_READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "ReceiveMessage")


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


class AwsServer:
    def __init__(
        self, host: str, port: int, gate: Gate, on_change: Callable[[], None], faults: FaultSwitch | None = None
    ) -> None:
        self._faults = faults  # the fault switch (infra/local/faults.py): refuses a share of the app's requests
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

        moto_app = DomainDispatcherApplication(create_backend_app)

        dynamodb = threading.Lock()

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            refused = self._faults.refuse(environ, start_response) if self._faults is not None else None
            if refused is not None:
                return refused  # as AWS refuses it: moto never sees it, so nothing changed
            # The whole answer is read inside the gate: moto may build it lazily from its state. DynamoDB requests
            # go one at a time: moto's TransactWriteItems checks, writes and rolls back (by restoring whole tables)
            # with no lock, so two at once can both pass a condition or undo each other's writes; DynamoDB's are
            # atomic. (The admin CLI and tests call moto from other processes, so the app's own lock is not enough.)
            serial = dynamodb if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_") else None
            with self._gate.work(), serial or contextlib.nullcontext():
                answer = moto_app(environ, start_response)
                try:
                    body = b"".join(answer)
                finally:
                    close = getattr(answer, "close", None)
                    if close is not None:
                        close()
            if may_change(environ):
                self._on_change()
            return [body]

        class Server(ThreadedWSGIServer):
            # werkzeug's default already; stated because a restart on the same port, at once, needs it.
            allow_reuse_address = True

        self._server = Server(self._host, self._port, app, MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="carecue-aws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
