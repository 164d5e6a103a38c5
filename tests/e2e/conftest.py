"""The end-to-end tier: `python -m infra.local` started as a subprocess, exactly as `make run` starts it, and
driven only from outside, over HTTP (the REST API and the local routes) and the admin command line.

One stack serves the whole session. Its simulated clock is frozen and only moves forwards, so every test
creates its own clinic, reads the clock's `now` and books relative to it, and picks out its own messages by
the patient's phone number or email address.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.local.ports import free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]
READY = "Ready. Ctrl-C stops."
STOPPED = "Stopped."
CLOCK_START = "2026-11-30T14:00:00Z"  # a Monday, 09:00 in New York
NEW_YORK = "America/New_York"
ONE_SECOND = timedelta(seconds=1)
# A cold start imports boto3, moto and chalice and creates the tables: a few seconds here; 60 s is for slow CI.
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
HTTP_TIMEOUT_SECONDS = 30.0
CLI_TIMEOUT_SECONDS = 60.0
# tests/conftest.py sets the `test` stage's CARECUE_* settings for the in-process tiers, and a developer's shell
# may point AWS elsewhere; the stack and the admin CLI must run as a person runs them, on the `local` stage, and
# reach AWS only through the stack's own endpoint.
_INHERITED_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_PROFILE")
_INHERITED_PREFIX = "CARECUE_"


def stack_environment() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _INHERITED_SETTINGS and not name.startswith(_INHERITED_PREFIX)
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spoken(moment: datetime, zone: str) -> str:
    """How a message names an instant to a patient in `zone`: `Wed 2 Dec at 10:00 AM`.

    Written here independently of the product's templates, so the tests check the text rather than repeat it.
    """
    local = moment.astimezone(ZoneInfo(zone))
    clock_time = local.strftime("%I:%M %p").lstrip("0")
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b')} at {clock_time}"


# What the run hands out that must never reach the stack's log: link and board tokens in paths and answers, a
# form webhook's ?token= secret, and the API keys and webhook secrets the admin CLI prints.
_SECRET_PATTERNS = (
    re.compile(r"/(?:p|d|f|u|board)/([A-Za-z0-9_\-.~]{16,})"),
    re.compile(r"[?&]token=([^&\s\"]{8,})"),
    re.compile(r'"(?:api_key|webhook_secret|secret|token)"\s*:\s*"([^"]{8,})"'),
    re.compile(r"Bearer (\S{8,})"),
)


class IssuedSecrets:
    """Every key, secret and token the session saw go to or come from the stack, for the log scan at its end."""

    def __init__(self) -> None:
        self._found: set[str] = set()
        self._lock = threading.Lock()

    def harvest(self, *texts: str) -> None:
        found = {m for text in texts for pattern in _SECRET_PATTERNS for m in pattern.findall(text)}
        with self._lock:
            self._found |= found

    def all(self) -> set[str]:
        with self._lock:
            return set(self._found)


ISSUED = IssuedSecrets()


class Http:
    """A tiny JSON client on urllib: every call returns (status, parsed body), error statuses included."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        if not base_url.startswith("http://127.0.0.1:"):
            raise ValueError(f"{base_url!r} is not the local stack")  # what makes the urlopen calls below safe
        self.base_url = base_url
        self.headers = headers or {}

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Any) -> tuple[int, Any]:
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> tuple[int, Any]:
        return self.request("DELETE", path)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        status, _, text = self.raw(method, path, body, headers)
        return status, json.loads(text) if text else None

    def raw(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """(status, Content-Type, body text). `body` is sent as is when bytes, else as JSON."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode("utf-8")
        all_headers = {"Content-Type": "application/json", **self.headers, **(headers or {})}
        url = self.base_url + path
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
                answer = response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            with error:
                answer = error.code, error.headers.get("Content-Type", ""), error.read().decode("utf-8")
        ISSUED.harvest(path, answer[2], *all_headers.values())
        return answer


@dataclass(frozen=True)
class Clinic:
    clinic_id: str
    name: str
    timezone: str
    api_key: str
    webhook_secret: str


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str


class LocalStack:
    """The running stack as a clinic admin and a patient see it: API, clock, outbox and admin CLI."""

    def __init__(self, api_url: str, aws_url: str, process: StackProcess | None = None) -> None:
        self.api_url = api_url
        self.aws_url = aws_url
        self.local = Http(api_url)
        self._process = process

    def log_once_printed(self, text: str) -> str:
        """Everything the stack has printed (banner, access log, the app's and moto's lines), once `text` is in it:
        its output reaches the test through a reader thread, a moment after the answer."""
        assert self._process is not None, "this stack's output is not collected"
        assert self._process.wait_for(text, HTTP_TIMEOUT_SECONDS), f"{text!r} never printed:\n{self._process.output}"
        return self._process.output

    def api(self, clinic: Clinic | None = None) -> Http:
        """The REST API as `clinic`'s system calls it (with its key), or with no key at all."""
        return Http(self.api_url, {"Authorization": f"Bearer {clinic.api_key}"} if clinic else {})

    def admin(self, *args: str, env: dict[str, str] | None = None) -> CliRun:
        """The admin command line against the stack; `env` adds variables (secrets a command reads from them)."""
        command = [sys.executable, "-m", "chalicelib.admin", "--endpoint-url", self.aws_url, *args]
        done = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**stack_environment(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )
        ISSUED.harvest(done.stdout, *args)
        return CliRun(done.returncode, done.stdout, done.stderr)

    def create_clinic(self, name: str = "Riverside Family Clinic", timezone: str = "America/New_York") -> Clinic:
        run = self.admin("create-clinic", "--name", name, "--timezone", timezone)
        assert run.returncode == 0, f"create-clinic failed: {run.stderr}"
        created = json.loads(run.stdout)
        return Clinic(
            created["clinic_id"], created["name"], created["timezone"], created["api_key"], created["webhook_secret"]
        )

    def clock(self) -> dict[str, Any]:
        status, body = self.local.get("/_local/clock")
        assert status == 200, body
        return dict(body)

    def now(self) -> datetime:
        return parse_instant(self.clock()["now"])

    def pending(self, prefix: str = "") -> list[dict[str, str]]:
        """Armed timers not yet fired, earliest first; only those whose schedule name starts with `prefix`."""
        return [p for p in self.clock()["pending"] if p["schedule"].startswith(prefix)]

    def advance_to(self, moment: datetime) -> list[dict[str, Any]]:
        """Moves the clock to `moment` and returns what fired on the way."""
        status, body = self.local.post("/_local/clock", {"to": iso_z(moment)})
        assert status == 200, body
        assert parse_instant(body["now"]) == moment
        return list(body["fired"])

    def outbox(self, *addresses: str) -> list[dict[str, Any]]:
        """Every message sent so far, oldest first; only those to one of `addresses` when any are given."""
        status, body = self.local.get("/_local/outbox")
        assert status == 200, body
        return [m for m in body["messages"] if not addresses or m["to"] in addresses]

    def ask_for_both(self, clinic: Clinic) -> None:
        """The clinic asks for `both` (the phone and the email) for its notices and its 24 h and 2 h reminders,
        where by default each message goes on one channel, the first of the patient's order."""
        both = [{"before": "P1D", "channel": "both"}, {"before": "PT2H", "channel": "both"}]
        status, body = self.api(clinic).request("PUT", "/v1/clinic", {"reminders": both, "notice_channel": "both"})
        assert status == 200, body

    def connect_whatsapp(self, clinic: Clinic, sender: str, settings: dict[str, Any]) -> dict[str, Any]:
        """The clinic connects its WhatsApp sender (`set-whatsapp`, as an admin would) and saves `settings` (its
        templates, and anything else) with `PUT /v1/clinic`; returns the saved settings. Each test's clinic needs
        a sender of its own: the stack is shared, and one sender belongs to one clinic."""
        connected = self.admin("set-whatsapp", "--clinic", clinic.clinic_id, "--phone-number-id", sender)
        assert connected.returncode == 0, connected.stderr
        status, saved = self.api(clinic).request("PUT", "/v1/clinic", settings)
        assert status == 200, saved
        return dict(saved)

    def book_for(self, clinic: Clinic, body: dict[str, Any]) -> dict[str, Any]:
        status, booked = self.api(clinic).post("/v1/appointments", body)
        assert status == 201, booked
        return dict(booked)


class StackProcess:
    """`python -m infra.local` in a subprocess, its output collected by a reader thread."""

    def __init__(
        self, api_port: int = 0, aws_port: int = 0, data: Path | None = None, command: list[str] | None = None
    ) -> None:
        """`python -m infra.local` on the ports given, keeping its state in `data` (never the repository's own
        `.carecue-local/`), or `command` (such as `make run ... DATA=...`) as given."""
        if data is None and command is None:
            raise ValueError("a data folder of the test's own is needed: never the repository's .carecue-local/")
        self.command = command or [
            sys.executable,
            "-m",
            "infra.local",
            "--port",
            str(api_port),
            "--aws-port",
            str(aws_port),
            "--frozen-clock",
            "--clock-start",
            CLOCK_START,
        ]
        if command is None:
            self.command += ["--data", str(data)]
        self._lines: list[str] = []
        self._output_ended = False
        self._changed = threading.Condition()  # notified at every line and at the end of the output
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self._lines)

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def start(self) -> None:
        self._process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=stack_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream, read by one thread, so neither pipe can fill up and block it
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, name="carecue-e2e-stack-output", daemon=True)
        self._reader.start()

    def wait_for(self, text: str, timeout: float) -> bool:
        """True once `text` has been printed; False if the output ends or `timeout` seconds pass first.

        Searched anywhere in the output, not at a line's start: chalice prints `Serving on ...` from its server
        thread while the main thread prints the banner, and the two can share a line.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._output_ended or any(text in line for line in self._lines), timeout)
            return any(text in line for line in self._lines)

    def wait_ready(self, timeout: float) -> None:
        if self.wait_for(READY, timeout):
            return
        code = self.returncode
        self.kill()
        if code is None:
            pytest.fail(f"the local stack did not print {READY!r} within {timeout:.0f} s; output:\n{self.output}")
        pytest.fail(f"the local stack exited (code {code}) before it was ready; output:\n{self.output}")

    def terminate(self, timeout: float) -> int | None:
        """SIGTERM, as a service manager stops it: the exit status, or None if it still runs after `timeout` s."""
        assert self._process is not None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        try:
            code = self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(timeout=timeout)
        return code

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._output_ended = True
            self._changed.notify_all()


def address(output: str, label: str) -> str:
    """The URL printed after `label` in the stack's start-up banner, e.g. `CareCue API:   http://...`."""
    found = re.search(re.escape(label) + r"\s+(http://127\.0\.0\.1:\d+)", output)
    if found is None:
        raise AssertionError(f"no {label!r} address in the stack's output:\n{output}")
    return found[1]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    api_port, aws_port = free_ports(2)
    process = StackProcess(api_port, aws_port, tmp_path_factory.mktemp("carecue-local"))
    process.start()
    try:
        process.wait_ready(READY_TIMEOUT_SECONDS)
        api_url = address(process.output, "CareCue API:")
        aws_url = address(process.output, "Local AWS:")
        assert (api_url, aws_url) == (f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}")
    except BaseException:
        process.kill()
        raise

    yield LocalStack(api_url, aws_url, process)

    code = process.terminate(STOP_TIMEOUT_SECONDS)
    if code is None:
        process.kill()
        pytest.fail(f"the local stack ignored SIGTERM for {STOP_TIMEOUT_SECONDS:.0f} s; output:\n{process.output}")
    assert code == 0, f"the local stack exited with {code} on SIGTERM; output:\n{process.output}"
    assert STOPPED in process.output, f"the local stack did not say {STOPPED!r}; output:\n{process.output}"
    # The whole run's log (access log, app and moto lines alike) against everything the run issued.
    leaked = secrets_in(process.output, ISSUED.all())
    assert not leaked, f"{len(leaked)} of {len(ISSUED.all())} issued secrets are in the stack's log: {leaked}"


