"""Booking-tool webhooks end to end: `python -m infra.local` in a subprocess, as `make run` starts it, driven
only from outside: the admin command line, signed posts to the webhook URL, the REST API, and the local clock
and outbox routes. One stack, one clinic, one story: created, retried, rescheduled (in both tools' ways, one of
them delivered out of order), cancelled, rejected, and then the clock moved past every reminder; a Square
connection whose notification URL set-webhook-secret fills in, delivered to after the clock moved two days.

The tools sign with the real time (`time.time()`): the stack checks signature freshness against the real clock,
whatever its simulated clock says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.local.ports import free_ports
from tests.webhook_support import body_of, fixture, signature_headers

REPO_ROOT = Path(__file__).resolve().parents[2]
CLOCK_START = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
READY_TIMEOUT_SECONDS = 60.0
JSON = {"Content-Type": "application/json"}


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(
        text.replace("Z", "+00:00")
    )  # a cold start imports boto3, moto and chalice and creates the tables


class Stack:
    def __init__(self, data: Path) -> None:
        self.api_port, self.aws_port = free_ports(2)
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "CARECUE_STAGE")
        }
        command = [sys.executable, "-m", "infra.local", "--port", str(self.api_port), "--aws-port", str(self.aws_port)]
        command += ["--frozen-clock", "--clock-start", CLOCK_START.isoformat()]
        command += ["--data", str(data)]  # never the repository's own .carecue-local/
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("Ready."):
                self.ready.set()

    def admin(self, *args: str) -> dict[str, Any]:
        command = [sys.executable, "-m", "chalicelib.admin", "--endpoint-url", f"http://127.0.0.1:{self.aws_port}"]
        done = subprocess.run(
            [*command, *args], cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        url = f"http://127.0.0.1:{self.api_port}{path}"
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the stack on 127.0.0.1
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    def deliver(
        self, provider: str, clinic_id: str, secret: str, payload: Any, signed_at: float | None = None, **sign: str
    ) -> tuple[int, Any]:
        body = body_of(payload)
        headers = {"Content-Type": "application/json"}
        stamp = int(time.time() if signed_at is None else signed_at)  # a tool signs with real time
        headers |= signature_headers(provider, secret, body, stamp, **sign)
        status, answer = self.call("POST", f"/webhooks/{provider}/{clinic_id}", body, headers)
        return status, answer

    def pending(self) -> list[tuple[str, str]]:
        _, clock = self.call("GET", "/_local/clock")
        return [(p["schedule"], p["at"]) for p in clock["pending"]]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("carecue-local"))
    if not running.ready.wait(READY_TIMEOUT_SECONDS):
        running.process.kill()
        pytest.fail("the local stack did not start:\n" + "".join(running.output))
    yield running
    running.process.terminate()
    running.process.wait(timeout=15)


def test_bookings_from_calcom_and_calendly_live_through_the_local_stack(stack: Stack) -> None:
    clinic = stack.admin("create-clinic", "--name", "Riverside Family Clinic", "--timezone", "America/New_York")
    cid, secret = clinic["clinic_id"], clinic["webhook_secret"]  # the default secret for tools that let you choose

    # Created, then retried: one appointment, its two reminders armed (each on one channel, the first of the order).
    status, booked = stack.deliver("calcom", cid, secret, fixture("calcom", "booking_created.json"))
    assert status == 200 and booked["outcome"] == "booked"
    assert stack.deliver("calcom", cid, secret, fixture("calcom", "booking_created.json"))[1]["outcome"] == (
        "already_applied"
    )
    calcom_id = booked["appointment_id"]
    assert sorted(t for n, t in stack.pending() if n.startswith(calcom_id)) == [
        "2026-12-01T15:00:00Z",
        "2026-12-02T13:00:00Z",
    ]

    # Cal.com reschedules under a new uid: the same appointment moves, its timers with it; then it is cancelled.
    moved = stack.deliver("calcom", cid, secret, fixture("calcom", "booking_rescheduled.json"))[1]
    assert (moved["appointment_id"], moved["outcome"]) == (calcom_id, "moved")
    assert {t for n, t in stack.pending() if n.startswith(calcom_id)} == {
        "2026-12-02T20:30:00Z",
        "2026-12-03T18:30:00Z",
    }
    cancelled = stack.deliver("calcom", cid, secret, fixture("calcom", "booking_cancelled.json"))[1]
    assert (cancelled["appointment_id"], cancelled["status"]) == (calcom_id, "cancelled")
    assert [n for n, _ in stack.pending() if n.startswith(calcom_id)] == []

    # Calendly reschedules by cancel + create, delivered here create-first and with the original create last.
    new = stack.deliver("calendly", cid, secret, fixture("calendly", "invitee_created_rescheduled.json"))[1]
    original = stack.deliver("calendly", cid, secret, fixture("calendly", "invitee_created.json"))[1]
    ignored = stack.deliver("calendly", cid, secret, fixture("calendly", "invitee_canceled_rescheduled.json"))
    assert original["appointment_id"] == new["appointment_id"]
    assert original["outcome"] == "stale"
    assert ignored[0] == 202

    # A forged delivery is refused and stores nothing.
    forged = stack.deliver("calcom", cid, secret + "x", fixture("calcom", "booking_created.json"))
    assert forged[0] == 401
    window = "from=2026-11-30T00:00:00Z&to=2026-12-31T00:00:00Z"
    auth = {"Authorization": f"Bearer {clinic['api_key']}"}
    listed = stack.call("GET", f"/v1/appointments?{window}", headers=auth)[1]["appointments"]
    assert sorted((a["source"], a["status"]) for a in listed) == [("calcom", "cancelled"), ("calendly", "booked")]

    # Past every reminder: the Calendly patient (in London) hears of the new time only, the cancelled one nothing more.
    status, _ = stack.call(
        "POST",
        "/_local/clock",
        json.dumps({"to": "2026-12-04T00:00:00Z"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200
    sms = stack.call("GET", "/_local/outbox")[1]["messages"]
    calendly = [m["body"] for m in sms if m["to"] == "+14155550102"]
    # The booking (at the new time: the patient never heard of the old one) and its two reminders.
    assert calendly[0] == "Riverside Family Clinic: your appointment is booked for Thu 3 Dec at 8:30 PM."
    assert len(calendly) == 3
    assert all("Thu 3 Dec at 8:30 PM" in text for text in calendly)
    calcom = [m["body"] for m in sms if m["to"] == "+14155550101"]
    # The Cal.com attendee booked in Spanish: her texts are in Spanish.
    assert calcom == [
        "Riverside Family Clinic: su cita es el mié 2 de dic, 10:00.",
        "Riverside Family Clinic: su cita se ha movido al jue 3 de dic, 15:30.",
        "Riverside Family Clinic: su cita del jue 3 de dic, 15:30 queda cancelada.",
    ]


def test_square_set_up_without_a_url_and_calendly_both_work_after_the_clock_moved_two_days(stack: Stack) -> None:
    clinic = stack.admin("create-clinic", "--name", "Lakeside Clinic", "--timezone", "America/New_York")
    cid, secret = clinic["clinic_id"], clinic["webhook_secret"]
    connected = stack.admin("set-webhook-secret", "--clinic", cid, "--provider", "square", "--secret", "sq-key")
    printed = stack.admin("webhook-url", "--clinic", cid, "--provider", "square")
    assert connected["notification_url"] == printed["url"]
    assert printed["url"].endswith(f"/webhooks/square/{cid}")
    _, clock = stack.call("GET", "/_local/clock")
    later = (parse_instant(clock["now"]) + timedelta(days=2)).isoformat()
    assert stack.call("POST", "/_local/clock", json.dumps({"to": later}).encode(), JSON)[0] == 200

    square = stack.deliver(
        "square", cid, "sq-key", fixture("square", "booking_created.json"), square_url=printed["url"]
    )
    calendly = stack.deliver("calendly", cid, secret, fixture("calendly", "invitee_created.json"))
    by_stack_clock = stack.deliver(
        "calendly",
        cid,
        secret,
        fixture("calendly", "invitee_canceled.json"),
        signed_at=parse_instant(later).timestamp(),
    )

    assert square[0] == 200, square
    assert calendly[0] == 200, calendly
    assert by_stack_clock == (401, by_stack_clock[1])
    assert by_stack_clock[1]["error"]["message"] == "the signature's timestamp is outside the allowed window"
