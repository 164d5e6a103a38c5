"""The errors CareCue's services raise. The HTTP edge maps them to status codes in one place (`chalicelib.edge.http`);
adapters translate AWS `ClientError` codes into them, so nothing above an adapter matches on message text."""

from __future__ import annotations

from msgspec import Struct


class CareCueError(Exception):
    """Base of every error a service raises on purpose."""


class FieldProblem(Struct, frozen=True):
    field: str  # dotted path into the request body, e.g. "patient.phone"
    problem: str


class InvalidRequest(CareCueError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in problems))

    @classmethod
    def single(cls, field: str, problem: str) -> InvalidRequest:
        return cls([FieldProblem(field, problem)])


class PayloadTooLarge(CareCueError):
    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        super().__init__(f"the request body is over {limit_bytes} bytes")


class NotFound(CareCueError):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} not found")


class Conflict(CareCueError):
    """The request is well formed but the resource's state forbids it (e.g. moving a cancelled appointment).
    `code` is the error envelope's code: "conflict", or a word naming why (e.g. "window_closed")."""

    def __init__(self, message: str = "", code: str = "conflict") -> None:
        self.code = code
        super().__init__(message)


class UnknownClinic(CareCueError):
    pass


class ChannelError(CareCueError):
    """SNS or SES refused a message. `permanent` means a retry cannot help (a bad number, a rejected address)."""

    def __init__(self, code: str, *, permanent: bool) -> None:
        self.code = code
        self.permanent = permanent
        super().__init__(code)


class TimerError(CareCueError):
    """EventBridge Scheduler refused to arm or disarm a timer."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


class SchedulerUnavailable(CareCueError):
    """Scheduler refused the timers a request needed, and the request was undone: the caller may retry."""


class QueueUnavailable(CareCueError):
    """SQS refused a background job (nothing was queued): the caller may retry."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


class SignatureRejected(CareCueError):
    """A webhook whose signature is missing, wrong or too old: it did not come from the clinic's booking tool."""


class SignatureMismatch(SignatureRejected):
    """A signed webhook that the clinic's stored secret and settings do not verify (as opposed to one with no
    signature, a malformed one or a stale timestamp). A secret or setting changed since the cache was filled
    would cause exactly this, so the intake reads them once more, bypassing the cache, before refusing."""


class Forbidden(CareCueError):
    """A request that proves nothing it must (Meta's webhook subscription check with a wrong verify token)."""


class UpstreamUnavailable(CareCueError):
    """A booking tool's own API could not be read (Acuity, Square); the tool retries the webhook later."""


# --- storage outcomes: what the store's repositories raise instead of PynamoDB's exceptions -----------------


class AlreadyExists(CareCueError):
    """A create found the item already there (a second delivery of the same webhook, a claim already taken)."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} already exists")


class StaleVersion(CareCueError):
    """A conditional write found the item changed since it was read (another version, status or lease), or
    gone: the caller's view is out of date and the write did nothing."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} changed since it was read")


class AlreadyClaimed(CareCueError):
    """Another invocation holds the claim on this occurrence (a delivery, a dose, a release)."""
