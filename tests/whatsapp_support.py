"""What the in-process tests share for WhatsApp: the events the End User Messaging Social emulator queued (a
patient's message, the statuses of a sent one), delivered to the whatsapp_events function as SNS would."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from app import app
from infra.local.whatsapp_emulator import lambda_event
from tests.conftest import World

TOPIC = "arn:aws:sns:us-east-1:123456789012:carecue-whatsapp-events"


def deliver_events(world: World, events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Runs the whatsapp_events function on each queued event (or on `events`); returns the events run."""
    delivered = world.whatsapp.take_events() if events is None else events
    with Client(app, stage_name="local") as client:
        for event in delivered:
            client.lambda_.invoke("whatsapp_events", lambda_event(event, TOPIC, world.services.clock.now()))
    return delivered
