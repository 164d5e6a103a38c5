"""The REST API as a clinic system uses it, through Chalice's test client (API Gateway's request handling,
the built-in authorizer included), on an in-process moto AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store.models import Appointment, Patient, Reminder
from tests.conftest import ClinicKeys, World
from tests.timer_support import armed_schedules as schedules


def booking(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient": {"name": "Pat Example", "phone": "+14155550100", "email": "pat@example.org"},
        "start": "2026-12-02T10:00:00-05:00",
        "location": "Room 4",
    }
    body.update(overrides)
    return body


def post(api: Client, clinic: ClinicKeys, body: Any) -> Any:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return api.http.post("/v1/appointments", headers=clinic.headers, body=raw)


def stored_counts() -> dict[str, int]:
    return {model.__name__: sum(1 for _ in model.scan()) for model in (Appointment, Patient, Reminder)}


def by_id(reminders: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in reminders}


def test_booking_confirms_at_once_and_arms_a_timer_per_reminder(api: Client, aws: World, clinic: ClinicKeys) -> None:
    response = post(api, clinic, booking())

    assert response.status_code == 201
    body = response.json_body
    assert body["status"] == "booked"
    assert body["start"] == "2026-12-02T15:00:00Z"
    assert body["start_local"] == "2026-12-02T10:00:00-05:00"
    reminders = by_id(body["reminders"])
    assert reminders["confirmation.sms"]["status"] == "sent"
    # One channel per message: the first of the clinic's order the patient can receive it on (SMS by default).
    assert "confirmation.email" not in reminders and "reminder-2h.email" not in reminders
    assert reminders["reminder-24h.sms"] == {
        "id": "reminder-24h.sms",
        "kind": "reminder",
        "channel": "sms",
        "send_at": "2026-12-01T15:00:00Z",
        "status": "scheduled",
    }
    assert reminders["reminder-2h.sms"]["send_at"] == "2026-12-02T13:00:00Z"

    sms = aws.sent("sms")
    assert [(m["to"], m["body"]) for m in sms] == [
        ("+14155550100", "Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 10:00 AM.")
    ]
    assert aws.sent("email") == []

    armed = schedules(aws)
    appointment_id = body["id"]
    assert sorted(armed) == sorted(f"{appointment_id}.reminder-{lead}.sms" for lead in ("24h", "2h"))
    timer = armed[f"{appointment_id}.reminder-24h.sms"]
    assert timer["ScheduleExpression"] == "at(2026-12-01T15:00:00)"
    assert timer["ScheduleExpressionTimezone"] == "UTC"
    assert timer["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert timer["Target"]["Arn"] == aws.services.settings.fire_queue_arn  # taken 10 at a time by fire_batch
    assert timer["Target"]["DeadLetterConfig"]["Arn"] == aws.services.settings.dead_letter_queue_arn
    assert timer["Target"]["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert json.loads(timer["Target"]["Input"]) == {
        "kind": "reminder",
        "owner_type": "appointment",
        "clinic_id": clinic.clinic_id,
        "owner_id": appointment_id,
        "reminder_id": "reminder-24h.sms",
        "version": 1,
        "patient_id": Appointment.get(clinic.clinic_id, appointment_id).patient_id,  # ids: no name
        # and the planned address's contact key, so that the fire reads its opt-outs in its first round trip
        # (chalicelib/arm/envelope.py says why; nothing logs it)
        "contact": "+14155550100",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }


def test_a_reminder_whose_time_has_passed_is_skipped_not_armed(api: Client, aws: World, clinic: ClinicKeys) -> None:
    # The clock is at 14:00Z; an appointment at 17:00Z is inside the 24 h reminder but not the 2 h one.
    body = post(
        api, clinic, booking(start="2026-11-30T17:00:00Z", patient={"name": "A", "phone": "+14155550100"})
    ).json_body

    reminders = by_id(body["reminders"])
    assert reminders["reminder-24h.sms"]["status"] == "skipped"
    assert reminders["reminder-24h.sms"]["reason"] == "send_time_passed"
    assert reminders["reminder-2h.sms"]["status"] == "scheduled"
    assert list(schedules(aws)) == [f"{body['id']}.reminder-2h.sms"]


def test_the_patients_own_time_zone_is_used_in_the_text(api: Client, aws: World, clinic: ClinicKeys) -> None:
    patient = {"name": "A", "phone": "+14155550100", "timezone": "Europe/London"}
    post(api, clinic, booking(patient=patient))

    assert aws.sent("sms")[0]["body"].endswith("booked for Wed 2 Dec at 3:00 PM.")


def test_get_returns_the_appointment_and_another_clinic_sees_nothing(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    appointment_id = post(api, clinic, booking()).json_body["id"]
    other = aws.services.clinics.create("Other Clinic", "Europe/Berlin")
    other_headers = {"Authorization": f"Bearer {other.api_key}"}

    mine = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers)
    theirs = api.http.get(f"/v1/appointments/{appointment_id}", headers=other_headers)

    assert mine.status_code == 200
    assert mine.json_body["id"] == appointment_id
    assert mine.json_body["patient"]["phone"] == "+14155550100"
    assert theirs.status_code == 404
    assert theirs.json_body["error"]["code"] == "not_found"


def test_list_returns_appointments_starting_in_the_window(api: Client, clinic: ClinicKeys) -> None:
    early = post(api, clinic, booking(start="2026-12-01T09:00:00-05:00")).json_body["id"]
    late = post(api, clinic, booking(start="2026-12-08T09:00:00-05:00")).json_body["id"]

    window = "from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z"
    listed = api.http.get(f"/v1/appointments?{window}", headers=clinic.headers).json_body["appointments"]
    everything = api.http.get(
        "/v1/appointments?from=2026-11-30T00:00:00Z&to=2026-12-31T00:00:00Z", headers=clinic.headers
    ).json_body["appointments"]

    assert [a["id"] for a in listed] == [early]
    assert [a["id"] for a in everything] == [early, late]
    missing = api.http.get("/v1/appointments?from=2026-12-01T00:00:00Z", headers=clinic.headers)
    assert missing.status_code == 400
    assert missing.json_body["error"]["fields"] == [
        {"field": "to", "problem": missing.json_body["error"]["fields"][0]["problem"]}
    ]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer cc_not-a-real-key"}, 403),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 403),
    ],
)
def test_requests_without_a_valid_key_are_refused_and_store_nothing(
    api: Client, aws: World, clinic: ClinicKeys, headers: dict[str, str], status: int
) -> None:
    response = api.http.post(
        "/v1/appointments", headers={"Content-Type": "application/json", **headers}, body=json.dumps(booking())
    )

    assert response.status_code == status
    assert stored_counts() == {"Appointment": 0, "Patient": 0, "Reminder": 0}
    assert aws.sent() == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"{not json", "body", "not valid JSON"),
        (b"[1, 2]", "body", "JSON object"),
        (booking(patient=None), "patient", "required"),
        (booking(patient={"phone": "+14155550100"}), "patient.name", "required"),
        (booking(patient={"name": "A", "phone": "call me maybe"}), "patient.phone", "not a valid phone"),
        (booking(patient={"name": "A", "phone": "+10005550100"}), "patient.phone", "not a valid phone"),
        (booking(patient={"name": "A", "email": "not-an-email"}), "patient.email", "not a valid email"),
        (booking(patient={"name": "A"}), "patient", "phone or an email"),
        (
            booking(patient={"name": "A", "phone": "+14155550100", "timezone": "Mars/Olympus"}),
            "patient.timezone",
            "IANA",
        ),
        (booking(start="2026-11-29T10:00:00Z"), "start", "in the past"),
        (booking(start="2026-12-02T10:00:00"), "start", "UTC offset"),
        (booking(start=None), "start", "required"),
        (booking(duration_minutes=0), "duration_minutes", "1 to 1440"),
        (booking(colour="blue"), "colour", "not a known field"),
    ],
)
def test_bad_input_is_rejected_naming_the_field_and_nothing_is_stored(
    api: Client, aws: World, clinic: ClinicKeys, body: Any, field: str, words: str
) -> None:
    response = post(api, clinic, body)

    assert response.status_code == 400
    problems = {p["field"]: p["problem"] for p in response.json_body["error"]["fields"]}
    assert field in problems
    assert words in problems[field]
    assert stored_counts() == {"Appointment": 0, "Patient": 0, "Reminder": 0}
    assert schedules(aws) == {}
    assert aws.sent() == []


def test_a_body_over_64_kb_is_refused_with_413(api: Client, aws: World, clinic: ClinicKeys) -> None:
    response = post(api, clinic, booking(location="x" * 70_000))

    assert response.status_code == 413
    assert response.json_body["error"]["code"] == "payload_too_large"
    assert stored_counts()["Appointment"] == 0


def test_booking_the_same_external_id_twice_books_once(api: Client, aws: World, clinic: ClinicKeys) -> None:
    first = post(api, clinic, booking(external_id="ehr-1001"))
    second = post(api, clinic, booking(external_id="ehr-1001"))

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json_body["id"] == second.json_body["id"]
    assert stored_counts() == {"Appointment": 1, "Patient": 1, "Reminder": 3}
    assert len(aws.sent("sms")) == 1


def test_repeat_of_an_external_id_with_different_content_is_a_409_naming_the_fields(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    first = post(api, clinic, booking(external_id="ehr-1001"))
    changed = booking(external_id="ehr-1001", start="2026-12-03T10:00:00-05:00", location="Room 5")
    changed["patient"] = {**changed["patient"], "phone": "+14155550199"}

    response = post(api, clinic, changed)

    assert response.status_code == 409
    assert response.json_body["error"] == {
        "code": "conflict",
        "message": "this external_id is already booked with a different start, location, patient.phone; "
        f"change that booking with PATCH /v1/appointments/{first.json_body['id']}",
        "fields": [],
    }
    again = post(api, clinic, booking(external_id="ehr-1001"))
    assert again.status_code == 200
    assert again.json_body == first.json_body
    assert stored_counts() == {"Appointment": 1, "Patient": 1, "Reminder": 3}
    assert len(aws.sent("sms")) == 1


@pytest.mark.parametrize("phone", ["+1 (415) 555-0109", "(415) 555-0109", "415.555.0109"])
def test_a_phone_in_the_clinic_systems_format_is_stored_in_e164(
    api: Client, aws: World, clinic: ClinicKeys, phone: str
) -> None:
    response = post(api, clinic, booking(patient={"name": "Pat Example", "phone": phone}))

    assert response.status_code == 201
    assert response.json_body["patient"]["phone"] == "+14155550109"
    assert [p.phone for p in Patient.scan()] == ["+14155550109"]
    assert aws.sent("sms")[0]["to"] == "+14155550109"


def test_a_berlin_clinic_national_phone_is_read_as_german(api: Client, aws: World) -> None:
    created = aws.services.clinics.create("Praxis am Park", "Europe/Berlin")
    berlin = ClinicKeys(created.clinic_id, created.api_key)

    response = post(api, berlin, booking(patient={"name": "Pat Example", "phone": "030 1234567"}))

    assert response.status_code == 201
    assert response.json_body["patient"]["phone"] == "+49301234567"


def test_a_phone_that_is_no_number_is_a_400_naming_the_field(api: Client, aws: World, clinic: ClinicKeys) -> None:
    response = post(api, clinic, booking(patient={"name": "Pat Example", "phone": "garbage"}))

    assert response.status_code == 400
    assert response.json_body["error"]["fields"] == [
        {"field": "patient.phone", "problem": "is not a valid phone number"}
    ]
    assert stored_counts()["Appointment"] == 0


def test_a_date_without_a_time_is_told_it_needs_a_time_and_an_offset(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    response = post(api, clinic, booking(start="2026-12-20"))

    assert response.status_code == 400
    assert response.json_body["error"]["fields"] == [
        {"field": "start", "problem": "needs a time and an offset, e.g. 2026-12-20T10:00:00-05:00"}
    ]


def test_rescheduling_moves_the_timers_and_tells_the_patient(api: Client, aws: World, clinic: ClinicKeys) -> None:
    appointment_id = post(api, clinic, booking()).json_body["id"]

    response = api.http.patch(
        f"/v1/appointments/{appointment_id}",
        headers=clinic.headers,
        body=json.dumps({"start": "2026-12-03T15:30:00-05:00"}),
    )

    assert response.status_code == 200
    body = response.json_body
    assert body["start"] == "2026-12-03T20:30:00Z"
    assert body["version"] == 2
    reminders = by_id(body["reminders"])
    assert reminders["reminder-24h.sms"]["send_at"] == "2026-12-02T20:30:00Z"
    assert reminders["reschedule-notice-v2.sms"]["status"] == "sent"
    assert aws.sent("sms")[-1]["body"] == "Riverside Family Clinic: your appointment has moved to Thu 3 Dec at 3:30 PM."
    timer = schedules(aws)[f"{appointment_id}.reminder-24h.sms"]
    assert timer["ScheduleExpression"] == "at(2026-12-02T20:30:00)"
    assert json.loads(timer["Target"]["Input"])["version"] == 2
    assert len(schedules(aws)) == 2  # the 24 h and 2 h reminders, on SMS only


def test_a_patch_repeated_changes_nothing_and_the_first_notice_still_goes(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    appointment_id = post(api, clinic, booking()).json_body["id"]
    move = json.dumps({"start": "2026-12-03T15:30:00-05:00", "location": "Room 4"})

    answers = [
        api.http.patch(f"/v1/appointments/{appointment_id}", headers=clinic.headers, body=move) for _ in range(5)
    ]
    same_as_booked = api.http.patch(
        f"/v1/appointments/{appointment_id}", headers=clinic.headers, body=json.dumps({"location": "Room 4"})
    )

    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json_body["version"] for a in answers] == [2] * 5
    assert same_as_booked.status_code == 200
    assert same_as_booked.json_body["version"] == 2
    assert by_id(answers[-1].json_body["reminders"])["reschedule-notice-v2.sms"]["status"] == "sent"
    moved = [m["body"] for m in aws.sent("sms") if "moved" in m["body"]]
    assert moved == ["Riverside Family Clinic: your appointment has moved to Thu 3 Dec at 3:30 PM."]
    timer = schedules(aws)[f"{appointment_id}.reminder-24h.sms"]
    assert json.loads(timer["Target"]["Input"])["version"] == 2


def test_cancelling_removes_the_timers_and_tells_the_patient_once(api: Client, aws: World, clinic: ClinicKeys) -> None:
    appointment_id = post(api, clinic, booking()).json_body["id"]

    first = api.http.delete(f"/v1/appointments/{appointment_id}", headers=clinic.headers)
    again = api.http.delete(f"/v1/appointments/{appointment_id}", headers=clinic.headers)
    move = api.http.patch(
        f"/v1/appointments/{appointment_id}", headers=clinic.headers, body=json.dumps({"start": "2026-12-04T10:00:00Z"})
    )

    assert first.status_code == again.status_code == 200
    assert first.json_body["status"] == "cancelled"
    reminders = by_id(first.json_body["reminders"])
    assert reminders["reminder-24h.sms"]["status"] == "cancelled"
    assert reminders["cancellation-notice.sms"]["status"] == "sent"
    assert schedules(aws) == {}
    cancellations = [m for m in aws.sent("sms") if "cancelled" in m["body"]]
    assert [m["body"] for m in cancellations] == [
        "Riverside Family Clinic: your appointment on Wed 2 Dec at 10:00 AM is cancelled."
    ]
    assert move.status_code == 409
    assert "cancelled" in move.json_body["error"]["message"]


def test_the_list_comes_in_pages_with_a_cursor_that_only_its_clinic_can_use(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    booked = [
        post(api, clinic, booking(start=f"2026-12-0{day}T09:00:00-05:00", external_id=f"ext-{day}")).json_body["id"]
        for day in (1, 2, 3, 4, 5)
    ]
    window = "from=2026-11-30T00:00:00Z&to=2026-12-31T00:00:00Z"

    pages, cursor = [], ""
    while True:
        body = api.http.get(f"/v1/appointments?{window}&limit=2{cursor}", headers=clinic.headers).json_body
        pages.append([a["id"] for a in body["appointments"]])
        if body["next"] is None:
            break
        cursor = f"&next={body['next']}"
    first = api.http.get(f"/v1/appointments?{window}&limit=2", headers=clinic.headers).json_body
    made = aws.services.clinics.create("Alder Street Dental", "America/Chicago")
    theirs = ClinicKeys(made.clinic_id, made.api_key)
    stolen = api.http.get(f"/v1/appointments?{window}&next={first['next']}", headers=theirs.headers)
    too_many = api.http.get(f"/v1/appointments?{window}&limit=500", headers=clinic.headers)

    assert [i for page in pages for i in page] == booked
    assert [len(page) for page in pages][:3] == [2, 2, 1]
    assert first["appointments"][0]["patient"]["phone"] == "+14155550100"
    assert "reminders" not in first["appointments"][0]
    assert stolen.status_code == 400
    assert stolen.json_body["error"]["fields"][0]["field"] == "next"
    assert too_many.status_code == 400
    assert too_many.json_body["error"]["fields"] == [
        {"field": "limit", "problem": "must be a whole number from 1 to 200"}
    ]
