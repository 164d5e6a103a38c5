"""What the in-process tests share for WhatsApp: the events the End User Messaging Social emulator queued (a
patient's message, the statuses of a sent one), delivered to the whatsapp_events function as SNS would."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from app import app
from infra.local.whatsapp_emulator import lambda_event
from tests.conftest import ClinicKeys, World

TOPIC = "arn:aws:sns:us-east-1:123456789012:carecue-whatsapp-events"


def deliver_events(world: World, events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Runs the whatsapp_events function on each queued event (or on `events`); returns the events run."""
    delivered = world.whatsapp.take_events() if events is None else events
    with Client(app, stage_name="local") as client:
        for event in delivered:
            client.lambda_.invoke("whatsapp_events", lambda_event(event, TOPIC, world.services.clock.now()))
    return delivered


def connect_whatsapp(api: Client, clinic: ClinicKeys, sender: str, templates: dict[str, Any]) -> ClinicKeys:
    """What a clinic does to use WhatsApp: `set-whatsapp` with its sender's id, then its templates in PUT /v1/clinic."""
    import json

    from chalicelib.store.clinics import set_whatsapp_phone_number_id

    set_whatsapp_phone_number_id(clinic.clinic_id, sender)
    response = api.http.put(
        "/v1/clinic", headers=clinic.headers, body=json.dumps({"whatsapp": {"templates": templates}})
    )
    assert response.status_code == 200, response.json_body
    return clinic
