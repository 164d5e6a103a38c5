"""What every admin command gets: the stage, and AWS clients and tables for it, made on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from chalicelib.clock import Clock, SystemClock
from chalicelib.errors import InvalidRequest
from chalicelib.settings import parameter_path, resource_prefix


@dataclass
class AdminContext:
    stage: str
    region: str | None
    _session: Any = field(default=None, repr=False)
    clock: Clock = field(default_factory=SystemClock)  # tests pass a simulated one

    @cached_property
    def session(self) -> Any:
        import boto3

        session = boto3.Session(region_name=self.region)
        if not session.region_name:
            raise InvalidRequest.single("--region", "is needed: no AWS region is configured")
        return session

    def client(self, service: str) -> Any:
        return self.session.client(service)

    @property
    def parameter_path(self) -> str:
        return parameter_path(self.stage)

    def bind_tables(self) -> None:
        from chalicelib.store.models import bind_tables

        bind_tables(resource_prefix(self.stage), self.session.region_name)
