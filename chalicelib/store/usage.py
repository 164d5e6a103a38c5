"""The monthly usage counters (`chalicelib.meter.meter` decides what to count): one `usage` item per clinic and
calendar month (UTC), every counter grown by an atomic ADD.

ADD on a DynamoDB number is atomic and creates the item on first use, so concurrent sends for one clinic count
every message without a read-modify-write race, and no month needs to be set up in advance. The ADD made just
before a send is conditioned on the month's estimated cost being under the cap (or not there yet): of two sends
racing for the last room under the cap only one is counted, and the other's write does nothing. Taking a count
back off is the same ADD with negated amounts, unconditioned. Only the counters of the message's channel are
touched (an SMS adds to `sms_messages` and `sms_segments`, an email to `emails`, a WhatsApp message to
`whatsapp_messages`, a Messenger one to `messenger_messages`).

A write DynamoDB refuses for any other reason (throttled past botocore's retries, say) is a PynamoDB error;
a caller that must not be held back by one runs the write under `refusals()`, which turns it into
`UsageNotCounted`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime

from msgspec import Struct, field
from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.core import records
from chalicelib.core.errors import CareCueError
from chalicelib.store import reads
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_record
from chalicelib.store.models import Clinic, Usage


class UsageNotCounted(CareCueError):
    """DynamoDB refused a usage write; `code` is its error code when it gave one."""

    def __init__(self, code: str | None) -> None:
        self.code = code
        super().__init__(f"usage write refused: {code}")


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Any PynamoDB error raised inside becomes `UsageNotCounted`, with DynamoDB's code."""
    try:
        yield
    except PynamoDBException as e:
        raise UsageNotCounted(e.cause_response_code) from e


def add(
    clinic_id: str,
    month: str,
    at: datetime,
    cost_usd: float,
    *,
    sms_messages: int | None = None,
    sms_segments: int | None = None,
    emails: int | None = None,
    whatsapp_messages: int | None = None,
    messenger_messages: int | None = None,
) -> None:
    """Adds to the month's counters unconditionally; a counter left None is not touched."""
    _add(
        clinic_id, month, at, cost_usd, sms_messages, sms_segments, emails, None, whatsapp_messages, messenger_messages
    )


class UnderCap(Struct, frozen=True):
    """A count to add to a month only while its estimated cost is under `cap_usd` (`add_under_cap`'s arguments),
    for a caller that writes it in a transaction with other items (`chalicelib.store.deliveries.claim_counted`)."""

    clinic_id: str
    month: str
    at: datetime
    cost_usd: float
    cap_usd: float
    counts: dict[str, int] = field(default_factory=dict)  # the channel's counters: sms_messages=1, ...

    def write(self) -> tuple[Usage, list[Action], Condition]:
        """The item, its update actions and the under-cap condition, as `add_under_cap` writes them."""
        counts = self.counts
        actions = _actions(
            self.at,
            self.cost_usd,
            counts.get("sms_messages"),
            counts.get("sms_segments"),
            counts.get("emails"),
            counts.get("whatsapp_messages"),
            counts.get("messenger_messages"),
        )
        return Usage(self.clinic_id, self.month), actions, _under(self.cap_usd)


def together(counts: Sequence[UnderCap]) -> UnderCap | None:
    """Several counts of one clinic's month as one write (`chalicelib.store.deliveries.claim_all`), under the
    condition that every count in turn would have met: the month's cost leaves room for all of them but the last
    (the strictest of the checks made one after another, so one passes exactly when all of those would). None when
    that leaves no room at all: the caller counts them one at a time."""
    total = sum(count.cost_usd for count in counts)
    cap = min(count.cap_usd for count in counts) - (total - counts[-1].cost_usd)
    if cap <= 0:
        return None
    added: dict[str, int] = {}
    for count in counts:
        for name, n in count.counts.items():
            added[name] = added.get(name, 0) + n
    first = counts[0]
    return UnderCap(first.clinic_id, first.month, max(count.at for count in counts), total, cap, added)


