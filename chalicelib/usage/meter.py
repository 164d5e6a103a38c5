"""Per-clinic monthly usage: every send is added to the clinic's `usage` item with one atomic ADD, made just
before the message goes out and conditioned on the month still being under the clinic's spend cap.

Counting before the send, conditionally, makes the cap hold under concurrency: two sends racing for the last
room under the cap cannot both go, so a month overshoots its cap by at most the one message that crossed it. A
send the channel then refuses is taken off again (`refund`), and a function that dies after the channel took
the message has already counted it.

ADD on a DynamoDB number is atomic and creates the item on first use, so concurrent fires for one clinic
count every message without a read-modify-write race, and no month needs to be set up in advance. The cap
itself lives on the clinic (`monthly_spend_cap_usd`): it is a setting of the clinic that an admin edits in
the console next to its status, and it carries over from month to month; the usage item holds only counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.observability import logger
from chalicelib.planning.appointment_reminders import Channel
from chalicelib.settings import PriceTable
from chalicelib.store import reads
from chalicelib.store.models import Clinic, Usage
from chalicelib.usage.pricing import Charge, billing_month, charge_for


@dataclass(frozen=True)
class MonthUsage:
    clinic_id: str
    month: str
    sms_messages: int
    sms_segments: int
    emails: int
    estimated_cost_usd: float
    spend_cap_usd: float
    spend_cap_skips: int

    @property
    def spend_cap_reached(self) -> bool:
        return self.estimated_cost_usd >= self.spend_cap_usd


class UsageMeter:
    def __init__(self, prices: PriceTable, default_spend_cap_usd: float) -> None:
        self._prices = prices
        self._default_cap = default_spend_cap_usd

    def charge(self, channel: Channel, address: str, body: str) -> Charge:
        return charge_for(self._prices, channel, address, body)

    def reserve(self, clinic: Clinic, at: datetime, charge: Charge) -> bool:
        """Counts a message about to be sent if the clinic's month is still under its cap; False, with nothing
        counted, when it is not."""
        cap = self.spend_cap(clinic)
        if cap <= 0:
            return False
        under_cap = Usage.estimated_cost_usd.does_not_exist() | (Usage.estimated_cost_usd < cap)
        try:
            self._add(clinic.clinic_id, at, charge, 1, condition=under_cap)
        except UpdateError as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record(self, clinic_id: str, at: datetime, charge: Charge) -> None:
        """Counts a message unconditionally (one sent outside the fire path, or a correction)."""
        self._add(clinic_id, at, charge, 1)

    def refund(self, clinic_id: str, at: datetime, charge: Charge) -> None:
        """Takes back a reserved message the channel did not take."""
        self._add(clinic_id, at, charge, -1)

    def _add(self, clinic_id: str, at: datetime, charge: Charge, sign: int, condition: Any = None) -> None:
        actions: list[Action] = [Usage.estimated_cost_usd.add(sign * charge.cost_usd), Usage.updated_at.set(at)]
        if charge.channel is Channel.SMS:
            actions += [Usage.sms_messages.add(sign), Usage.sms_segments.add(sign * charge.sms_segments)]
        else:
            actions.append(Usage.emails.add(sign))
        Usage(clinic_id, billing_month(at)).update(actions=actions, condition=condition)

    def record_cap_skip(self, clinic_id: str, at: datetime) -> None:
        Usage(clinic_id, billing_month(at)).update(actions=[Usage.spend_cap_skips.add(1), Usage.updated_at.set(at)])

    def cap_reached(self, clinic: Clinic, at: datetime) -> bool:
        """True when the clinic's estimated cost this month has reached its cap: nothing more is sent."""
        return self.month(clinic, billing_month(at)).spend_cap_reached

    def for_clinic(self, clinic_id: str, month: str) -> MonthUsage:
        return self.month(Clinic.get(clinic_id), month)

    def month(self, clinic: Clinic, month: str) -> MonthUsage:
        try:
            usage = reads.get(Usage, clinic.clinic_id, month, consistent_read=False)
        except DoesNotExist:
            usage = Usage(clinic.clinic_id, month)
        return MonthUsage(
            clinic_id=clinic.clinic_id,
            month=month,
            sms_messages=int(usage.sms_messages or 0),
            sms_segments=int(usage.sms_segments or 0),
            emails=int(usage.emails or 0),
            estimated_cost_usd=round(float(usage.estimated_cost_usd or 0), 6),
            spend_cap_usd=self.spend_cap(clinic),
            spend_cap_skips=int(usage.spend_cap_skips or 0),
        )

    def spend_cap(self, clinic: Clinic) -> float:
        """The clinic's own cap, else the stage's default. A cap edited by hand to nonsense falls back too."""
        cap = clinic.monthly_spend_cap_usd
        if cap is None:
            return self._default_cap
        if not 0 <= float(cap) < 1e9:
            logger.warning("spend cap ignored", extra={"clinic_id": clinic.clinic_id, "problem": "out of range"})
            return self._default_cap
        return float(cap)
