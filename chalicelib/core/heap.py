"""What a cold start builds once, kept out of the cyclic garbage collector's way.

A Lambda process imports its modules and makes its AWS clients once (botocore's service models, PynamoDB's
models, pydantic's validators: hundreds of thousands of objects), then keeps them for its whole life. CPython's
collector does not know that: each time enough new objects accumulate it runs a full collection, which walks
every tracked object, and a cold start allocates enough to trigger several. Measured here, the full collection
that the second boto3 client of a process triggers costs ~30 ms of CPU, as much as making the client itself.
`settle()` moves everything alive now into the collector's permanent generation (`gc.freeze`), so later
collections walk only what is new: what an invocation allocates.

It is called where process-long state has just been built: at the end of `import app`, and after a client is
made (`chalicelib.composition.LazyClient`). A frozen object is still freed by reference counting as soon as
nothing refers to it; only the cycle collector skips it, so what a freeze can keep for good is cyclic garbage:
cycles already garbage when it runs, or state alive then that becomes cyclic garbage later. A Lambda process
builds its state once, so that is nothing; a long-lived process that builds one composition after another (the
tests, the local stack) would keep each one's cycles. Hence at most `FREEZES` per process: a cold start's
import and its clients (at most 7 kinds: DynamoDB, Scheduler, SNS, SES, SSM, SQS, End User Messaging Social).

On Lambda (the runtime sets `AWS_LAMBDA_FUNCTION_NAME`) the collector is also held off from the end of
`import app` to the end of the process's first invocation (`hold_until_served`, `served`): that invocation imports
botocore, makes the handler's clients and runs the handler, hundreds of thousands of allocations, and the
collections they trigger (a full one among them) cost a first fire ~45 ms of CPU, a first booking as much
(measured, docs/bench.md). A cold start leaves ~600-800 objects of cyclic garbage in all (counted with the
collector off throughout: `gc.unfreeze(); gc.collect()` after the first fire, booking and authorizer call), so
`served` freezes what is alive then, that garbage included, and turns the collector back on for the process's
warm life. Anywhere else (the tests, the local stack, the admin CLI: long-lived processes that import the app
and may never invoke a handler) nothing is held.
"""

from __future__ import annotations

import gc

FREEZES = 8
_done = 0
_held = False


def settle() -> None:
    global _done
    if _done < FREEZES:
        _done += 1
        gc.freeze()


def hold_until_served(on_lambda: bool) -> None:
    """On Lambda only (`chalicelib.settings.on_lambda`): no cyclic collection until `served` (the end of the
    first invocation)."""
    global _held
    if on_lambda and gc.isenabled():
        gc.disable()
        _held = True


def served() -> None:
    """An invocation is done: after the process's first, what the cold start built is frozen and the collector
    runs again. Later calls do nothing."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()