def _under(cap_usd: float) -> Condition:
    under: Condition = Usage.estimated_cost_usd.does_not_exist() | (Usage.estimated_cost_usd < cap_usd)
    return under


def add_under_cap(
    clinic_id: str,
    month: str,
    at: datetime,
    cost_usd: float,
    cap_usd: float,
    *,
    sms_messages: int | None = None,
    sms_segments: int | None = None,
    emails: int | None = None,
    whatsapp_messages: int | None = None,
    messenger_messages: int | None = None,
) -> bool:
    """Adds as `add` if the month's estimated cost is still under `cap_usd`; False, with nothing added, if not."""
    under_cap = _under(cap_usd)
    try:
        _add(
            clinic_id,
            month,
            at,
            cost_usd,
            sms_messages,
            sms_segments,
            emails,
            under_cap,
            whatsapp_messages,
            messenger_messages,
        )
    except UpdateError as e:
        if condition_failed(e):
            return False
        raise
    return True


def take_back(
    clinic_id: str,
    month: str,
    at: datetime,
    cost_usd: float,
    *,
    sms_messages: int | None = None,
    sms_segments: int | None = None,
    emails: int | None = None,
    whatsapp_messages: int | None = None,
    messenger_messages: int | None = None,
) -> None:
    """Takes amounts counted by `add_under_cap` (or `add`) back off the month."""
    _add(
        clinic_id,
        month,
        at,
        -cost_usd,
        None if sms_messages is None else -sms_messages,
        None if sms_segments is None else -sms_segments,
        None if emails is None else -emails,
        None,
        None if whatsapp_messages is None else -whatsapp_messages,
        None if messenger_messages is None else -messenger_messages,
    )


def _add(
    clinic_id: str,
    month: str,
    at: datetime,
    cost_usd: float,
    sms_messages: int | None,
    sms_segments: int | None,
    emails: int | None,
    condition: Condition | None,
    whatsapp_messages: int | None = None,
    messenger_messages: int | None = None,
) -> None:
    actions = _actions(at, cost_usd, sms_messages, sms_segments, emails, whatsapp_messages, messenger_messages)
    Usage(clinic_id, month).update(actions=actions, condition=condition)


def _actions(
    at: datetime,
    cost_usd: float,
    sms_messages: int | None,
    sms_segments: int | None,
    emails: int | None,
    whatsapp_messages: int | None,
    messenger_messages: int | None,
) -> list[Action]:
    actions: list[Action] = [Usage.estimated_cost_usd.add(cost_usd), Usage.updated_at.set(at)]
    if sms_messages is not None:
        actions.append(Usage.sms_messages.add(sms_messages))
    if sms_segments is not None:
        actions.append(Usage.sms_segments.add(sms_segments))
    if emails is not None:
        actions.append(Usage.emails.add(emails))
    if whatsapp_messages is not None:
        actions.append(Usage.whatsapp_messages.add(whatsapp_messages))
    if messenger_messages is not None:
        actions.append(Usage.messenger_messages.add(messenger_messages))
    return actions


def count_cap_skip(clinic_id: str, month: str, at: datetime) -> None:
    """One more reminder the cap held back this month."""
    Usage(clinic_id, month).update(actions=[Usage.spend_cap_skips.add(1), Usage.updated_at.set(at)])


def month_of(clinic_id: str, month: str) -> records.Usage:
    """The month's counters (prefetched on the fire path), read eventually consistent; all zero before the first
    message of the month."""
    try:
        return to_record(reads.get(Usage, clinic_id, month, consistent_read=False), records.Usage)
    except DoesNotExist:
        return records.Usage(clinic_id=clinic_id, month=month)


def clinic(clinic_id: str) -> records.Clinic:
    """The clinic whose usage is asked for; `Clinic.DoesNotExist` propagates."""
    return to_record(Clinic.get(clinic_id), records.Clinic)
