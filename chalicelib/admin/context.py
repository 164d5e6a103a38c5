"""What every admin command gets: the stage, and AWS clients and tables for it, made on first use; and the
stage's `Services`, the same composition root the Lambda functions use, so a command runs what they run."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import Clock, SystemClock
from chalicelib.core.errors import InvalidRequest
from chalicelib.settings import parameter_path, resource_prefix

if TYPE_CHECKING:
    from chalicelib.admin.local_stack import PublishedStack
    from chalicelib.composition import Services


@dataclass
class AdminContext:
    stage: str
    region: str | None
    _session: Any = field(default=None, repr=False)
    clock: Clock = field(default_factory=SystemClock)  # tests pass a simulated one; the local stack's is followed
    local_stack: PublishedStack | None = None  # what a running local stack published about itself, if any

    @cached_property
    def session(self) -> Any:
        import boto3

        session = boto3.Session(region_name=self.region)
        if not session.region_name:
            raise InvalidRequest.single("--region", "is needed: no AWS region is configured")
        return session

    @cached_property
    def services(self) -> Services:
        """The stage's services with its settings as its functions have them (`chalicelib.admin.stage`)."""
        from chalicelib.admin.stage import stage_settings
        from chalicelib.composition import Services

        return Services(stage_settings(self), self.clock, self.session)

    def client(self, service: str) -> Any:
        return self.session.client(service)

    @property
    def parameter_path(self) -> str:
        return parameter_path(self.stage)

    def bind_tables(self) -> None:
        from chalicelib.store.models import bind_tables

        bind_tables(resource_prefix(self.stage), self.session.region_name)
