"""A clinic's month of usage as the API and the admin command line show it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from typing_extensions import TypedDict

from chalicelib.core.errors import InvalidRequest
from chalicelib.meter.meter import MonthUsage
from chalicelib.meter.pricing import billing_month, is_billing_month

CSV_COLUMNS = (
    "clinic_id",
    "month",
    "sms_messages",
    "sms_segments",
    "emails",
    "estimated_cost_usd",
    "spend_cap_usd",
    "spend_cap_reached",
    "spend_cap_skips",
    "whatsapp_messages",
    "messenger_messages",
)


def requested_month(params: Mapping[str, str] | None, now: datetime) -> str:
    """`?month=YYYY-MM`; the current month (UTC) when absent."""
    month = (params or {}).get("month")
    if month is None:
        return billing_month(now)
    if not is_billing_month(month):
        raise InvalidRequest.single("month", "must be a month as YYYY-MM, e.g. 2026-12")
    return month


class MessageCounts(TypedDict):
    sms: int
    email: int
    whatsapp: int
    messenger: int


class SpendCapView(TypedDict):
    usd: float
    reached: bool
    reminders_skipped: int


class UsageView(TypedDict):
    """`GET /v1/usage`: a clinic's metered use in a month (UTC) and its spend cap."""

    clinic_id: str
    month: str
    messages: MessageCounts
    sms_segments: int
    emails: int
    estimated_cost_usd: float
    spend_cap: SpendCapView


def usage_view(usage: MonthUsage) -> UsageView:
    return {
        "clinic_id": usage.clinic_id,
        "month": usage.month,
        "messages": {
            "sms": usage.sms_messages,
            "email": usage.emails,
            "whatsapp": usage.whatsapp_messages,
            "messenger": usage.messenger_messages,
        },
        "sms_segments": usage.sms_segments,
        "emails": usage.emails,
        "estimated_cost_usd": usage.estimated_cost_usd,
        "spend_cap": {
            "usd": usage.spend_cap_usd,
            "reached": usage.spend_cap_reached,
            "reminders_skipped": usage.spend_cap_skips,
        },
    }


def usage_row(usage: MonthUsage) -> dict[str, Any]:
    """One flat row per clinic and month, for billing's spreadsheet."""
    return {
        "clinic_id": usage.clinic_id,
        "month": usage.month,
        "sms_messages": usage.sms_messages,
        "sms_segments": usage.sms_segments,
        "emails": usage.emails,
        "estimated_cost_usd": usage.estimated_cost_usd,
        "spend_cap_usd": usage.spend_cap_usd,
        "spend_cap_reached": usage.spend_cap_reached,
        "spend_cap_skips": usage.spend_cap_skips,
        "whatsapp_messages": usage.whatsapp_messages,
        "messenger_messages": usage.messenger_messages,
    }
