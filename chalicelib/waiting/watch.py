"""The running-late watch: a one-time EventBridge Scheduler timer per provider every 5 minutes of a clinic
day, so that a provider's lag is noticed while nothing else happens (a long visit in progress).

Each timer is named after the clinic, the provider and its 5-minute slot: arming the same slot twice (a
check-in and a finish in the same five minutes) is one timer, and a fired timer never has to be updated in
place (its completion delete would race with the update). Its Input is ids only; the fire function reloads
the provider's day.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.clock import iso_utc, to_utc
from chalicelib.errors import TimerError
from chalicelib.scheduling.timers import RETRY_POLICY, SCHEDULED_TIME

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

WATCH_EVERY = timedelta(minutes=5)
EVENT_KIND = "wait-watch"


@dataclass(frozen=True)
class WatchEvent:
    clinic_id: str
    provider: str
    scheduled_time: datetime


def next_slot(now: datetime) -> datetime:
    """The first 5-minute boundary at least 5 minutes after `now`."""
    moment = to_utc(now) + WATCH_EVERY
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    slots = -(-(moment - epoch) // WATCH_EVERY)  # ceiling division of timedeltas
    return epoch + slots * WATCH_EVERY


def watch_name(clinic_id: str, provider: str, slot: datetime) -> str:
    provider_part = hashlib.sha256(provider.encode("utf-8")).hexdigest()[:12]  # names are free text; keep them out
    return f"wait.{clinic_id}.{provider_part}.{to_utc(slot):%Y%m%d%H%M}"


def parse_watch_event(event: Any) -> WatchEvent | None:
    """The watch's event, or None for any other event (a reminder timer's)."""
    if not isinstance(event, dict) or event.get("kind") != EVENT_KIND:
        return None
    clinic_id, provider = event.get("clinic_id"), event.get("provider")
    scheduled = datetime.fromisoformat(str(event.get("scheduled_time")))
    if not isinstance(clinic_id, str) or not isinstance(provider, str) or scheduled.tzinfo is None:
        raise ValueError("a wait-watch event needs clinic_id, provider and a scheduled_time with a zone")
    return WatchEvent(clinic_id, provider, scheduled)


class WatchTimers:
    def __init__(
        self,
        scheduler: EventBridgeSchedulerClient,
        *,
        group: str,
        target_arn: str,
        role_arn: str,
        dead_letter_arn: str,
    ) -> None:
        self._scheduler = scheduler
        self._group = group
        self._target = {
            "Arn": target_arn,
            "RoleArn": role_arn,
            "RetryPolicy": RETRY_POLICY,
            "DeadLetterConfig": {"Arn": dead_letter_arn},
        }

    def arm(self, clinic_id: str, provider: str, now: datetime) -> None:
        """Arms the provider's next watch slot; an already armed slot is left as it is."""
        slot = next_slot(now)
        event = {"kind": EVENT_KIND, "clinic_id": clinic_id, "provider": provider, "scheduled_time": SCHEDULED_TIME}
        try:
            self._scheduler.create_schedule(
                Name=watch_name(clinic_id, provider, slot),
                GroupName=self._group,
                ScheduleExpression=f"at({slot:%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                State="ENABLED",
                Description=f"CareCue running-late watch due {iso_utc(slot)}",
                Target={**self._target, "Input": json.dumps(event, separators=(",", ":"))},  # type: ignore[arg-type]
            )
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", "Unknown"))
            if code != "ConflictException":
                raise TimerError(code) from e
