"""The local stack's API Gateway answers: what chalice.local refuses by itself (no API key, a wrong one, a path
with no route, an authorizer that broke) and a body over API Gateway's 10 MB limit, answered from the table the
AWS template's gateway responses come from (chalicelib/edge/gateway.py), so both say the same.

Also its access log: one line per request with the request line's secrets taken out (infra/local/access_log.py).
chalice.local builds its own error bodies and one quotes the request's Authorization header (the API key) for
a path with no route; they are never sent: only the table's fixed words are.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    InvalidAuthorizerError,
    LocalDevServer,
    LocalGatewayException,
    NotAuthorizedError,
)

from chalicelib.edge.gateway import (
    ACCESS_DENIED,
    AUTHORIZER_CONFIGURATION_ERROR,
    DEFAULT_4XX,
    DEFAULT_5XX,
    GATEWAY_MAX_BODY_BYTES,
    MISSING_AUTHENTICATION_TOKEN,
    REQUEST_TOO_LARGE,
    THROTTLED,
    UNAUTHORIZED,
    GatewayAnswer,
)
from infra.local.access_log import AccessLog

_DISCARD_CHUNK_BYTES = 64 * 1024


class TokenBucket:
    """API Gateway's throttle: `rate` requests a second on average, `burst` at once; thread-safe (the HTTP front
    serves each connection in a thread). A request over it is answered 429 before the app sees it."""

    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._now = rate, float(burst), now
        self._tokens, self._at = float(burst), now()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            moment = self._now()
            self._tokens = min(self._burst, self._tokens + (moment - self._at) * self._rate)
            self._at = moment
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


def answer_for(error: LocalGatewayException) -> GatewayAnswer:
    """The gateway response API Gateway would give where chalice.local raised `error`."""
    if isinstance(error, NotAuthorizedError):
        return UNAUTHORIZED
    if isinstance(error, ForbiddenError):
        # chalice.local raises ForbiddenError both for a denying authorizer and for a path with no route; its
        # x-amzn-ErrorType header tells the two apart, as API Gateway's own does.
        if error.headers.get("x-amzn-ErrorType") == "AccessDeniedException":
            return ACCESS_DENIED
        return MISSING_AUTHENTICATION_TOKEN
    if isinstance(error, InvalidAuthorizerError):
        return AUTHORIZER_CONFIGURATION_ERROR
    return DEFAULT_5XX if error.CODE >= 500 else DEFAULT_4XX


class EnvelopeRequestHandler(ChaliceRequestHandler):
    """chalice.local's request handler, its gateway errors answered in the app's error envelope."""

    def __init__(self, *args: Any, access_log: AccessLog, throttle: TokenBucket, **kwargs: Any) -> None:
        self._access_log = access_log  # before the base class's __init__, which handles the request
        self._throttle = throttle
        super().__init__(*args, **kwargs)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        answer = answer_for(error)
        self._send_answer(answer, answer.status or error.CODE, error.headers)

    def _send_answer(self, answer: GatewayAnswer, status: int, headers: dict[str, Any]) -> None:
        body = json.dumps(answer.body()).encode("utf-8")
        self._send_http_response(status, {**headers, "Content-Type": "application/json"}, body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log_message('"%s" %s %s', self._access_log.request_line(self.requestline), str(code), str(size))

    def log_error(self, format: str, *args: Any) -> None:
        # http.server's error lines quote the raw request line ("Bad request syntax (...)"): the code only.
        self.log_message("error %s", str(args[0]) if args else "-")

    def _handle_within_gateway_limits(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        throttled = not self.path.startswith("/_local/") and not self._throttle.take()
        if length > GATEWAY_MAX_BODY_BYTES or throttled:
            # Read and dropped, not left unread: a socket closed on unread bytes resets, and the caller would see
            # a broken connection instead of the 413.
            while length > 0:
                chunk = self.rfile.read(min(length, _DISCARD_CHUNK_BYTES))
                if not chunk:
                    break
                length -= len(chunk)
            answer = THROTTLED if throttled else REQUEST_TOO_LARGE
            self._send_answer(answer, answer.status or (429 if throttled else 413), {})
            return
        try:
            self._generic_handle()
        except UnicodeEncodeError:
            # chalice.local quotes the Authorization header in ASCII for a path with no route; a header with
            # other characters made it drop the connection. API Gateway answers such a path with its 404.
            self._send_answer(MISSING_AUTHENTICATION_TOKEN, MISSING_AUTHENTICATION_TOKEN.status or 404, {})

    # ChaliceRequestHandler binds its do_* names to its own _generic_handle: they are bound again here.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle_within_gateway_limits

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, …) is answered as API Gateway would, in the envelope, never with
        # http.server's own 501 page.
        if name.startswith("do_"):
            return self._handle_within_gateway_limits
        raise AttributeError(name)


def answer_in_envelope(server: LocalDevServer, app: Chalice, config: Config, throttle: TokenBucket) -> None:
    """Makes `server` (from chalice.local.create_local_server) handle each request with EnvelopeRequestHandler.

    Called once every route is on `app` (the local stack's own included), so the access log knows them all."""
    access_log = AccessLog(app.routes)
    server.server.RequestHandlerClass = functools.partial(
        EnvelopeRequestHandler, app_object=app, config=config, access_log=access_log, throttle=throttle
    )
