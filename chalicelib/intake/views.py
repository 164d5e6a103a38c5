"""The JSON shapes of a booking tool's webhook answer: TypedDicts the intake's result bodies are (mypy checks
them; the OpenAPI document's response schemas are generated from them)."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class WebhookResultView(TypedDict):
    """200: what the event did to the appointment (`outcome`), and the appointment as it now stands. A booking
    with neither a phone nor an email says so: `reminders` "none", `reason` "no_contact", and a `detail`."""

    appointment_id: str
    outcome: str
    status: str
    start: str
    timezone: str
    version: int
    reminders: NotRequired[str]
    reason: NotRequired[str]
    detail: NotRequired[str]


class WebhookIgnoredView(TypedDict):
    """202: an event CareCue reads but acts on by doing nothing (another event type, a test ping), and why."""

    ignored: str
