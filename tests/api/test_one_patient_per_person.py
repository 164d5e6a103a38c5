"""One patient per person per clinic (docs/patients.md): bookings, regimens and FHIR MedicationRequests with the
same phone or email and the same name reuse the clinic's patient and what it chose (language, opt-outs); a
family's shared phone makes separate patients the admin can see; two bookings racing for a new number make one
patient; a regimen `external_id` sent again with other content is a 409 naming what differs."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

from chalice.test import Client

from app import app
from chalicelib.appointments.request import parse_new_appointment
from chalicelib.store.models import Appointment, Patient, PatientKey, Regimen
from infra.local.stack import sns_event
from tests.conftest import ClinicKeys, World

PHONE = "+14155550101"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"


def book(api: Client, clinic: ClinicKeys, patient: dict[str, Any], start: str = "2026-12-02T10:00:00-05:00") -> Any:
    body = {"patient": patient, "start": start}
    return api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))


def booked(api: Client, clinic: ClinicKeys, patient: dict[str, Any], start: str = "2026-12-02T10:00:00-05:00") -> Any:
    response = book(api, clinic, patient, start)
    assert response.status_code == 201, response.json_body
    return response.json_body


def regimen(api: Client, clinic: ClinicKeys, body: dict[str, Any]) -> Any:
    return api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(body))


def patient_view(api: Client, clinic: ClinicKeys, patient_id: str) -> Any:
    response = api.http.get(f"/v1/patients/{patient_id}", headers=clinic.headers)
    assert response.status_code == 200
    return response.json_body


def daily(**extra: Any) -> dict[str, Any]:
    return {
        "patient": {"name": "Pat Example", "phone": PHONE},
        "medication": "Examplamab 10 mg",
        "dose": "1 tablet",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00"]}},
        **extra,
    }


def texts_to(aws: World, phone: str) -> list[str]:
    return [m["body"] for m in aws.sent("sms") if m["to"] == phone]


def test_a_second_booking_with_the_phone_in_another_format_reuses_the_patient_and_its_language(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    first = booked(api, clinic, {"name": "Pat Example", "phone": PHONE})
    assert first["patient"]["matched"] is None
    chosen = api.http.put(
        f"/v1/patients/{first['patient']['id']}", headers=clinic.headers, body=json.dumps({"language": "es"})
    )
    assert chosen.status_code == 200

    second = booked(api, clinic, {"name": "  pat EXAMPLE ", "phone": "(415) 555-0101"}, "2026-12-09T10:00:00-05:00")

    assert second["patient"]["id"] == first["patient"]["id"]
    assert second["patient"]["matched"] == "phone"
    assert second["patient"]["language"] == "es"
    assert texts_to(aws, PHONE)[-1] == "Riverside Family Clinic: su cita es el mié 9 de dic, 10:00."
    assert [p.patient_id for p in Patient.scan()] == [first["patient"]["id"]]
    stored = {a.appointment_id: a.patient_matched for a in Appointment.scan()}
    assert stored == {first["id"]: None, second["id"]: "phone"}


def test_an_email_in_another_case_finds_the_patient_and_gives_it_the_new_phone(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    first = booked(api, clinic, {"name": "Pat Example", "email": "pat@example.org"})

    second = booked(api, clinic, {"name": "Pat Example", "email": "PAT@Example.ORG", "phone": PHONE})

    assert second["patient"]["id"] == first["patient"]["id"]
    assert second["patient"]["matched"] == "email"
    assert second["patient"]["phone"] == PHONE
    (patient,) = Patient.scan()
    assert (patient.phone, patient.email) == (PHONE, "pat@example.org")
    # Its new phone is a lookup row of its own now: a booking with the phone alone finds it too.
    third = booked(api, clinic, {"name": "Pat Example", "phone": PHONE}, "2026-12-09T10:00:00-05:00")
    assert (third["patient"]["id"], third["patient"]["matched"]) == (first["patient"]["id"], "phone")


def test_a_booking_then_a_regimen_for_the_same_phone_share_one_patient(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    appointment = booked(api, clinic, {"name": "Pat Example", "phone": "+1 415 555 0101", "language": "es"})

    created = regimen(api, clinic, daily())

    assert created.status_code == 201, created.json_body
    assert created.json_body["patient_id"] == appointment["patient"]["id"]
    assert [p.patient_id for p in Patient.scan()] == [appointment["patient"]["id"]]
    (stored,) = Regimen.scan()
    assert stored.patient_matched == "phone"


def test_a_fhir_medication_request_finds_the_booked_patient_and_keeps_its_reference(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    appointment = booked(api, clinic, {"name": "Pat Example", "phone": PHONE})
    resource = json.loads((FIXTURES / "medicationrequestexample1.json").read_bytes())
    body = {**copy.deepcopy(resource), "patient": {"name": "Pat Example", "phone": PHONE}}

    first = regimen(api, clinic, body)
    # The prescriber's later orders name only the subject: they find the same patient by its reference.
    again = regimen(api, clinic, {**copy.deepcopy(resource), "id": "another-order"})

    assert (first.status_code, again.status_code) == (201, 201), again.json_body
    assert first.json_body["patient_id"] == again.json_body["patient_id"] == appointment["patient"]["id"]
    (patient,) = Patient.scan()
    assert patient.external_ref == resource["subject"]["reference"]


def test_stop_then_a_new_booking_still_sends_no_sms(api: Client, aws: World, clinic: ClinicKeys) -> None:
    first = booked(api, clinic, {"name": "Pat Example", "phone": PHONE, "email": "pat@example.org"})
    event = sns_event(PHONE, None, "STOP", "in-1", aws.services.clock.now())
    with Client(app, stage_name="local") as client:
        client.lambda_.invoke("inbound_sms", event)
    texted = len(texts_to(aws, PHONE))

    second = booked(api, clinic, {"name": "Pat Example", "phone": "415-555-0101"}, "2026-12-09T10:00:00-05:00")

    assert second["patient"]["id"] == first["patient"]["id"]
    assert len(texts_to(aws, PHONE)) == texted
    reminders = {r["id"]: r for r in second["reminders"]}
    # The patient kept their email: the confirmation goes there, the next channel of their order, and not by SMS.
    assert "confirmation.sms" not in reminders
    assert reminders["confirmation.email"]["status"] == "sent"
    assert patient_view(api, clinic, second["patient"]["id"])["opt_out"]["sms"]["source"] == "sms_reply"


def test_a_family_sharing_a_phone_gets_a_patient_each_and_the_admin_sees_the_shared_phone(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    parent = booked(api, clinic, {"name": "Pat Example", "phone": PHONE})

    child = booked(api, clinic, {"name": "Sam Example", "phone": PHONE, "language": "es"})
    child_again = booked(api, clinic, {"name": "Sam Example", "phone": PHONE}, "2026-12-09T10:00:00-05:00")

    parent_id, child_id = parent["patient"]["id"], child["patient"]["id"]
    assert child_id != parent_id
    assert child["patient"]["matched"] is None
    assert (child_again["patient"]["id"], child_again["patient"]["matched"]) == (child_id, "phone")
    assert child_again["patient"]["language"] == "es"
    assert patient_view(api, clinic, child_id)["shares_contact_with"] == [
        {"id": parent_id, "shared": ["phone"], "same_name": False}
    ]
    assert patient_view(api, clinic, parent_id)["shares_contact_with"] == [
        {"id": child_id, "shared": ["phone"], "same_name": False}
    ]
    assert sum(1 for _ in Patient.scan()) == 2


def test_a_phone_of_one_record_with_another_email_is_a_new_patient_flagged_as_a_possible_duplicate(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    first = booked(api, clinic, {"name": "Pat Example", "phone": PHONE, "email": "pat@example.org"})

    second = booked(api, clinic, {"name": "Pat Example", "phone": PHONE, "email": "pat.other@example.org"})

    assert second["patient"]["id"] != first["patient"]["id"]
    assert second["patient"]["matched"] is None
    assert patient_view(api, clinic, second["patient"]["id"])["shares_contact_with"] == [
        {"id": first["patient"]["id"], "shared": ["phone"], "same_name": True}
    ]
    # Its own email finds it again; the first record is left as it was.
    again = booked(
        api,
        clinic,
        {"name": "Pat Example", "phone": PHONE, "email": "pat.other@example.org"},
        "2026-12-09T10:00:00-05:00",
    )
    assert (again["patient"]["id"], again["patient"]["matched"]) == (second["patient"]["id"], "email")
    assert Patient.get(clinic.clinic_id, first["patient"]["id"]).email == "pat@example.org"


def test_two_bookings_racing_for_a_new_number_make_one_patient(served_aws: World) -> None:
    aws = served_aws
    made = aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    clinic = ClinicKeys(made.clinic_id, made.api_key)
    racers = 6
    start = threading.Barrier(racers)
    results: list[str] = []
    failures: list[BaseException] = []
    now = aws.services.clock.now()

    def racer(number: int) -> None:
        body = {
            "patient": {"name": "Pat Example", "phone": PHONE},
            "start": f"2026-12-{number + 2:02d}T10:00:00-05:00",
            "external_id": f"ehr-{number}",
        }
        request = parse_new_appointment(json.dumps(body).encode(), now, region="US")
        start.wait()
        try:
            results.append(aws.services.appointments.book(clinic.clinic_id, request).patient.patient_id)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            failures.append(e)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    (patient,) = Patient.scan()
    assert results == [patient.patient_id] * racers
    assert {a.patient_id for a in Appointment.scan()} == {patient.patient_id}
    assert [row.patient_id for row in PatientKey.scan()] == [patient.patient_id]


def test_a_regimen_external_id_sent_again_with_other_content_is_a_409_naming_the_fields(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    first = regimen(api, clinic, daily(external_id="ehr-rx-1"))
    changed = daily(
        external_id="ehr-rx-1",
        medication="Examplamab 20 mg",
        timing={"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["09:00:00"]}},
    )

    response = regimen(api, clinic, changed)

    assert first.status_code == 201
    assert response.status_code == 409
    assert response.json_body == {
        "error": {
            "code": "conflict",
            "message": "this external_id is already a regimen with a different medication, timing; pause, resume "
            f"or stop that one with PATCH /v1/regimens/{first.json_body['id']}, or send a new external_id",
            "fields": [],
        }
    }
    again = regimen(api, clinic, daily(external_id="ehr-rx-1"))
    assert again.status_code == 200
    assert again.json_body["id"] == first.json_body["id"]
    (stored,) = Regimen.scan()
    assert stored.medication == "Examplamab 10 mg"


def test_a_fhir_order_sent_again_with_another_dosage_is_a_409_in_fhir_names(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    resource = json.loads((FIXTURES / "medicationrequestexample1.json").read_bytes())
    body = {**copy.deepcopy(resource), "id": "order-1", "patient": {"name": "Pat Example", "phone": PHONE}}
    first = regimen(api, clinic, body)
    changed = copy.deepcopy(body)
    changed["dosageInstruction"][0]["timing"] = {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}

    response = regimen(api, clinic, changed)

    assert first.status_code == 201, first.json_body
    assert response.status_code == 409
    assert "a different dosageInstruction;" in response.json_body["error"]["message"]
    assert regimen(api, clinic, body).status_code == 200
