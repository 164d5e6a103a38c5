"""Pre-visit forms from the clinic's setting to the patient's phone and back: forms attached in `PUT /v1/clinic`,
the form's link in the confirmation and in the day-before reminder only while the form is unanswered, the form
page (saved as the patient goes, checked by the API's rules, sent), and what is stored and read back as FHIR."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from email import message_from_string, policy
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import fire_stored
from tests.unit.test_questionnaire import FORM

PHONE = "+14155550131"
FORM_POST = {"Content-Type": "application/x-www-form-urlencoded"}
LINK = re.compile(r"https://carecue\.example(/f/[A-Za-z0-9_-]+)")


def send(api: Client, clinic: ClinicKeys, method: str, path: str, body: Any = None) -> Any:
    return api.http.request(method, path, headers=clinic.headers, body=json.dumps(body) if body is not None else b"")


def attach(api: Client, clinic: ClinicKeys, forms: list[dict[str, Any]]) -> Any:
    settings = send(api, clinic, "GET", "/v1/clinic").json_body
    return send(api, clinic, "PUT", "/v1/clinic", {**settings, "forms": forms})


def book(api: Client, clinic: ClinicKeys, **extra: Any) -> dict[str, Any]:
    patient = {"name": "Pat Example", "phone": PHONE, **extra.pop("patient", {})}
    body = {"patient": patient, "start": "2026-12-02T10:00:00-05:00", **extra}
    response = send(api, clinic, "POST", "/v1/appointments", body)
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


@pytest.fixture
def with_form(api: Client, clinic: ClinicKeys) -> ClinicKeys:
    assert send(api, clinic, "POST", "/v1/questionnaires", FORM).status_code == 201
    assert attach(api, clinic, [{"questionnaire": "intake"}]).status_code == 200
    return clinic


def form_path(world: World) -> str:
    found = LINK.search(world.sent("sms")[-1]["body"])
    assert found is not None, world.sent("sms")[-1]["body"]
    return found[1]


def post(api: Client, path: str, fields: list[tuple[str, str]]) -> Any:
    return api.http.post(path, headers=FORM_POST, body=urlencode(fields))


def stored(api: Client, clinic: ClinicKeys, appointment_id: str) -> Any:
    return send(api, clinic, "GET", f"/v1/appointments/{appointment_id}/questionnaire-response")


# --- the setting ------------------------------------------------------------------------------------------


def test_forms_are_attached_with_filters_and_read_back(api: Client, clinic: ClinicKeys) -> None:
    send(api, clinic, "POST", "/v1/questionnaires", FORM)
    forms = [
        {"questionnaire": "intake", "providers": ["Dr. Rivera"], "event_types": ["New patient"]},
        {"questionnaire": "intake"},
    ]

    saved = attach(api, clinic, forms)

    assert saved.status_code == 200
    assert saved.json_body["forms"] == forms
    assert send(api, clinic, "GET", "/v1/clinic").json_body["forms"] == forms


def test_an_unknown_questionnaire_and_a_bad_filter_are_named_and_nothing_is_stored(
    api: Client, clinic: ClinicKeys
) -> None:
    send(api, clinic, "POST", "/v1/questionnaires", FORM)
    before = send(api, clinic, "GET", "/v1/clinic").json_body

    refused = attach(
        api,
        clinic,
        [{"questionnaire": "intake-v9"}, {"questionnaire": "intake", "providers": []}, {"form": "intake"}],
    )

    assert refused.status_code == 400
    fields = {f["field"]: f["problem"] for f in refused.json_body["error"]["fields"]}
    assert set(fields) == {"forms[0].questionnaire", "forms[1].providers", "forms[2].form", "forms[2].questionnaire"}
    assert "is not a questionnaire of this clinic" in fields["forms[0].questionnaire"]
    assert send(api, clinic, "GET", "/v1/clinic").json_body == before


def test_another_clinics_questionnaire_cannot_be_attached(api: Client, aws: World, clinic: ClinicKeys) -> None:
    send(api, clinic, "POST", "/v1/questionnaires", FORM)
    made = aws.services.clinics.create("Alder Street Dental", "America/Chicago")
    other = ClinicKeys(made.clinic_id, made.api_key)

    refused = attach(api, other, [{"questionnaire": "intake"}])

    assert refused.status_code == 400
    assert refused.json_body["error"]["fields"][0]["field"] == "forms[0].questionnaire"


# --- the link in messages ---------------------------------------------------------------------------------


def test_the_confirmation_carries_the_form_link_by_sms_and_email(
    api: Client, aws: World, with_form: ClinicKeys
) -> None:
    settings = send(api, with_form, "GET", "/v1/clinic").json_body
    assert send(api, with_form, "PUT", "/v1/clinic", {**settings, "notice_channel": "both"}).status_code == 200
    book(api, with_form, patient={"email": "pat@example.org"})

    (sms,) = aws.sent("sms")
    assert sms["body"].startswith("Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 10:00 AM.")
    assert " Please fill in your form: https://carecue.example/f/" in sms["body"]
    (raw,) = [m["raw"] for m in aws.sent("email")]
    mail = message_from_string(raw.replace("\r\n", "\n"), policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert "Please fill in your form before the visit (link below)." in text
    assert re.search(r"Fill in your form: https://carecue\.example/f/[A-Za-z0-9_-]+", text)
    assert '<a href="https://carecue.example/f/' in mail.get_body(("html",)).get_content()


def test_the_form_link_is_introduced_in_the_patients_language(api: Client, aws: World, with_form: ClinicKeys) -> None:
    book(api, with_form, patient={"language": "es"})
    book(api, with_form, patient={"language": "ar", "phone": "+14155550132"}, external_id="b-2")

    spanish, arabic = (m["body"] for m in aws.sent("sms"))
    assert re.search(r"^Riverside Family Clinic: su cita es el .*\. Rellene su formulario: https://\S+/f/\S+$", spanish)
    assert re.search(r" املأ النموذج: https://\S+/f/\S+$", arabic)


def test_only_appointments_the_filters_match_get_a_form_link(api: Client, aws: World, clinic: ClinicKeys) -> None:
    send(api, clinic, "POST", "/v1/questionnaires", FORM)
    attach(api, clinic, [{"questionnaire": "intake", "providers": ["Dr. Rivera"], "event_types": ["new patient"]}])

    book(api, clinic, provider="dr. rivera ", event_type="New Patient")  # case and spaces do not matter
    book(api, clinic, provider="Dr. Rivera", event_type="Follow-up", external_id="b-2")
    book(api, clinic, event_type="New patient", external_id="b-3")

    with_link = ["/f/" in m["body"] for m in aws.sent("sms")]
    assert with_link == [True, False, False]


def test_the_day_before_reminder_carries_the_link_until_the_form_is_sent_and_the_2h_one_never(
    api: Client, aws: World, with_form: ClinicKeys, clock: SimulatedClock
) -> None:
    first = book(api, with_form)
    second = book(api, with_form, external_id="b-2")
    path = form_path(aws)  # the second booking's confirmation
    answers = [("_step", "0"), ("1", "false"), ("_action", "next")]
    post(api, path, answers)  # the second patient starts the form: still unanswered
    page = post(api, path, [("_step", "1"), ("2.2", "checkup"), ("_action", "complete")])
    assert "Your form has been sent to the clinic." in page.body.decode()

    clock.set(datetime.fromisoformat("2026-12-01T15:00:05Z"))
    fire_stored(aws, f"{first['id']}.reminder-24h.sms", "2026-12-01T15:00:00Z")
    fire_stored(aws, f"{second['id']}.reminder-24h.sms", "2026-12-01T15:00:00Z")
    clock.set(datetime.fromisoformat("2026-12-02T13:00:05Z"))
    fire_stored(aws, f"{first['id']}.reminder-2h.sms", "2026-12-02T13:00:00Z")

    first_24h, second_24h, first_2h = (m["body"] for m in aws.sent("sms")[-3:])
    assert "Confirm: https://carecue.example/p/" in first_24h
    assert "Please fill in your form: https://carecue.example/f/" in first_24h
    assert "/f/" not in second_24h  # sent: not asked again
    assert "/f/" not in first_2h


def test_a_whatsapp_template_may_carry_the_form_link_on_confirmations_and_reminders_only(
    api: Client, clinic: ClinicKeys
) -> None:
    settings = send(api, clinic, "GET", "/v1/clinic").json_body
    template = {"name": "carecue_confirmation", "body": "{{1}}: form {{2}}", "parameters": ["clinic", "form"]}
    good = {"templates": {"confirmation": {"en": template}, "reminder": {"en": template}}}
    bad = {"templates": {"cancellation": {"en": template}}}

    assert send(api, clinic, "PUT", "/v1/clinic", {**settings, "whatsapp": good}).status_code == 200
    refused = send(api, clinic, "PUT", "/v1/clinic", {**settings, "whatsapp": bad})
    assert refused.status_code == 400
    assert refused.json_body["error"]["fields"][0]["problem"] == "a cancellation message carries no form link"


def test_a_whatsapp_confirmation_fills_the_templates_form_parameter_with_the_link(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    from tests.whatsapp_support import connect_whatsapp

    template = {"name": "carecue_confirmation", "body": "{{1}}: formulario {{2}}", "parameters": ["clinic", "form"]}
    connect_whatsapp(api, clinic, "phone-number-id-forms-0123456789", {"confirmation": {"es": template}})
    send(api, clinic, "POST", "/v1/questionnaires", FORM)
    attach(api, clinic, [{"questionnaire": "intake"}])

    book(api, clinic, patient={"language": "es", "whatsapp_opt_in": True, "preferred_channel": "whatsapp"})

    (sent,) = aws.sent()
    assert sent["channel"] == "whatsapp"
    assert re.fullmatch(
        r"Riverside Family Clinic: formulario https://carecue\.example/f/[A-Za-z0-9_-]{44}", sent["body"]
    )


# --- the page -----------------------------------------------------------------------------------------------


def test_the_page_saves_as_the_patient_goes_and_shows_the_saved_answers_on_return(
    api: Client, aws: World, with_form: ClinicKeys
) -> None:
    booked = book(api, with_form)
    path = form_path(aws)

    opened = api.http.get(path).body.decode()
    assert "Step 1 of 2" in opened and "Do you have allergies?</bdi> <span" in opened
    assert "(required)" in opened
    assert "Which allergies?" not in opened  # asked only after a yes
    assert stored(api, with_form, booked["id"]).status_code == 404  # opening saves nothing

    appeared = post(api, path, [("_step", "0"), ("1", "true"), ("_action", "next")]).body.decode()
    assert "More questions appeared below" in appeared and "Which allergies?" in appeared
    assert stored(api, with_form, booked["id"]).json_body["status"] == "in-progress"

    missing = post(api, path, [("_step", "0"), ("1", "true"), ("1.1", ""), ("_action", "next")]).body.decode()
    assert "Step 1 of 2" in missing
    assert re.search(r'<label for="q-1-1"><bdi>Which allergies\?.*?Error: This question is required\.', missing)

    moved_on = post(api, path, [("_step", "0"), ("1", "true"), ("1.1", "Test allergen"), ("_action", "next")])
    assert "Step 2 of 2" in moved_on.body.decode()

    again = api.http.get(path).body.decode()  # leaving and coming back
    assert "Step 2 of 2" in again  # the first step with a required question unanswered
    back = post(api, path, [("_step", "1"), ("2.4", "3"), ("_action", "back")]).body.decode()
    assert 'value="true" checked' in back and 'value="Test allergen"' in back
    response = stored(api, with_form, booked["id"]).json_body
    assert response["status"] == "in-progress"
    assert [i["linkId"] for i in response["item"]] == ["1", "1.1", "2"]
    assert response["item"][2]["item"] == [
        {"linkId": "2.4", "text": "How many cigarettes a day?", "answer": [{"valueInteger": 3}]}
    ]


def test_answers_are_checked_by_the_apis_rules_and_named_next_to_their_item(
    api: Client, aws: World, with_form: ClinicKeys
) -> None:
    booked = book(api, with_form)
    path = form_path(aws)

    too_long = post(api, path, [("_step", "0"), ("1", "true"), ("1.1", "x" * 41), ("_action", "next")]).body.decode()
    assert re.search(r'<label for="q-1-1"><bdi>Which allergies\?.*?Error: Use at most 40 characters\.', too_long)
    assert 'aria-describedby="e-1-1"' in too_long and '<a href="#q-1-1">' in too_long  # and in the summary

    wrong = post(api, path, [("_step", "1"), ("2.1", "31/12/1980"), ("2.4", "many"), ("_action", "complete")])
    text = wrong.body.decode()
    assert "Step 2 of 2" in text
    assert "Error: Enter a date (YYYY-MM-DD)." in text and "Error: Enter a whole number." in text
    assert "What brings you in?</bdi> <span" in text and "Error: This question is required." in text
    assert 'value="many"' in text  # shown again to be corrected
    # Nothing invalid was stored: not the long text, nor the date or the number that are not one.
    response = stored(api, with_form, booked["id"]).json_body
    assert response["status"] == "in-progress"
    assert [i["linkId"] for i in response["item"]] == ["1"]

    elsewhere = post(api, path, [("_step", "1"), ("2.2", "pain"), ("_action", "complete")]).body.decode()
    assert "Step 1 of 2" in elsewhere  # sent with a required answer missing on another step: that step
    assert re.search(r'<label for="q-1-1"><bdi>Which allergies\?.*?Error: This question is required\.', elsewhere)
    assert stored(api, with_form, booked["id"]).json_body["status"] == "in-progress"


def test_sending_the_form_stores_a_completed_fhir_response_read_back_by_the_api(
    api: Client,
    aws: World,
    with_form: ClinicKeys,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO, logger="carecue")  # Powertools logs at INFO on AWS
    booked = book(api, with_form)
    path = form_path(aws)
    post(api, path, [("_step", "0"), ("1", "true"), ("1.1", "Test allergen"), ("_action", "next")])
    incomplete = post(api, path, [("_step", "1"), ("_action", "complete")]).body.decode()
    assert re.search(
        r"What brings you in\?</bdi> <span class=\"req\">\(required\)</span></legend><p class=\"err\"", incomplete
    )

    sent = post(
        api,
        path,
        [("_step", "1"), ("2.1", "1980-12-31"), ("2.2", "pain"), ("2.2", "Other"), ("_action", "complete")],
    )
    assert sent.status_code == 200 and "Thank you. Your form has been sent to the clinic." in sent.body.decode()

    response = stored(api, with_form, booked["id"])
    assert response.headers["Content-Type"] == "application/fhir+json"
    body = response.json_body
    assert body["resourceType"] == "QuestionnaireResponse"
    assert body["status"] == "completed"
    assert body["questionnaire"] == "http://clinic.example.org/Questionnaire/intake"
    assert body["subject"] == {"reference": f"Patient/{booked['patient']['id']}"}
    assert body["authored"] == "2026-11-30T14:00:00Z"
    assert body["item"][0] == {"linkId": "1", "text": "Do you have allergies?", "answer": [{"valueBoolean": True}]}
    assert body["item"][2]["item"][:2] == [
        {"linkId": "2.1", "text": "What is your date of birth?", "answer": [{"valueDate": "1980-12-31"}]},
        {
            "linkId": "2.2",
            "text": "What brings you in?",
            "answer": [
                {"valueCoding": {"system": "http://clinic.example.org/reasons", "code": "pain", "display": "Pain"}},
                {"valueCoding": {"code": "Other", "display": "Other"}},
            ],
        },
    ]
    # Sent: the link now says so, and a post again changes nothing.
    assert "has been sent" in api.http.get(path).body.decode()
    post(api, path, [("_step", "0"), ("1", "false"), ("_action", "next")])
    assert stored(api, with_form, booked["id"]).json_body == body
    saves = [r for r in caplog.records if r.getMessage() == "pre-visit form saved"]
    assert [getattr(r, "status", None) for r in saves][-1] == "completed"  # the log names the save...
    printed = capsys.readouterr()
    for answer in ("Test allergen", "1980-12-31"):  # ...never an answer, nor does a metric
        assert answer not in caplog.text and answer not in printed.out + printed.err


def test_the_page_is_in_the_patients_language_right_to_left_in_arabic(
    api: Client, aws: World, with_form: ClinicKeys
) -> None:
    book(api, with_form, patient={"language": "ar"})
    page = api.http.get(form_path(aws)).body.decode()

    assert page.startswith('<!doctype html><html lang="ar" dir="rtl">')
    assert "الخطوة 1 من 2" in page and "(إجباري)" in page and "حفظ ومتابعة" in page
    # Every input the patient fills has its own label.
    for input_id in re.findall(r'<(?:input|textarea) type="(?:text|radio|checkbox|date)"[^>]* id="([^"]+)"', page):
        assert f'<label class="opt" for="{input_id}">' in page or f'<label for="{input_id}">' in page


def test_a_post_that_cannot_be_read_changes_nothing_saved(api: Client, aws: World, with_form: ClinicKeys) -> None:
    booked = book(api, with_form)
    path = form_path(aws)
    post(api, path, [("_step", "0"), ("1", "false"), ("_action", "next")])
    before = stored(api, with_form, booked["id"]).json_body

    for body in (b"\xff\xfe=1", "&".join(f"f{i}=x" for i in range(1001)).encode()):  # not UTF-8; too many fields
        shown = api.http.post(path, headers=FORM_POST, body=body)
        assert shown.status_code == 200 and "Step 2 of 2" in shown.body.decode()  # the page, as on opening

    assert stored(api, with_form, booked["id"]).json_body == before
    assert before["item"] == [{"linkId": "1", "text": "Do you have allergies?", "answer": [{"valueBoolean": False}]}]


def test_a_form_link_opens_only_the_form_page_and_not_after_cancellation(
    api: Client, aws: World, with_form: ClinicKeys
) -> None:
    booked = book(api, with_form)
    path = form_path(aws)
    assert api.http.get(path.replace("/f/", "/p/")).status_code == 404  # not a confirm/cancel link

    send(api, with_form, "DELETE", f"/v1/appointments/{booked['id']}")

    closed = post(api, path, [("_step", "0"), ("1", "false"), ("_action", "next")])
    assert closed.status_code == 409 and "can no longer be filled in here" in closed.body.decode()
    assert stored(api, with_form, booked["id"]).status_code == 404


# --- the front desk ---------------------------------------------------------------------------------------


def test_the_queue_shows_whether_each_form_is_done_and_never_the_answers(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    send(api, clinic, "POST", "/v1/questionnaires", FORM)
    attach(api, clinic, [{"questionnaire": "intake", "providers": ["Dr. Rivera"]}])
    sent = book(api, clinic, provider="Dr. Rivera")
    path = form_path(aws)
    post(api, path, [("_step", "0"), ("1", "true"), ("1.1", "Test allergen"), ("_action", "next")])
    post(api, path, [("_step", "1"), ("2.2", "pain"), ("_action", "complete")])
    started = book(api, clinic, provider="Dr. Rivera", external_id="b-2")
    post(api, form_path(aws), [("_step", "0"), ("1", "false"), ("_action", "next")])  # part way
    untouched = book(api, clinic, provider="Dr. Rivera", external_id="b-3")
    none = book(api, clinic, provider="Dr. Chen", external_id="b-4")

    queue = send(api, clinic, "GET", "/v1/queue?date=2026-12-02")

    assert queue.status_code == 200
    forms = {row["id"]: row["form"] for p in queue.json_body["providers"] for row in p["appointments"]}
    assert forms == {
        sent["id"]: {"questionnaire": "intake", "done": True},
        started["id"]: {"questionnaire": "intake", "done": False},
        untouched["id"]: {"questionnaire": "intake", "done": False},
        none["id"]: None,
    }
    assert "Test allergen" not in queue.body.decode() and "pain" not in queue.body.decode()
