"""One cold start, in the fresh process `python -m infra.bench.cold_child` that `infra.bench.cold_start` runs.

It reads its task from stdin (JSON: `mode`, the event, the instant its clock stands at), then times, from before
the first import to the end of the first invocation:
- `floor`: `import boto3` and one DynamoDB client, what any Python Lambda on AWS pays;
- `fire`: `import app` and the fire_batch function handling one due reminder's timer event, as the fire queue
  hands it over (a batch of one: `queued_event`);
- `booking`: `import app` and `POST /v1/appointments` as API Gateway invokes the API function once the
  authorizer has let the request in (on AWS the authorizer is a function of its own, with its own cold start);
- `authorizer`: `import app` and the API-key authorizer answering one token.
The app is invoked as Lambda invokes it (handler, event, context), in the environment Lambda gives a function
(`AWS_LAMBDA_FUNCTION_NAME` set, which `chalicelib.core.heap` reads), with a clock frozen at the given instant
(`composition.configure`, which builds what `services()` builds): the bench's data are dated, the wall clock is
not. Prints one JSON line last: the seconds taken and the CPU seconds over the same span (`time.process_time`,
so neither counts the interpreter's start-up nor its shutdown, which no invocation pays), `import app`'s share of
them, what the handler answered, the boto3 clients it made (and how many operations each one's model has, PynamoDB's
DynamoDB client's too), which of the modules it should not need it loaded, and whether the cyclic garbage
collector runs again after the invocation.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from datetime import datetime
from typing import Any


def queued_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's event source mapping passes the fire_batch function for timer events Scheduler queued
    (each event's JSON as a message body, received for the first time)."""
    records = []
    for n, event in enumerate(events):
        records.append(
            {
                "messageId": f"00000000-0000-4000-8000-{n:012d}",
                "receiptHandle": f"bench-{n}",
                "body": json.dumps(event),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:carecue-bench-fire",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


class LambdaContext:
    """What the Lambda runtime hands a handler, as far as CareCue and Chalice read it."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def main() -> int:
    task: dict[str, Any] = json.loads(sys.stdin.read())
    mode = task["mode"]
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = f"carecue-bench-{mode}"  # as the Lambda runtime sets it
    started, cpu_started = time.perf_counter(), time.process_time()
    if mode == "floor":
        import boto3

        boto3.client("dynamodb")
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "import_seconds": 0.0, "answer": None}))
        return 0

    import app

    imported = time.perf_counter()
    from chalicelib import composition

    composition.configure(clock=FrozenClock(datetime.fromisoformat(task["now"])))
    context = LambdaContext(f"carecue-bench-{mode}")
    answer: Any
    if mode == "fire":  # a reminder's timer, as the fire queue hands it to the fire_batch function
        answer = app.fire_batch(queued_event([task["event"]]), context)
    elif mode == "booking":
        response = app.app(task["event"], context)
        answer = {"statusCode": response["statusCode"], "body": json.loads(response["body"])}
    elif mode == "authorizer":
        answer = app.api_key(task["event"], context)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    finished, cpu_finished = time.perf_counter(), time.process_time()
    if mode == "fire":  # what the patient would notice, read after the timing: the reminder went
        from chalicelib.store.models import Reminder

        stored = Reminder.get(task["event"]["owner_id"], task["event"]["reminder_id"])
        answer = {"result": stored.status if answer == {"batchItemFailures": []} else "failed", **answer}
    made = [name for name, value in vars(composition.services()).items() if _made(value)]
    loaded = sorted(name for name in sys.modules if name.startswith(WATCHED))
    print(
        json.dumps(
            {
                "seconds": finished - started,
                "cpu_seconds": cpu_finished - cpu_started,
                "import_seconds": imported - started,
                "answer": answer,
                "clients": sorted(made),
                "operations": _operations(composition.services()),
                "modules": loaded,
                "collector_on": gc.isenabled(),
            }
        )
    )
    return 0


# What a cold start must not load unless its handler uses it: boto3 (botocore is enough), regimen code, the
# request validators and the request models' pydantic (a valid booking is read without it).
WATCHED = ("babel", "boto3", "chalicelib.regimens", "email_validator", "phonenumbers", "pydantic")


def _operations(services: Any) -> dict[str, int]:
    """How many operations each client made has in its model: the trimmed models' (infra/aws/service_models.py)
    or botocore's whole ones."""
    from chalicelib.store.models import Clinic

    clients = {name: vars(services)[name]._client for name in vars(services) if _made(vars(services)[name])}
    clients["dynamodb"] = Clinic._get_connection().connection.client
    return {name: len(client.meta.service_model.operation_names) for name, client in sorted(clients.items())}


def _made(value: object) -> bool:
    """A boto3 client the composition root handed out and that has been made (it is made on first use)."""
    return type(value).__name__ == "LazyClient" and value.__dict__.get("_client") is not None


if __name__ == "__main__":
    sys.exit(main())
