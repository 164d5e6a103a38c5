"""What a running local stack tells the admin command line about itself: the API address it serves and its
simulated clock, so that a command pointed at the local stack (`--endpoint-url`) acts at the stack's "now" (a
spend-cap release arms its timers a minute after the simulated now, not the machine's) and prints the stack's
own URLs (`webhook-url`).

The stack (`infra/local`) writes one SSM String parameter, `/carecue/{stage}/local-stack`, on its local AWS at
start and after every move of its clock; the command line reads it with the SSM client it has anyway. On AWS
the parameter does not exist, so nothing changes there: the command line keeps the system clock and needs
`--base-url`. Only the command line reads it: the Lambda functions' composition never looks for it.

The value is `{"api_url", "now", "frozen", "published_at"}`: `now` is the stack's clock when it wrote the
value, `published_at` the machine's clock then; a running (not frozen) clock has moved on since by as much as the
machine's clock has.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from msgspec import Struct

from chalicelib.core.clock import Clock, SystemClock, to_utc
from chalicelib.settings import parameter_path


def parameter_name(stage: str) -> str:
    return f"{parameter_path(stage)}/local-stack"


class PublishedStack(Struct, frozen=True):
    api_url: str
    now: datetime
    frozen: bool
    published_at: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "api_url": self.api_url,
                "now": to_utc(self.now).isoformat(),
                "frozen": self.frozen,
                "published_at": to_utc(self.published_at).isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PublishedStack:
        value: dict[str, Any] = json.loads(text)
        return cls(
            api_url=str(value["api_url"]),
            now=to_utc(datetime.fromisoformat(value["now"])),
            frozen=bool(value["frozen"]),
            published_at=to_utc(datetime.fromisoformat(value["published_at"])),
        )

    def clock(self, machine: Clock | None = None) -> Clock:
        """The stack's clock as this process can follow it: standing still if frozen, else ticking with the
        machine's clock from where the stack left it."""
        return _StackClock(self, machine or SystemClock())


class _StackClock:
    def __init__(self, published: PublishedStack, machine: Clock) -> None:
        self._published = published
        self._machine = machine

    def now(self) -> datetime:
        if self._published.frozen:
            return self._published.now
        return self._published.now + (self._machine.now() - self._published.published_at)


def read_published(ssm: Any, stage: str) -> PublishedStack | None:
    """The running local stack's publication for `stage`, or None where there is none (AWS, plain moto)."""
    try:
        parameter = ssm.get_parameter(Name=parameter_name(stage))
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    return PublishedStack.from_json(parameter["Parameter"]["Value"])
