"""Cold starts: a fresh process's first fire, first booking and first authorizer call, against `import boto3` and
one DynamoDB client timed in the same run (the floor any Python Lambda on AWS pays).

Each cold start is its own interpreter (`infra.bench.cold_child`), so nothing is imported or built before it;
the AWS it talks to is moto's server on 127.0.0.1 in the bench's process, never in the child's. The four kinds
alternate round by round, after one warm-up round that is not counted, so a busy moment on the machine hits all
four alike. Each figure is a median, of the wall time and, beside it, of the child's own CPU time over the same
span (what a shared machine distorts least). `python -m infra.bench.cold_start [--runs N]` runs these three
figures alone, on the same moto server set-up as `make bench`.

Every child runs from bytecode, boto3 and CareCue alike: caching is on in the children whatever the caller's
PYTHONDONTWRITEBYTECODE, into a cache of the bench's own (PYTHONPYCACHEPREFIX, under the temp directory), which
the warm-up round fills. Measuring CareCue compiled from source against boto3 from bytecode would compare
unlike things. (On Lambda a module runs from bytecode only if the package holds it, since /var/task and /opt are
read-only: `make package` compiles both zips, infra/aws/bytecode.py.)

The fire's reminders are booked through the API first, so their events are the ones Scheduler passes and the
message carries a signed patient link (the key read from SSM), as on AWS; the bookings' own cold starts book
appointments of their own. The layer figure builds the package (`make package-files`) and reads its zip.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

FIRE_RATIO_TARGET = 1.6
BOOKING_RATIO_TARGET = 1.9
AUTHORIZER_RATIO_TARGET = 1.2
LAYER_MB_TARGET = 40.0
MODES = ("floor", "fire", "booking", "authorizer")
PACKAGE_STAGE = "dev"


def run_child(task: dict[str, Any]) -> dict[str, Any]:
    """One fresh interpreter, from the project root: the JSON line it prints last."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "carecue-bench-pycache")
    done = subprocess.run(  # noqa: S603 - our own interpreter, our own module
        [sys.executable, "-m", "infra.bench.cold_child"],
        input=json.dumps(task),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start {task['mode']} failed:\n{done.stderr[-3000:]}")
    # `cpu_seconds` is the child's own CPU time over the span its `seconds` measure: what a busy shared machine
    # distorts far less than the wall time. (It was the child's getrusage, start-up and shutdown included: ~15 ms
    # of start-up each side, and ~70 ms of the floor's exit, whose final collection walks all of boto3, against
    # ~10 ms for a handler whose state is frozen; that made the handlers' CPU ratios look ~0.4x better.)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def booking_event(clinic_id: str, index: int, start: datetime) -> dict[str, Any]:
    """`POST /v1/appointments` as API Gateway hands it to the API function after the authorizer allowed it."""
    body = {"patient": {"name": "Pat Example", "phone": _phone(index)}, "start": start.isoformat()}
    return {
        "resource": "/v1/appointments",
        "path": "/v1/appointments",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json", "authorization": "Bearer (checked by the authorizer)"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/appointments",
            "httpMethod": "POST",
            "path": "/api/v1/appointments",
            "stage": "api",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"principalId": clinic_id},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def authorizer_event(api_key: str) -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {api_key}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/POST/v1/appointments",
    }


