"""What one message costs the clinic (pure): its SMS segments and its channel fee from the price table.

The country of a phone number is its E.164 calling code, found by prefix: ITU-T calling codes are a prefix
code (no code begins another), so the longest listed code that starts the number is the number's own. This
keeps `phonenumbers` (60-90 ms of import, measured here) off the fire path, where it would be paid on every
cold start; numbers were validated with it when they were stored.
"""

from __future__ import annotations

import re
from datetime import datetime

from msgspec import Struct

from chalicelib.core.clock import to_utc
from chalicelib.core.words import Channel
from chalicelib.render.segments import sms_segments
from chalicelib.settings import PriceTable

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Charge(Struct, frozen=True):
    channel: Channel
    sms_segments: int  # 0 for an email
    cost_usd: float


def charge_for(prices: PriceTable, channel: Channel, address: str, body: str, *, template: bool = False) -> Charge:
    """`template`: a WhatsApp template message (Meta's fee by country plus AWS's), else a free-form one (AWS's)."""
    if channel is Channel.EMAIL:
        return Charge(channel, 0, prices.email_usd)
    if channel is Channel.MESSENGER:
        return Charge(channel, 0, 0.0)  # Meta charges nothing for Messenger messages, template or not
    if channel is Channel.WHATSAPP:
        meta = by_calling_code(prices.whatsapp_template_usd, prices.other_whatsapp_template_usd, address)
        return Charge(channel, 0, round((meta if template else 0.0) + prices.whatsapp_aws_fee_usd, 8))
    segments = sms_segments(body)
    return Charge(channel, segments, round(segments * sms_segment_price(prices, address), 8))


def sms_segment_price(prices: PriceTable, phone: str) -> float:
    return by_calling_code(prices.sms_segment_usd, prices.other_sms_segment_usd, phone)


def by_calling_code(table: tuple[tuple[str, float], ...], other: float, phone: str) -> float:
    digits = phone.removeprefix("+")
    listed = [(code, price) for code, price in table if digits.startswith(code)]
    if not listed:
        return other
    return max(listed, key=lambda item: len(item[0]))[1]


def billing_month(moment: datetime) -> str:
    """ "2026-12": usage is kept per calendar month in UTC, as AWS bills."""
    return f"{to_utc(moment):%Y-%m}"


def is_billing_month(text: str) -> bool:
    return _MONTH.match(text) is not None
