"""The chaos run: appointments and medication regimens over simulated days on the local stack under the fault
switch (`infra/local/faults.py`), and whether every message the patients should get arrived exactly once.

`python -m infra.bench.chaos` (part of `make bench`) runs the full one: 200 appointments and 20 regimens over
three simulated days with `scheduler=0.3,sns=0.3,ses=0.3,dynamodb=0.1`; `tests/e2e/test_chaos.py` runs a smaller
one in `make test`. The stack is `python -m infra.local` in a subprocess (frozen clock, its own data folder),
driven from outside as an integrating clinic system and a patient would: the REST API, `POST /_local/clock`, the
outbox, and the admin command line for the clinic (another process, so never faulted).

What the client does, as a real integrator would: a booking or regimen whose request fails with a 5xx (or a 429) is
sent again, the same body with the same `external_id`, which the API treats idempotently, and counts once.
Nothing waits on real time: the clock moves an hour at a time (the hourly reconciler runs at each whole hour,
Scheduler's retries fire on the way), and botocore's own back-off inside the stack is the only real-time wait.

What is expected, worked out here from the clinic's policy rather than read back from the app: per appointment a
confirmation at booking and a reminder 24 h and 2 h before, on the patient's one channel; per regimen dose a
dose reminder at its time and one follow-up 30 minutes later (no dose is acknowledged). Each message in the
outbox is matched to the earliest unmatched expected one for its recipient that is due at most `LATE` before it;
a message matching none is a duplicate (or unexpected), an expected one matched by none is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from infra.local.ports import free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]
FAULTS = "scheduler=0.3,sns=0.3,ses=0.3,dynamodb=0.1"
CLOCK_START = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
ZONE = ZoneInfo("America/New_York")
# How long after its time a message may arrive and still be the one expected: Scheduler's retries run to +31 min,
# a notice's retry timer is a minute ahead, and a refused timer is re-armed by the reconciler within the hour.
LATE = timedelta(minutes=45)
FOLLOW_UP = timedelta(minutes=30)  # the clinic's default medication follow-up
CLIENT_TRIES = 10  # how often the client sends a request that failed with a 5xx before it gives up
READY_SECONDS = 90.0
HTTP_SECONDS = 120.0  # botocore's back-off under faults can hold one request for seconds


@dataclass
class ChaosReport:
    appointments: int
    regimens: int
    days: int
    faults: str
    seed: int
    expected: int = 0
    arrived: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    client_retries: int = 0  # requests the client sent again after a 5xx
    client_failures: list[str] = field(default_factory=list)  # requests still failing after CLIENT_TRIES
    firings: int = 0
    scheduler_retries: int = 0  # firings that were the emulated Scheduler's second or later attempt
    dead_lettered: int = 0
    not_sent: list[str] = field(default_factory=list)  # reminders the API does not show as sent
    faults_by_service: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def exactly_once(self) -> bool:
        return not (self.lost or self.duplicated or self.client_failures or self.not_sent)

    def summary(self) -> str:
        lines = [
            f"chaos run: {self.appointments} appointments, {self.regimens} regimens, {self.days} days, "
            f"faults {self.faults} (seed {self.seed})",
            f"  messages expected {self.expected}, arrived {self.arrived}, lost {len(self.lost)}, "
            f"duplicated {len(self.duplicated)}",
            f"  client retries after a 5xx {self.client_retries}, requests given up {len(self.client_failures)}",
            f"  firings {self.firings}, Scheduler retries {self.scheduler_retries}, dead-lettered {self.dead_lettered}",
            f"  reminders not shown as sent {len(self.not_sent)}",
        ]
        for service, figures in self.faults_by_service.items():
            lines.append(
                f"  {service}: {figures['requests']} requests, {figures['faulted']} faulted, "
                f"{figures['retries']} botocore retries, {figures['reached_app']} reached the app"
            )
        phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.phases.items())
        lines.append(f"  wall time {self.wall_seconds:.0f} s ({phases})")
        for label, items in (
            ("lost", self.lost),
            ("duplicated", self.duplicated),
            ("given up", self.client_failures),
            ("not sent", self.not_sent),
        ):
            lines += [f"  {label}: {item}" for item in items[:20]]
        return "\n".join(lines)


class _Stack:
    """`python -m infra.local` with the fault switch on, in a subprocess; its output collected by a thread."""

    def __init__(self, data: Path, faults: str, seed: int) -> None:
        ports = free_ports(2)
        self.api = f"http://127.0.0.1:{ports[0]}"
        self.aws = f"http://127.0.0.1:{ports[1]}"
        command = [sys.executable, "-m", "infra.local", "--port", str(ports[0]), "--aws-port", str(ports[1])]
        command += ["--frozen-clock", "--clock-start", CLOCK_START.isoformat(), "--data", str(data), "--reset"]
        command += ["--faults", faults, "--faults-seed", str(seed)]
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=REPO_ROOT,
            env=_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, name="chaos-stack-output", daemon=True).start()
        if not self._ready.wait(READY_SECONDS):
            self.stop()
            raise RuntimeError("the local stack did not start:\n" + self.output[-3000:])

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.append(line)
            if "Ready. Ctrl-C stops." in line:
                self._ready.set()
        self._ready.set()

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _environment() -> dict[str, str]:
    """The stack runs as a person runs it: on the `local` stage, reaching AWS only through its own endpoint."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("AWS_ENDPOINT_URL", "AWS_PROFILE") and not name.startswith("CARECUE_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _http(url: str, method: str = "GET", body: Any = None, key: str | None = None) -> tuple[int, Any]:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"{url!r} is not the local stack")  # what makes urlopen safe here
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_SECONDS) as response:  # noqa: S310
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        with error:
            text = error.read().decode()
        try:
            return error.code, json.loads(text) if text else None
        except ValueError:
            return error.code, text


