"""A clinic connects WhatsApp (the admin command) and names its approved templates (PUT /v1/clinic), checked when
saved; a booking carries the patient's WhatsApp opt-in and preference, recorded with when and how."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.admin.cli import main
from chalicelib.store.models import Clinic
from tests.conftest import ClinicKeys, World

PHONE = "+14155550101"
CONFIRMATION_ES = {
    "name": "carecue_confirmation",
    "body": "{{1}}: su cita es el {{2}} a las {{3}}.",
    "parameters": ["clinic", "day", "time"],
}


def put_clinic(api: Client, clinic: ClinicKeys, body: Any) -> Any:
    return api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps(body))


def test_set_whatsapp_connects_the_clinics_sender(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    phone_number_id = "phone-number-id-0123456789abcdef0123456789abcdef"

    code = main(["--stage", "test", "set-whatsapp", "--clinic", clinic.clinic_id, "--phone-number-id", phone_number_id])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "clinic_id": clinic.clinic_id,
        "whatsapp_phone_number_id": phone_number_id,
    }
    assert Clinic.get(clinic.clinic_id).whatsapp_phone_number_id == phone_number_id


def test_set_whatsapp_keeps_a_phone_numbers_arn_as_its_id(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/0123456789abcdef"

    assert main(["--stage", "test", "set-whatsapp", "--clinic", clinic.clinic_id, "--phone-number-id", arn]) == 0
    assert Clinic.get(clinic.clinic_id).whatsapp_phone_number_id == "phone-number-id-0123456789abcdef"


def test_set_whatsapp_refuses_what_is_no_phone_number_id_and_an_unknown_clinic(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = main(["--stage", "test", "set-whatsapp", "--clinic", clinic.clinic_id, "--phone-number-id", "+14155550100"])
    bad_err = capsys.readouterr().err
    unknown = main(
        ["--stage", "test", "set-whatsapp", "--clinic", "cln_nobody", "--phone-number-id", "phone-number-id-01ab"]
    )
    unknown_err = capsys.readouterr().err

    assert (bad, unknown) == (1, 1)
    assert "--phone-number-id" in bad_err
    assert "clinic cln_nobody" in unknown_err
    assert Clinic.get(clinic.clinic_id).whatsapp_phone_number_id is None


def test_templates_are_saved_per_kind_and_language_and_read_back(api: Client, clinic: ClinicKeys) -> None:
    reminder = {
        "name": "carecue_reminder",
        "body": "{{1}} le recuerda su cita el {{2}} a las {{3}}. Confirme: {{4}}",
        "parameters": ["clinic", "day", "time", "link"],
        "language_code": "es_MX",
    }
    saved = put_clinic(
        api,
        clinic,
        {"whatsapp": {"templates": {"confirmation": {"es": CONFIRMATION_ES}, "reminder": {"es-MX": reminder}}}},
    )

    assert saved.status_code == 200, saved.json_body
    read = api.http.get("/v1/clinic", headers=clinic.headers).json_body["whatsapp"]
    assert read == {
        "templates": {
            "confirmation": {"es": {**CONFIRMATION_ES, "language_code": "es"}},
            "reminder": {"es-MX": reminder},
        }
    }


def test_a_template_whose_parameters_do_not_match_its_placeholders_is_refused_naming_each_and_nothing_is_stored(
    api: Client, clinic: ClinicKeys
) -> None:
    templates = {
        "confirmation": {"es": {**CONFIRMATION_ES, "parameters": ["clinic", "day"]}},
        "cancellation": {
            "en": {"name": "carecue_cancel", "body": "{{1}} cancelled {{2}}", "parameters": ["clinic", "link"]}
        },
        "refill": {"en": CONFIRMATION_ES},
        "reminder": {"es": {"name": "Bad Name", "body": "{{1}} {{3}}", "parameters": ["clinic", "fax"]}},
    }

    response = put_clinic(api, clinic, {"whatsapp": {"templates": templates}})

    assert response.status_code == 400
    fields = {f["field"]: f["problem"] for f in response.json_body["error"]["fields"]}
    assert fields["whatsapp.templates.confirmation.es.parameters"] == (
        "the template has 3 placeholders and 2 parameters are named"
    )
    assert fields["whatsapp.templates.cancellation.en.parameters"] == "a cancellation message carries no link"
    assert "whatsapp.templates.refill" in fields
    assert set(fields) >= {"whatsapp.templates.reminder.es.name", "whatsapp.templates.reminder.es.parameters"}
    assert api.http.get("/v1/clinic", headers=clinic.headers).json_body["whatsapp"] == {"templates": {}}


def test_the_facts_only_some_kinds_have_are_refused_on_the_others_and_accepted_on_theirs(
    api: Client, clinic: ClinicKeys
) -> None:
    def template(*parameters: str) -> dict[str, Any]:
        body = " ".join(f"{{{{{n}}}}}" for n in range(1, len(parameters) + 1))
        return {"en": {"name": "carecue_example", "body": body, "parameters": list(parameters)}}

    wrong = {"dose": template("clinic", "name"), "reminder": template("minutes"), "wait-time": template("provider")}
    right = {
        "caregiver": template("clinic", "name", "time"),
        "wait-time": template("clinic", "minutes"),
        "running-late": template("clinic", "provider", "minutes", "time"),
        "follow-up": template("clinic", "time", "link"),
    }

    refused = put_clinic(api, clinic, {"whatsapp": {"templates": wrong}})
    accepted = put_clinic(api, clinic, {"whatsapp": {"templates": right}})

    assert refused.status_code == 400
    assert {f["field"]: f["problem"] for f in refused.json_body["error"]["fields"]} == {
        "whatsapp.templates.dose.en.parameters": "a dose message carries no patient's name",
        "whatsapp.templates.reminder.en.parameters": "a reminder message carries no minutes",
        "whatsapp.templates.wait-time.en.parameters": "a wait-time message carries no provider",
    }
    assert accepted.status_code == 200, accepted.json_body
    stored = api.http.get("/v1/clinic", headers=clinic.headers).json_body["whatsapp"]["templates"]
    assert sorted(stored) == ["caregiver", "follow-up", "running-late", "wait-time"]


def test_a_booking_records_the_whatsapp_opt_in_with_when_and_how_and_the_preferred_channel(
    api: Client, clinic: ClinicKeys
) -> None:
    body = {
        "patient": {"name": "Pat Example", "phone": PHONE, "whatsapp_opt_in": True, "preferred_channel": "whatsapp"},
        "start": "2026-12-02T10:00:00-05:00",
    }
    booked = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert booked.status_code == 201, booked.json_body

    patient = api.http.get(f"/v1/patients/{booked.json_body['patient']['id']}", headers=clinic.headers).json_body
    assert patient["preferred_channel"] == "whatsapp"
    assert patient["whatsapp_opt_in"] == {"at": "2026-11-30T14:00:00Z", "source": "booking"}
    assert patient["opt_out"]["whatsapp"] is None


def test_a_booking_without_opt_in_records_none_and_bad_whatsapp_fields_are_named(
    api: Client, clinic: ClinicKeys
) -> None:
    plain = {"patient": {"name": "Pat Example", "phone": PHONE}, "start": "2026-12-02T10:00:00-05:00"}
    booked = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(plain))
    patient = api.http.get(f"/v1/patients/{booked.json_body['patient']['id']}", headers=clinic.headers).json_body
    assert patient["whatsapp_opt_in"] is None

    bad = {
        "patient": {
            "name": "Pat Example",
            "email": "pat@example.org",
            "whatsapp_opt_in": "yes",
            "preferred_channel": "fax",
        },
        "start": "2026-12-02T10:00:00-05:00",
    }
    refused = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(bad))
    assert refused.status_code == 400
    fields = [f["field"] for f in refused.json_body["error"]["fields"]]
    assert fields == ["patient.whatsapp_opt_in", "patient.preferred_channel"]
