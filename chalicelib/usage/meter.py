"""Per-clinic monthly usage: every send is added to the clinic's `usage` item with one atomic ADD, and the
spend cap is read against it before a send.

ADD on a DynamoDB number is atomic and creates the item on first use, so concurrent fires for one clinic
count every message without a read-modify-write race, and no month needs to be set up in advance. The cap
itself lives on the clinic (`monthly_spend_cap_usd`): it is a setting of the clinic that an admin edits in
the console next to its status, and it carries over from month to month; the usage item holds only counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist
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

    def record(self, clinic_id: str, at: datetime, charge: Charge) -> None:
        """Adds one sent message to the clinic's month."""
        actions: list[Action] = [Usage.estimated_cost_usd.add(charge.cost_usd), Usage.updated_at.set(at)]
        if charge.channel is Channel.SMS:
            actions += [Usage.sms_messages.add(1), Usage.sms_segments.add(charge.sms_segments)]
        else:
            actions.append(Usage.emails.add(1))
        Usage(clinic_id, billing_month(at)).update(actions=actions)

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
