"""The API tier's set-up: the REST API as a clinic's system calls it, Chalice's test client on the app, over the
fresh moto AWS of tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client

from app import app
from tests.conftest import World


@pytest.fixture
def api(aws: World) -> Iterator[Client]:
    with Client(app, stage_name="local") as client:
        yield client