def secrets_in(log: str, secrets: set[str]) -> list[str]:
    """The secrets that appear in `log`, each cut to its first four characters for the failure message."""
    return sorted(f"{secret[:4]}…" for secret in secrets if secret in log)


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of the test's own, for a test that breaks what it runs on (a deleted schedule group, refused
    sends): the shared one stays whole for the others."""
    api_port, aws_port = free_ports(2)
    process = StackProcess(api_port, aws_port, tmp_path / "data")
    process.start()
    try:
        process.wait_ready(READY_TIMEOUT_SECONDS)
        yield LocalStack(address(process.output, "CareCue API:"), address(process.output, "Local AWS:"), process)
    finally:
        process.terminate(STOP_TIMEOUT_SECONDS)
        process.kill()


@pytest.fixture
def clinic(stack: LocalStack) -> Clinic:
    """A fresh clinic in New York for each test, so that no test sees another's appointments."""
    return stack.create_clinic()


def day_after(now: datetime, days: int, hour: int, minute: int, zone: str) -> datetime:
    """`days` calendar days after `now`'s date in `zone`, at hour:minute local time."""
    local = now.astimezone(ZoneInfo(zone))
    return (local + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)


def by_channel(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The messages keyed by channel; fails if a channel carried more than one."""
    channels = {m["channel"]: m for m in messages}
    assert len(channels) == len(messages), f"more than one message on a channel: {messages}"
    return channels


def fired_for(fired: list[dict[str, Any]], appointment_id: str) -> list[dict[str, Any]]:
    """The firings of one appointment's timers, out of everything a clock move fired."""
    return [f for f in fired if f["schedule"].startswith(f"{appointment_id}.")]


CONFIRM_LINK = re.compile(r" Confirm: http://127\.0\.0\.1:\d+/p/[A-Za-z0-9_-]+$")


def without_confirm_link(body: str) -> str:
    """A reminder SMS ends with the patient's confirm link (a signed token, different each time): the words
    before it are what the test can know."""
    return CONFIRM_LINK.sub("", body)
