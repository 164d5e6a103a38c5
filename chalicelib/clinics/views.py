"""The JSON shapes of `GET/PUT /v1/clinic`: TypedDicts the settings views return (mypy checks them; the OpenAPI
document's response schemas are generated from them). The nested settings (reminder rules, medication,
WhatsApp templates) are described field by field by the request model they were validated with
(`chalicelib.clinics.bodies`); here they are typed as the JSON objects they are."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired

from typing_extensions import TypedDict


class PolicyView(TypedDict):
    """A clinic's stored settings, as `PUT /v1/clinic` takes them (every one filled in)."""

    reminders: list[dict[str, Any]]
    quiet_hours: dict[str, str] | None
    frequency_caps: bool
    sender_name: str | None
    reply_to: str | None
    contact_phone: str | None
    booking_url: str | None
    patients_may_cancel: bool
    sms_segment_limit: int
    templates: Mapping[str, Mapping[str, str]]
    medication: dict[str, Any]
    opening_hours: dict[str, str]
    board_labels: str
    check_in_window_minutes: int
    whatsapp: dict[str, Any]
    forms: list[dict[str, Any]]
    messenger: dict[str, Any]
    inbox: dict[str, Any]
    channel_order: list[str]
    notice_channel: str
    delivery_window_minutes: int


class ReplanView(TypedDict):
    """The latest background re-plan: pending since when, or done (how many appointments) or failed (why)."""

    status: str
    settings_version: int
    requested_at: NotRequired[str]
    finished_at: NotRequired[str]
    appointments: NotRequired[int]
    reason: NotRequired[str]


class ClinicSettingsView(PolicyView):
    """`GET /v1/clinic`; `PUT /v1/clinic` adds how many upcoming appointments it re-plans."""

    id: str
    name: str
    timezone: str
    replan: ReplanView | None
    replanned_appointments: NotRequired[int]
