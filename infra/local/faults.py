"""The local stack's fault switch: a share of the app's calls to an AWS service fail as that service fails.

`CARECUE_FAULTS="scheduler=0.3,sns=0.3,dynamodb=0.1"` (also `ses`, `ssm`; `--faults` on `python -m infra.local`,
`make run FAULTS=...`) makes that share of the requests CareCue sends to each service fail before moto sees them,
with the answers AWS gives when it throttles or has an outage, in each service's own wire protocol (JSON 1.0 for
DynamoDB, JSON 1.1 for SSM, REST-JSON for Scheduler, the Query protocol's XML for SNS and SES), so botocore raises
the ClientError it raises on AWS, and its own retries absorb some of them as they do on AWS.
`CARECUE_FAULTS_SEED` (`--faults-seed`) seeds the draw, for a run that fails the same calls again (the stack runs
one invocation at a time, so the same requests in the same order draw the same faults).

Only the app's requests are faulted: those made while the stack runs one of the app's functions (a request to the
API, a timer's fire, the hourly reconcile, a re-plan job, an inbound message), which `from_the_app()` marks and
`mark_app_requests` tags with a header on the way out. The stack's own requests (its Scheduler emulator's listing
and deletes, its dead-letter sends, its provisioning, the console's reads) and those of other processes (the admin
command line, tests reading moto) carry no tag and always reach moto. A faulted request changes nothing in moto:
these are refusals AWS answers before doing any work (throttling, a front end's 500 or 503), not the ambiguous
time-out after a write was made.

It owns the parsing of the setting, the choice of faults, their wire format and the figures of a run
(`figures()`, served at `GET /_local/faults`): per service, the app's requests, how many were faulted and with
which code, how many were botocore's retries, and how many calls botocore gave up on (the fault reached the app).
"""

from __future__ import annotations

import contextvars
import json
import random
import re
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# The header the app's requests carry on the local stack only (never on AWS: the stack registers the hook).
CALLER_HEADER = "X-CareCue-Local-Caller"
_CALLER_ENVIRON = "HTTP_" + CALLER_HEADER.upper().replace("-", "_")
_APP = "app"


@dataclass(frozen=True)
class Refusal:
    """One way a service refuses a request: the HTTP status, the error code botocore reports, AWS's words."""

    status: int
    code: str
    message: str