def booked_reminders(world: Any, count: int, first_start: datetime) -> list[dict[str, Any]]:
    """`count` appointments booked through the API (with their patient links, which a fire signs with the key
    it reads from SSM), and the event each one's 24 h SMS reminder timer carries, as Scheduler would pass it."""
    from chalice.test import Client

    import app
    from infra.bench.__main__ import captured_logs

    headers = {"Authorization": f"Bearer {world.api_key}", "Content-Type": "application/json"}
    group = world.services.settings.schedule_group
    events = []
    with Client(app.app, stage_name="local") as client, captured_logs():
        for index in range(count):
            start = first_start + timedelta(minutes=15 * index)
            body = {"patient": {"name": "Pat Example", "phone": _phone(index)}, "start": start.isoformat()}
            answer = client.http.post("/v1/appointments", headers=headers, body=json.dumps(body).encode())
            if answer.status_code != 201:
                raise RuntimeError(f"booking for the cold fires failed: {answer.json_body}")
            name = f"{answer.json_body['id']}.reminder-24h.sms"
            schedule = world.services.scheduler.get_schedule(Name=name, GroupName=group)
            due = schedule["ScheduleExpression"].removeprefix("at(").removesuffix(")") + "Z"
            events.append(json.loads(schedule["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", due)))
    return events


def _phone(index: int) -> str:
    return f"+1415555{100 + index % 100:04d}"  # the fictional 555-01xx range


def tasks(
    fire_events: list[dict[str, Any]], clinic_id: str, api_key: str, now: datetime, first_start: datetime
) -> list[dict[str, dict[str, Any]]]:
    """One round per fire event: a fresh reminder to fire and a fresh booking each, so every round does the
    same work (a second fire of one reminder would find it sent and stop early)."""
    rounds: list[dict[str, dict[str, Any]]] = []
    for index, event in enumerate(fire_events):
        fire_now = datetime.fromisoformat(event["scheduled_time"]) + timedelta(seconds=20)
        start = first_start + timedelta(minutes=15 * index)
        rounds.append(
            {
                "floor": {"mode": "floor"},
                "fire": {"mode": "fire", "event": event, "now": fire_now.isoformat()},
                "booking": {"mode": "booking", "event": booking_event(clinic_id, index, start), "now": now.isoformat()},
                "authorizer": {"mode": "authorizer", "event": authorizer_event(api_key), "now": now.isoformat()},
            }
        )
    return rounds


# The boto3 clients each cold start may make (PynamoDB's DynamoDB client aside), and the watched modules it may
# load (`cold_child.WATCHED`): an appointment's reminder sends an SMS with a signed link (SNS, SSM) and needs no
# regimen code; a booking arms timers and confirms by SMS, reading the patient's phone; the authorizer reads one
# clinic from DynamoDB.
ALLOWED_CLIENTS = {"fire": {"sns", "ssm"}, "booking": {"scheduler", "sns", "ssm"}, "authorizer": set()}
ALLOWED_MODULES = {"fire": (), "booking": ("phonenumbers",), "authorizer": ()}


def check(mode: str, result: dict[str, Any]) -> None:
    """Each cold start must have done its whole job, or its time means nothing, and made and loaded only what its
    handler uses."""
    if mode != "floor":
        extra_clients = set(result["clients"]) - ALLOWED_CLIENTS[mode]
        extra_modules = [name for name in result["modules"] if not name.startswith(ALLOWED_MODULES[mode])]
        if extra_clients or extra_modules:
            raise RuntimeError(
                f"the cold {mode} made clients {sorted(extra_clients)} and loaded {extra_modules[:5]}: it needs none"
            )
    answer = result["answer"]
    if mode == "fire" and answer.get("result") != "sent":
        raise RuntimeError(f"the cold fire did not send: {answer}")
    if mode == "booking" and answer.get("statusCode") != 201:
        raise RuntimeError(f"the cold booking was not created: {answer}")
    if mode == "authorizer" and answer["policyDocument"]["Statement"][0]["Effect"] != "Allow":
        raise RuntimeError("the cold authorizer refused the clinic's key")
    if mode != "floor" and not result["collector_on"]:
        raise RuntimeError(f"the cold {mode} left the garbage collector off after its invocation")


def measure(rounds: list[dict[str, dict[str, Any]]], warm_up: bool = True) -> dict[str, list[dict[str, Any]]]:
    """With `warm_up`, the first round warms up and is dropped; the rest are the sample."""
    results: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for number, round_tasks in enumerate(rounds):
        for mode in MODES:
            result = run_child(round_tasks[mode])
            check(mode, result)
            if number or not warm_up:
                results[mode].append(result)
    return results