class _Client:
    """A clinic system: sends a request again, unchanged, after a 5xx or a 429, as an integrator's retry does."""

    def __init__(self, api: str, key: str, report: ChaosReport) -> None:
        self._api = api
        self._key = key
        self._report = report

    def send(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        status, answer = 0, None
        for attempt in range(CLIENT_TRIES):
            if attempt:
                self._report.client_retries += 1
            status, answer = _http(self._api + path, method, body, self._key)
            if status in ok:
                return answer
            if status < 500 and status != 429:
                break
        self._report.client_failures.append(f"{method} {path}: {status} {str(answer)[:200]}")
        return None


@dataclass(frozen=True)
class _Expected:
    to: str
    at: datetime
    what: str


def run_chaos(
    appointments: int = 200,
    regimens: int = 20,
    days: int = 3,
    faults: str = FAULTS,
    seed: int = 19,
    data: Path | None = None,
    log: Path | None = None,
) -> ChaosReport:
    """One run; `log`, when given, receives everything the stack printed (for a run that found something)."""
    report = ChaosReport(appointments, regimens, days, faults, seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="carecue-chaos-") as scratch:
        stack = _Stack(data or Path(scratch) / "data", faults, seed)
        try:
            report.phases["start"] = time.perf_counter() - started
            _drive(stack, report)
        finally:
            stack.stop()
            if log is not None:
                log.write_text(stack.output)
    report.wall_seconds = time.perf_counter() - started
    return report


def _drive(stack: _Stack, report: ChaosReport) -> None:
    phase = time.perf_counter()
    created = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "chalicelib.admin", "--endpoint-url", stack.aws, "create-clinic"]
        + ["--name", "Riverside Family Clinic", "--timezone", str(ZONE)],
        cwd=REPO_ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    client = _Client(stack.api, json.loads(created.stdout)["api_key"], report)
    expected: list[_Expected] = []
    booked: list[str] = []
    now = CLOCK_START
    midnight = now.astimezone(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    for number in range(report.appointments):
        day, slot = 1 + number % report.days, number // report.days
        local_start = midnight + timedelta(days=day, hours=10, minutes=30 + 15 * (slot % 26))
        start = local_start.astimezone(ZONE)
        phone, email = _contact(number)
        patient: dict[str, Any] = {"name": "Pat Example", **({"email": email} if email else {"phone": phone})}
        body = {"external_id": f"chaos-{number}", "patient": patient, "start": start.isoformat()}
        answer = client.send("POST", "/v1/appointments", body)
        if answer is None:
            continue
        booked.append(str(answer["id"]))
        to = email or phone
        expected += [
            _Expected(to, now, "confirmation"),
            _Expected(to, start - timedelta(hours=24), "reminder-24h"),
            _Expected(to, start - timedelta(hours=2), "reminder-2h"),
        ]
    for number in range(report.regimens):
        phone = f"+1917555{100 + number:04d}"
        first = midnight + timedelta(days=1)
        last = midnight + timedelta(days=report.days, hours=23)
        body = {
            "external_id": f"chaos-rx-{number}",
            "patient": {"name": "Pat Example", "phone": phone},
            "medication": "Examplamab 5 mg",
            "timing": {
                "repeat": {
                    "frequency": 2,
                    "period": 1,
                    "periodUnit": "d",
                    "timeOfDay": ["09:00:00", "19:00:00"],
                    "boundsPeriod": {"start": first.isoformat(), "end": last.isoformat()},
                }
            },
        }
        if client.send("POST", "/v1/regimens", body) is None:
            continue
        for day in range(1, report.days + 1):
            for hour in (9, 19):
                dose = (midnight + timedelta(days=day, hours=hour)).astimezone(UTC)
                expected += [_Expected(phone, dose, "dose"), _Expected(phone, dose + FOLLOW_UP, "follow-up")]
    report.phases["book"] = time.perf_counter() - phase

    phase = time.perf_counter()
    end = (midnight + timedelta(days=report.days + 1, hours=2)).astimezone(UTC)
    while now < end:
        now = min(now + timedelta(hours=1), end)
        status, moved = _http(stack.api + "/_local/clock", "POST", {"to": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
        if status != 200:
            raise RuntimeError(f"the clock did not move: {status} {moved}")
        for firing in moved["fired"]:
            report.firings += 1
            report.scheduler_retries += firing["attempt"] > 1
            report.dead_lettered += bool(firing["dead_lettered"])
    report.phases["run the days"] = time.perf_counter() - phase

    phase = time.perf_counter()
    _, outbox = _http(stack.api + "/_local/outbox")
    _match(expected, outbox["messages"], report)
    for appointment_id in booked:
        current = client.send("GET", f"/v1/appointments/{appointment_id}")
        for reminder in (current or {}).get("reminders", []):
            if reminder["status"] != "sent":
                report.not_sent.append(f"{appointment_id} {reminder['id']}: {reminder['status']}")
    _, figures = _http(stack.api + "/_local/faults")
    report.faults_by_service = (figures.get("faults") or {}).get("services", {})
    report.phases["check"] = time.perf_counter() - phase


def _contact(number: int) -> tuple[str, str | None]:
    """Every fourth patient by email only, the rest by SMS only: fake numbers and example.org addresses."""
    area = ("415", "628", "212", "646")[number // 100 % 4]
    return f"+1{area}555{100 + number % 100:04d}", (f"pat.chaos{number}@example.org" if number % 4 == 3 else None)


def _match(expected: list[_Expected], messages: list[dict[str, Any]], report: ChaosReport) -> None:
    waiting: dict[str, list[_Expected]] = defaultdict(list)
    for item in sorted(expected, key=lambda e: e.at):
        waiting[item.to].append(item)
    report.expected = len(expected)
    arrived: Counter[str] = Counter()
    for message in sorted(messages, key=lambda m: str(m["sent_at"])):
        sent_at = datetime.fromisoformat(str(message["sent_at"]))
        mine = waiting.get(str(message["to"]), [])
        match = next((e for e in mine if e.at <= sent_at <= e.at + LATE), None)
        if match is None:
            report.duplicated.append(f"{message['channel']} to …{str(message['to'])[-6:]} at {message['sent_at']}")
            continue
        mine.remove(match)
        arrived[match.what] += 1
    report.arrived = sum(arrived.values())
    for items in waiting.values():
        report.lost += [f"{e.what} to …{e.to[-6:]} due {e.at:%Y-%m-%dT%H:%MZ}" for e in items]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bench.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--appointments", type=int, default=200)
    parser.add_argument("--regimens", type=int, default=20)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--faults", default=FAULTS)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    parser.add_argument("--log", type=Path, help="write what the stack printed here")
    args = parser.parse_args(argv)
    report = run_chaos(args.appointments, args.regimens, args.days, args.faults, args.seed, log=args.log)
    print(report.summary(), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=2, default=str))
    return 0 if report.exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