# What each service answers when it throttles or fails, as its API reference and error guides name them. The draw
# picks one of a service's refusals with equal odds.
REFUSALS: dict[str, tuple[Refusal, ...]] = {
    "dynamodb": (
        Refusal(
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API.",
        ),
        Refusal(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
        Refusal(500, "InternalServerError", "Internal server error"),
        Refusal(503, "ServiceUnavailable", "The service is currently unavailable or busy."),
    ),
    "scheduler": (
        Refusal(429, "ThrottlingException", "Rate exceeded"),
        Refusal(500, "InternalServerException", "Internal server error"),
        Refusal(503, "ServiceUnavailableException", "Service Unavailable"),
    ),
    "sns": (
        Refusal(400, "Throttling", "Rate exceeded"),
        Refusal(500, "InternalError", "Internal error"),
        Refusal(503, "ServiceUnavailable", "Service Unavailable"),
    ),
    "ses": (
        Refusal(400, "Throttling", "Maximum sending rate exceeded."),
        Refusal(500, "InternalFailure", "Internal failure"),
        Refusal(503, "ServiceUnavailable", "Service Unavailable"),
    ),
    "ssm": (
        Refusal(400, "ThrottlingException", "Rate exceeded"),
        Refusal(500, "InternalServerError", "Internal server error"),
        Refusal(503, "ServiceUnavailable", "Service Unavailable"),
    ),
}
SERVICES = tuple(REFUSALS)
_XML_NAMESPACES = {"sns": "http://sns.amazonaws.com/doc/2010-03-31/", "ses": "http://ses.amazonaws.com/doc/2010-12-01/"}
# SigV4's credential scope names the service the request is signed for: `Credential=KEY/DATE/REGION/SERVICE/...`.
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([a-z0-9-]+)/aws4_request")
_ATTEMPT = re.compile(r"attempt=(\d+)")
# Calls remembered to tell a retried fault from one botocore gave up on; the oldest are settled beyond this.
_CALLS_REMEMBERED = 10_000


def parse_rates(text: str) -> dict[str, float]:
    """`"scheduler=0.3,sns=0.3"` as {service: share}; ValueError naming every wrong entry. Empty: no faults."""
    rates: dict[str, float] = {}
    problems: list[str] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, equals, value = (part.strip() for part in entry.partition("="))
        if name not in REFUSALS:
            problems.append(f"{name or entry!r} is not one of {', '.join(SERVICES)}")
            continue
        try:
            rate = float(value) if equals else float("nan")
        except ValueError:
            rate = float("nan")
        if not 0.0 <= rate <= 1.0:  # also false for NaN
            problems.append(f"{name}: {value!r} is not a share between 0 and 1, such as {name}=0.3")
        elif name in rates:
            problems.append(f"{name} is given twice")
        else:
            rates[name] = rate
    if problems:
        raise ValueError("CARECUE_FAULTS: " + "; ".join(problems))
    return rates


def parse_seed(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"CARECUE_FAULTS_SEED: {text!r} is not a whole number") from None


# --- marking the app's requests --------------------------------------------------------------------------------

_from_the_app: contextvars.ContextVar[bool] = contextvars.ContextVar("carecue_local_from_the_app", default=False)


@contextmanager
def from_the_app() -> Iterator[None]:
    """While inside, the requests this thread sends are the app's (the stack wraps each of its invocations)."""
    token = _from_the_app.set(True)
    try:
        yield
    finally:
        _from_the_app.reset(token)


def mark_app_requests(session: Any) -> None:
    """Tags every request sent from inside `from_the_app()` by clients of `session` (boto3 or botocore), once per
    attempt: botocore emits before-send again for each retry. Register before any client is made."""
    events = session.events if hasattr(session, "events") else session.get_component("event_emitter")
    events.register("before-send", _tag, unique_id="carecue-local-faults")


def _tag(request: Any, **_: Any) -> None:
    if _from_the_app.get():
        request.headers[CALLER_HEADER] = _APP


# --- the switch --------------------------------------------------------------------------------------------------


@dataclass
class _Figures:
    requests: int = 0
    faulted: int = 0
    retries: int = 0  # requests that were botocore's second or later attempt at a call
    codes: Counter[str] = field(default_factory=Counter)


WsgiAnswer = Callable[[Callable[..., Any]], Iterable[bytes]]


class FaultSwitch:
    def __init__(self, rates: Mapping[str, float], seed: int | None = None) -> None:
        unknown = set(rates) - set(REFUSALS)
        if unknown:
            raise ValueError(f"no faults for {sorted(unknown)}")
        self.rates = dict(rates)
        self.seed = seed
        self._random = random.Random(seed)  # noqa: S311 - a fault draw, not a secret
        self._lock = threading.Lock()
        self._figures = {service: _Figures() for service in REFUSALS}
        # invocation id (one per botocore call, the same on its retries) -> (service, whether its last try failed)
        self._calls: OrderedDict[str, tuple[str, bool]] = OrderedDict()
        self._settled_failed: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, faults: str | None, seed: str | None) -> FaultSwitch | None:
        """The switch `CARECUE_FAULTS` / `--faults` asks for; None when it asks for none."""
        rates = parse_rates(faults or "")
        seed_value = parse_seed(seed)
        return cls(rates, seed_value) if any(rate > 0 for rate in rates.values()) else None

    def describe(self) -> str:
        rates = ", ".join(f"{service}={rate:g}" for service, rate in self.rates.items())
        return rates + (f" (seed {self.seed})" if self.seed is not None else "")

    def refuse(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
        """The WSGI answer for a request this switch fails (its body read and dropped), or None to let it through."""
        if environ.get(_CALLER_ENVIRON) != _APP:
            return None
        scope = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
        service = scope[1] if scope else None
        if service not in self._figures:
            return None
        assert service is not None
        attempt = _ATTEMPT.search(str(environ.get("HTTP_AMZ_SDK_REQUEST", "")))
        call = str(environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "")) or None
        with self._lock:
            figures = self._figures[service]
            figures.requests += 1
            if attempt is not None and int(attempt[1]) > 1:
                figures.retries += 1
            refusal = self._draw(service)
            if refusal is not None:
                figures.faulted += 1
                figures.codes[refusal.code] += 1
            if call is not None:
                self._remember(call, service, refusal is not None)
        if refusal is None:
            return None
        _drain(environ)
        status, headers, body = wire_answer(service, refusal)
        start_response(status, headers)
        return [body]

    def _draw(self, service: str) -> Refusal | None:
        rate = self.rates.get(service, 0.0)
        if rate <= 0 or self._random.random() >= rate:
            return None
        return self._random.choice(REFUSALS[service])

    def _remember(self, call: str, service: str, failed: bool) -> None:
        self._calls[call] = (service, failed)
        self._calls.move_to_end(call)
        while len(self._calls) > _CALLS_REMEMBERED:
            _, (old_service, old_failed) = self._calls.popitem(last=False)
            if old_failed:
                self._settled_failed[old_service] += 1

    def figures(self) -> dict[str, Any]:
        """Per service with a share set: requests, faulted (by code), botocore's retries, and `reached_app`: calls
        whose last attempt was faulted, i.e. botocore gave up and the app got the ClientError."""
        with self._lock:
            reached = Counter(self._settled_failed)
            for service, failed in self._calls.values():
                if failed:
                    reached[service] += 1
            return {
                "rates": dict(self.rates),
                "seed": self.seed,
                "services": {
                    service: {
                        "requests": figures.requests,
                        "faulted": figures.faulted,
                        "retries": figures.retries,
                        "reached_app": reached[service],
                        "codes": dict(sorted(figures.codes.items())),
                    }
                    for service, figures in self._figures.items()
                    if service in self.rates
                },
            }


def wire_answer(service: str, refusal: Refusal) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of `refusal` in `service`'s protocol, as AWS sends it."""
    from http import HTTPStatus

    request_id = str(uuid.uuid4())
    status = f"{refusal.status} {HTTPStatus(refusal.status).phrase}"
    headers = [("x-amzn-RequestId", request_id)]
    if service in _XML_NAMESPACES:  # the Query protocol
        from xml.sax.saxutils import escape

        kind = "Sender" if refusal.status < 500 else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{_XML_NAMESPACES[service]}"><Error><Type>{kind}</Type>'
            f"<Code>{escape(refusal.code)}</Code><Message>{escape(refusal.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    elif service == "scheduler":  # REST-JSON: the code travels in a header
        body = json.dumps({"Message": refusal.message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", refusal.code)]
    elif service == "dynamodb":  # JSON 1.0, the code namespaced as DynamoDB sends it
        body = json.dumps(
            {"__type": f"com.amazonaws.dynamodb.v20120810#{refusal.code}", "message": refusal.message}
        ).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
    else:  # SSM: JSON 1.1
        body = json.dumps({"__type": refusal.code, "message": refusal.message}).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body


def _drain(environ: dict[str, Any]) -> None:
    """Reads the request's body: left unread on a kept-alive connection, it would be taken for the next request."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is not None and length > 0:
        stream.read(length)
