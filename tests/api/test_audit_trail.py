"""The audit trail as an auditor reads it: every change made through the API, a booking tool, a patient's link or
the admin CLI, as who, what and when, with ids only; refused requests and reads leave no entry."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.admin.cli import main
from chalicelib.links.tokens import Purpose
from chalicelib.store.models import AuditEntry
from infra.local.clock import SimulatedClock
from tests.api.test_patient_links import book, path_of
from tests.conftest import ClinicKeys, World
from tests.webhook_support import fixture, signature_headers


def trail(aws: World, clinic_id: str) -> list[dict[str, Any]]:
    now = aws.services.clock.now()
    return aws.services.audit.entries(clinic_id, now - timedelta(days=1), now + timedelta(days=1))


def test_api_changes_are_recorded_with_the_keys_id_and_the_ids_they_named_and_nothing_else(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    booked = book(api, clinic)
    api.http.patch(f"/v1/appointments/{booked['id']}", headers=clinic.headers, body=json.dumps({"location": "Room 9"}))
    api.http.put(f"/v1/patients/{booked['patient']['id']}", headers=clinic.headers, body=json.dumps({"language": "es"}))
    api.http.put(
        "/v1/clinic", headers=clinic.headers, body=json.dumps({"quiet_hours": {"start": "20:00", "end": "08:00"}})
    )
    refused = api.http.patch(f"/v1/appointments/{booked['id']}", headers=clinic.headers, body=json.dumps({"x": 1}))
    api.http.get(f"/v1/appointments/{booked['id']}", headers=clinic.headers)
    api.http.delete(f"/v1/appointments/{booked['id']}", headers=clinic.headers)

    entries = trail(aws, clinic.clinic_id)

    key_id = "api_key:" + hashlib.sha256(clinic.api_key.encode()).hexdigest()[:12]
    assert refused.status_code == 400
    assert [(e["actor"], e["action"], e["target"], e["status"]) for e in entries] == [
        (key_id, "POST /v1/appointments", {}, 201),
        (key_id, "PATCH /v1/appointments/{appointment_id}", {"appointment_id": booked["id"]}, 200),
        (key_id, "PUT /v1/patients/{patient_id}", {"patient_id": booked["patient"]["id"]}, 200),
        (key_id, "PUT /v1/clinic", {}, 200),
        (key_id, "DELETE /v1/appointments/{appointment_id}", {"appointment_id": booked["id"]}, 200),
    ]
    stored = json.dumps([item.attribute_values for item in AuditEntry.scan()], default=str)
    for secret_or_patient_data in (clinic.api_key, "Pat Example", "+14155550", "pat@example.org", "Room 9"):
        assert secret_or_patient_data not in stored
    expires = {item.expires_at for item in AuditEntry.scan()}
    assert all(e - aws.services.clock.now() > timedelta(days=6 * 365) for e in expires)


def test_a_booking_tool_and_a_patients_link_are_named_and_the_token_is_not_kept(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    booked = book(api, clinic)
    confirm = path_of(aws, Purpose.CONFIRM, clinic, booked)
    answered = api.http.post(confirm, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"")
    made = aws.services.clinics.create("Alder Street Dental", "America/Chicago")
    body = json.dumps(fixture("calcom", "booking_created.json")).encode()
    stamp = int(aws.services.clock.now().timestamp())
    headers = {"Content-Type": "application/json", **signature_headers("calcom", made.webhook_secret, body, stamp)}
    delivered = api.http.post(f"/webhooks/calcom/{made.clinic_id}", headers=headers, body=body)

    assert (answered.status_code, delivered.status_code) == (200, 200)
    link_entry = trail(aws, clinic.clinic_id)[-1]
    assert (link_entry["actor"], link_entry["action"], link_entry["target"]) == ("patient_link", "POST /p/{token}", {})
    assert [(e["actor"], e["action"]) for e in trail(aws, made.clinic_id)] == [
        ("booking_tool:calcom", "POST /webhooks/{provider}/{clinic_id}")
    ]
    assert confirm.removeprefix("/p/") not in json.dumps([i.attribute_values for i in AuditEntry.scan()], default=str)


def test_admin_changes_are_recorded_as_admin_and_the_audit_command_lists_them(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--stage", "test", "rotate-api-key", "--clinic", clinic.clinic_id], clock=clock)
    main(["--stage", "test", "list-clinics"], clock=clock)
    capsys.readouterr()

    code = main(["--stage", "test", "audit", "--clinic", clinic.clinic_id], clock=clock)
    listed = json.loads(capsys.readouterr().out)

    assert code == 0
    assert [(e["actor"], e["action"], e["target"]) for e in listed["entries"]] == [
        ("admin", "admin rotate-api-key", {"clinic_id": clinic.clinic_id})
    ]


def test_a_booking_is_recorded_once_with_its_answer_and_its_repeat_once_more(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    # The booking's entry is written in the booking's own transaction (no call of its own); the repeat, which
    # stores nothing, is recorded by the middleware as any other change, with its 200.
    body = {"patient": {"name": "Pat Example", "phone": "+14155550100"}, "start": "2026-12-02T10:00:00-05:00"}
    body["external_id"] = "ext-1"
    first = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    repeat = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    api.http.get(f"/v1/appointments/{first.json_body['id']}", headers=clinic.headers)

    assert (first.status_code, repeat.status_code) == (201, 200)
    assert [(e["action"], e["status"]) for e in trail(aws, clinic.clinic_id)] == [
        ("POST /v1/appointments", 201),
        ("POST /v1/appointments", 200),
    ]


def test_with_the_audit_table_down_a_booking_stands_and_the_gap_is_counted(
    api: Client, aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = aws.session.client("dynamodb")
    dynamodb.delete_table(TableName=AuditEntry.Meta.table_name)
    body = {"patient": {"name": "Pat Example", "phone": "+14155550100"}, "start": "2026-12-02T10:00:00-05:00"}

    answer = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))

    assert answer.status_code == 201
    stored = api.http.get(f"/v1/appointments/{answer.json_body['id']}", headers=clinic.headers)
    assert stored.status_code == 200 and stored.json_body["patient"]["phone"] == "+14155550100"
    assert [m["body"] for m in aws.sent("sms")] == [
        "Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 10:00 AM."
    ]
    assert '"AuditNotRecorded"' in capsys.readouterr().out
