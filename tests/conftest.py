"""Shared test set-up: the `test` stage's settings in the environment before anything imports the app, and
fixtures that give each test a fresh in-process moto AWS with CareCue's resources created the same way the
local stack creates them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from hypothesis import settings as hypothesis_settings
from moto import mock_aws

from chalicelib import composition
from chalicelib.composition import Services
from chalicelib.core.clock import Clock
from chalicelib.settings import Settings, local_environment
from infra.local.clock import SimulatedClock
from infra.local.messenger_fake import FakeMessengerApi
from infra.local.outbox import Outbox
from infra.local.provision import provision
from infra.local.whatsapp_emulator import WhatsAppEmulator, store_lookups

# Settings are read from the environment; set the test stage's before any test module imports the app, and
# make sure nothing can reach a real AWS account or a local stack left running.
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(local_environment("test"))
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_METRICS_NAMESPACE="CareCue",
)

# Property tests: no per-example deadline (a loaded 2-core machine is slow, not wrong); in CI the examples are
# derandomized, so a red CI is a real regression that reruns the same way, while local runs keep exploring.
hypothesis_settings.register_profile("carecue", deadline=None, print_blob=True)
hypothesis_settings.register_profile("ci", parent=hypothesis_settings.get_profile("carecue"), derandomize=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "carecue")

# Every in-process test starts at this instant, a Monday, unless it moves the clock itself.
TEST_NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ClinicKeys:
    clinic_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """How `make test` shares the tests between its pytest-xdist workers (`--dist loadgroup`): a test file to one
    worker at a time, so a module's own stack stays in one process; and the whole of tests/e2e to one worker, in
    order, since its files share one local stack whose simulated clock each moves forwards: run out of order, a
    file finds the clock past the dates it books for (seen when the tier was spread over two workers)."""
    for item in items:
        path = item.path.relative_to(config.rootpath).as_posix()
        item.add_marker(pytest.mark.xdist_group("e2e" if path.startswith("tests/e2e/") else path))


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(start=TEST_NOW, frozen=True)


@pytest.fixture
def transport_clock(clock: SimulatedClock) -> Clock:
    """The clock webhook signatures' freshness is checked against: real time in production and on the local stack;
    here the test's own clock, so that no test depends on the real date (a test about the real clock overrides it)."""
    return clock


@dataclass(frozen=True)
class World:
    """What a test sees of its fresh AWS: the app's services, and every message SNS and SES accepted."""

    services: Services
    outbox: Outbox
    session: boto3.Session
    whatsapp: WhatsAppEmulator  # AWS End User Messaging Social as the local stack emulates it

    def sent(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.outbox.messages() if channel is None or m["channel"] == channel]


@pytest.fixture
def aws(clock: SimulatedClock, transport_clock: Clock) -> Iterator[World]:
    """A fresh moto AWS with the test stage's resources, and the app's services wired to it and `clock`."""
    settings = Settings.from_env()
    with mock_aws():
        session = boto3.Session(region_name=settings.region)
        outbox = Outbox(clock)
        outbox.attach(session)
        whatsapp = WhatsAppEmulator(clock, *store_lookups())
        whatsapp.attach(session)
        provision(settings, session)
        services = composition.configure(settings, clock, session, transport_clock)
        services.messenger_api = FakeMessengerApi(clock, outbox)  # Meta's Send API, as the local stack fakes it
        yield World(services, outbox, session, whatsapp)
        composition.reset()


@pytest.fixture
def clinic(aws: World) -> ClinicKeys:
    created = aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    return ClinicKeys(created.clinic_id, created.api_key)


@pytest.fixture
def served_aws(clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A fresh moto AWS served over HTTP on 127.0.0.1 by the local stack's own AWS server, for tests that race real
    threads: in process (`aws`), moto's DynamoDB transactions are not atomic under threads (they check, write and
    roll back whole tables without a lock); served, each DynamoDB request is handled whole, as DynamoDB does."""
    from moto.core.base_backend import BackendDict

    from chalicelib.settings import point_aws_at
    from infra.local.aws_server import AwsServer, Gate

    probe = __import__("socket").socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = AwsServer("127.0.0.1", port, Gate(), lambda: None)
    server.start()
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCOUNT_ID_ENDPOINT_MODE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after the test, whatever point_aws_at sets
    point_aws_at(f"http://127.0.0.1:{port}")
    settings = Settings.from_env()
    try:
        session = boto3.Session(region_name=settings.region)
        outbox = Outbox(clock)
        outbox.attach(session)
        whatsapp = WhatsAppEmulator(clock, *store_lookups())
        whatsapp.attach(session)
        provision(settings, session)
        yield World(composition.configure(settings, clock, session, clock), outbox, session, whatsapp)
    finally:
        composition.reset()
        server.stop()
        BackendDict.reset()
