"""Per-clinic monthly usage: every send is counted in the clinic's month just before the message goes out,
and only while the month is still under the clinic's spend cap (how: `chalicelib.store.usage`, one atomic
conditional ADD).

Counting before the send, conditionally, makes the cap hold under concurrency: two sends racing for the last
room under the cap cannot both go, so a month overshoots its cap by at most the one message that crossed it. A
send the channel then refuses is taken off again (`refund`), and a function that dies after the channel took
the message has already counted it.

The cap itself lives on the clinic (`monthly_spend_cap_usd`): it is a setting of the clinic that an admin edits
in the console next to its status, and it carries over from month to month; the usage item holds only counts.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.core.observability import logger
from chalicelib.core.records import Clinic
from chalicelib.core.words import Channel
from chalicelib.meter.pricing import Charge, billing_month, charge_for
from chalicelib.settings import PriceTable
from chalicelib.store import usage as usage_store


class MonthUsage(Struct, frozen=True):
    clinic_id: str
    month: str
    sms_messages: int
    sms_segments: int
    emails: int
    estimated_cost_usd: float
    spend_cap_usd: float
    spend_cap_skips: int
    whatsapp_messages: int = 0
    messenger_messages: int = 0

    @property
    def spend_cap_reached(self) -> bool:
        return self.estimated_cost_usd >= self.spend_cap_usd


class UsageMeter:
    def __init__(self, prices: PriceTable, default_spend_cap_usd: float) -> None:
        self._prices = prices
        self._default_cap = default_spend_cap_usd

    def charge(self, channel: Channel, address: str, body: str, *, template: bool = False) -> Charge:
        return charge_for(self._prices, channel, address, body, template=template)

    def reserve(self, clinic: Clinic, at: datetime, charge: Charge) -> bool:
        """Counts a message about to be sent if the clinic's month is still under its cap; False, with nothing
        counted, when it is not."""
        cap = self.spend_cap(clinic)
        if cap <= 0:
            return False
        return usage_store.add_under_cap(
            clinic.clinic_id, billing_month(at), at, charge.cost_usd, cap, **_counts(charge)
        )

    def reservation(self, clinic: Clinic, at: datetime, charge: Charge) -> usage_store.UnderCap | None:
        """The count `reserve` would add, to write in a transaction with the send's claim; None when the clinic's
        cap leaves no room at all."""
        cap = self.spend_cap(clinic)
        if cap <= 0:
            return None
        return usage_store.UnderCap(clinic.clinic_id, billing_month(at), at, charge.cost_usd, cap, _counts(charge))

    def record(self, clinic_id: str, at: datetime, charge: Charge) -> None:
        """Counts a message unconditionally: an answer the carriers require (never held back), or a correction."""
        usage_store.add(clinic_id, billing_month(at), at, charge.cost_usd, **_counts(charge))

    def refund(self, clinic_id: str, at: datetime, charge: Charge) -> None:
        """Takes back a reserved message the channel did not take."""
        usage_store.take_back(clinic_id, billing_month(at), at, charge.cost_usd, **_counts(charge))

    def record_cap_skip(self, clinic_id: str, at: datetime) -> None:
        usage_store.count_cap_skip(clinic_id, billing_month(at), at)

    def cap_reached(self, clinic: Clinic, at: datetime) -> bool:
        """True when the clinic's estimated cost this month has reached its cap: nothing more is sent.

        A usage table that cannot be read reads as under the cap: the message goes and `MeteredSender` counts it
        as not metered (a patient's message matters more than the count; the outage bounds the overshoot)."""
        try:
            with usage_store.refusals():
                return self.month(clinic, billing_month(at)).spend_cap_reached
        except usage_store.UsageNotCounted as e:
            logger.error("usage not read for the spend cap", extra={"clinic_id": clinic.clinic_id, "code": e.code})
            return False

    def for_clinic(self, clinic_id: str, month: str) -> MonthUsage:
        return self.month(usage_store.clinic(clinic_id), month)

    def month(self, clinic: Clinic, month: str) -> MonthUsage:
        usage = usage_store.month_of(clinic.clinic_id, month)
        return MonthUsage(
            clinic_id=clinic.clinic_id,
            month=month,
            sms_messages=int(usage.sms_messages or 0),
            sms_segments=int(usage.sms_segments or 0),
            emails=int(usage.emails or 0),
            estimated_cost_usd=round(float(usage.estimated_cost_usd or 0), 6),
            spend_cap_usd=self.spend_cap(clinic),
            spend_cap_skips=int(usage.spend_cap_skips or 0),
            whatsapp_messages=int(usage.whatsapp_messages or 0),
            messenger_messages=int(usage.messenger_messages or 0),
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


def _counts(charge: Charge) -> dict[str, int]:
    """The counters one message adds to: its channel's only."""
    if charge.channel is Channel.SMS:
        return {"sms_messages": 1, "sms_segments": charge.sms_segments}
    if charge.channel is Channel.WHATSAPP:
        return {"whatsapp_messages": 1}
    if charge.channel is Channel.MESSENGER:
        return {"messenger_messages": 1}
    return {"emails": 1}