def figures(results: dict[str, list[dict[str, Any]]]) -> list[tuple[str, float, float, str]]:
    """(name, ratio, target, detail) for the fire, the booking and the authorizer."""

    def median_ms(mode: str, key: str = "seconds") -> float:
        return float(statistics.median(result[key] for result in results[mode])) * 1000

    floor = median_ms("floor")
    runs = len(results["floor"])
    rows = []
    for mode, label, target in (
        ("fire", "cold start: first fire / boto3 + client", FIRE_RATIO_TARGET),
        ("booking", "cold start: first booking / boto3 + client", BOOKING_RATIO_TARGET),
        ("authorizer", "cold start: authorizer / boto3 + client", AUTHORIZER_RATIO_TARGET),
    ):
        total = median_ms(mode)
        clients = ", ".join(["dynamodb (PynamoDB)", *results[mode][0]["clients"]])
        cpu_ms, floor_cpu_ms = median_ms(mode, "cpu_seconds"), median_ms("floor", "cpu_seconds")
        detail = (
            f"median of {runs} fresh processes: {total:.0f} ms (import app {median_ms(mode, 'import_seconds'):.0f} ms"
            f" of it; clients made: {clients}) against import boto3 + one DynamoDB client {floor:.0f} ms; "
            f"CPU time {cpu_ms / floor_cpu_ms:.2f}x ({cpu_ms:.0f} ms against {floor_cpu_ms:.0f} ms, same span)"
        )
        rows.append((label, total / floor, target, detail))
    return rows


def cold_start_figures(world: Any, runs: int, warm_up: bool = True) -> list[tuple[str, float, float, str]]:
    """`runs` counted rounds (plus the warm-up, unless told not to) on `world`, the bench's AWS on moto's server."""
    now = world.clock.now()
    events = booked_reminders(world, runs + warm_up, now + timedelta(days=2))
    rounds = tasks(events, world.clinic_id, world.api_key, now, now + timedelta(days=3))
    return figures(measure(rounds, warm_up))


def layer_figure() -> tuple[str, float, float, str]:
    """`make package-files` (the layer comes from Chalice's cache once built), then the layer's size unpacked."""
    from infra.aws.package_contents import unpacked_bytes

    done = subprocess.run(  # noqa: S603 - make, with our own Makefile
        ["make", "--no-print-directory", "package-files", f"STAGE={PACKAGE_STAGE}"],  # noqa: S607 - make on PATH
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"make package-files failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    layer = REPO_ROOT / "build" / PACKAGE_STAGE / "package" / "layer-deployment.zip"
    report = [line for line in done.stdout.splitlines() if "layer-deployment.zip" in line]
    megabytes = unpacked_bytes(layer) / 1e6
    return "dependency layer unpacked (MB)", megabytes, LAYER_MB_TARGET, "; ".join(report) or str(layer)


def main(argv: list[str] | None = None) -> int:
    """The cold-start figures alone (`python -m infra.bench.cold_start`): exit status 1 when one misses."""
    import argparse

    from infra.bench.__main__ import _restored_environment, bench_environment, local_aws

    parser = argparse.ArgumentParser(prog="python -m infra.bench.cold_start", description=main.__doc__)
    parser.add_argument("--runs", type=int, default=9, help="counted fresh processes per figure (9)")
    args = parser.parse_args(argv)
    bench_environment()
    with _restored_environment(), local_aws(server=True) as world:
        rows = cold_start_figures(world, args.runs)
    print(f"CareCue cold starts ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end)")
    for name, value, target, detail in rows:
        print(f"{'PASS' if value <= target else 'FAIL'}  {name:48} {value:10.4f}   target <= {target:g}")
        print(f"      {detail}")
    return 0 if all(value <= target for _, value, target, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
