"""Pre-visit forms through the API: a clinic stores its FHIR Questionnaire, reads and lists it, replaces it, and is
refused what the form could not be asked with; another clinic sees none of it."""

from __future__ import annotations

import copy
import json
from typing import Any

from chalice.test import Client

from tests.conftest import ClinicKeys, World
from tests.unit.test_questionnaire import FORM


def send(api: Client, clinic: ClinicKeys, method: str, path: str, body: Any = None) -> Any:
    return api.http.request(method, path, headers=clinic.headers, body=json.dumps(body) if body is not None else b"")


def test_a_clinic_stores_its_form_reads_it_back_as_sent_and_lists_it(api: Client, clinic: ClinicKeys) -> None:
    created = send(api, clinic, "POST", "/v1/questionnaires", FORM)
    read = send(api, clinic, "GET", "/v1/questionnaires/intake")
    listed = send(api, clinic, "GET", "/v1/questionnaires")

    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/fhir+json"
    assert read.status_code == 200
    body = read.json_body
    assert body["meta"]["versionId"] == "1"
    assert {k: v for k, v in body.items() if k != "meta"} == FORM  # every element kept, publisher and text included
    assert listed.json_body == {"questionnaires": [{"id": "intake", "title": "Before your visit", "version": 1}]}


def test_replacing_a_form_bumps_its_version_and_a_wrong_id_is_named(api: Client, clinic: ClinicKeys) -> None:
    send(api, clinic, "POST", "/v1/questionnaires", FORM)
    changed = copy.deepcopy(FORM)
    changed["title"] = "Before you come in"

    replaced = send(api, clinic, "PUT", "/v1/questionnaires/intake", changed)
    wrong = send(api, clinic, "PUT", "/v1/questionnaires/intake", {**changed, "id": "other"})
    again = send(api, clinic, "POST", "/v1/questionnaires", FORM)

    assert replaced.status_code == 200
    assert replaced.json_body["meta"]["versionId"] == "2"
    assert send(api, clinic, "GET", "/v1/questionnaires/intake").json_body["title"] == "Before you come in"
    assert wrong.status_code == 400
    assert wrong.json_body["error"]["fields"][0]["field"] == "id"
    assert again.status_code == 409


def test_a_form_that_cannot_be_asked_is_a_400_naming_each_item_and_stores_nothing(
    api: Client, clinic: ClinicKeys
) -> None:
    bad = copy.deepcopy(FORM)
    bad["item"][0]["type"] = "attachment"
    bad["item"][2]["item"][1]["answerOption"] = []

    refused = send(api, clinic, "POST", "/v1/questionnaires", bad)

    assert refused.status_code == 400
    assert [f["field"] for f in refused.json_body["error"]["fields"]] == ["item 1.type", "item 2.2.answerOption"]
    assert send(api, clinic, "GET", "/v1/questionnaires").json_body == {"questionnaires": []}


def test_another_clinic_sees_no_form_and_no_answers(api: Client, aws: World, clinic: ClinicKeys) -> None:
    send(api, clinic, "POST", "/v1/questionnaires", FORM)
    made = aws.services.clinics.create("Alder Street Dental", "America/Chicago")
    other = ClinicKeys(made.clinic_id, made.api_key)
    booked = send(
        api,
        clinic,
        "POST",
        "/v1/appointments",
        {"patient": {"name": "Pat Example", "phone": "+14155550100"}, "start": "2026-12-02T10:00:00-05:00"},
    ).json_body

    assert send(api, other, "GET", "/v1/questionnaires/intake").status_code == 404
    assert send(api, other, "GET", "/v1/questionnaires").json_body == {"questionnaires": []}
    assert send(api, other, "GET", f"/v1/appointments/{booked['id']}/questionnaire-response").status_code == 404
    unanswered = send(api, clinic, "GET", f"/v1/appointments/{booked['id']}/questionnaire-response")
    assert unanswered.status_code == 404
    assert unanswered.json_body["error"]["message"] == "questionnaire response not found"
