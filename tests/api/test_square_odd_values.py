"""A signed Square event whose values are not what Square sends (found by the webhook fuzz,
tests/e2e/test_openapi_fuzz.py): a status that is not text is a 400 naming it, with nothing stored; a segment
duration that is not a whole number is left out of the length, and the booking is kept."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from chalicelib.store.models import Appointment
from tests.conftest import World
from tests.webhook_support import SQUARE_URL, fixture, signature_headers


def _post(api: Client, clinic_id: str, event: dict[str, Any]) -> Any:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", **signature_headers("square", "sq-key", body, 0)}
    return api.http.post(f"/webhooks/square/{clinic_id}", headers=headers, body=body)


def test_a_square_status_that_is_not_text_is_refused_and_odd_durations_are_left_out(api: Client, aws: World) -> None:
    clinic = aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    prefix = f"/carecue/test/clinics/{clinic.clinic_id}/webhooks"
    ssm = aws.session.client("ssm")
    ssm.put_parameter(Name=f"{prefix}/square", Value="sq-key", Type="SecureString")
    ssm.put_parameter(Name=f"{prefix}/square-notification-url", Value=SQUARE_URL, Type="SecureString")
    event = fixture("square", "booking_created.json")
    booking = event["data"]["object"]["booking"]

    refused = _post(api, clinic.clinic_id, {**event, "data": {"object": {"booking": {**booking, "status": [0.0]}}}})

    assert refused.status_code == 400
    assert [f["field"] for f in refused.json_body["error"]["fields"]] == ["data.object.booking.status"]
    assert list(Appointment.scan()) == []

    segments = [{"duration_minutes": "45"}, {"duration_minutes": True}, 7]
    odd = {**booking, "appointment_segments": segments}
    kept = _post(api, clinic.clinic_id, {**event, "data": {"object": {"booking": odd}}})

    assert kept.status_code == 200, kept.json_body
    (stored,) = Appointment.scan()
    assert int(stored.duration_minutes) == 30  # the default length, as for a booking that states none
