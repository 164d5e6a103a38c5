"""What the tests share for WhatsApp: the in-process tests' clinic sender and the confirmation templates (the e2e
tests use the templates too, each with its own sender), and the events the End User Messaging Social emulator
queued (a patient's message, the statuses of a sent one), delivered to the whatsapp_events function as SNS would.

The app is imported only inside the helpers that run it: importing `app` loads Chalice, which sets
AWS_EXECUTION_ENV in os.environ, and the e2e tests (which import the templates from here) pass their environment
on to the local stack they start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.local.whatsapp_emulator import lambda_event
from tests.conftest import ClinicKeys, World

if TYPE_CHECKING:
    from chalice.test import Client

TOPIC = "arn:aws:sns:us-east-1:123456789012:carecue-whatsapp-events"
# The Spanish SMS confirmation of the in-process clinic's booking at 2 Dec 10:00 New York: what a fallback sends.
SPANISH_SMS = "Riverside Family Clinic: su cita es el mié 2 de dic, 10:00."
# The in-process tests' clinic WhatsApp sender (its phone-number id), as `set-whatsapp` records it.
SENDER = "phone-number-id-0123456789abcdef0123456789abcdef"
# A clinic's `whatsapp.templates` with one Spanish confirmation template (clinic, day, time).
SPANISH_CONFIRMATION_TEMPLATES: dict[str, Any] = {
    "confirmation": {
        "es": {
            "name": "carecue_confirmation",
            "body": "{{1}}: su cita es el {{2}} a las {{3}}.",
            "parameters": ["clinic", "day", "time"],
        }
    }
}
# A clinic's `whatsapp.templates` with one English confirmation template (clinic, day, time).
ENGLISH_CONFIRMATION_TEMPLATES: dict[str, Any] = {
    "confirmation": {
        "en": {
            "name": "carecue_confirmation",
            "body": "{{1}}: your appointment is on {{2}} at {{3}}.",
            "parameters": ["clinic", "day", "time"],
        }
    }
}


def deliver_events(world: World, events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Runs the whatsapp_events function on each queued event (or on `events`); returns the events run."""
    from chalice.test import Client

    from app import app

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
