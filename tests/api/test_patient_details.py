"""A patient keeps their own details by their link (`/u/{token}`), a new phone or email proven by a one-time code
sent to it, and every change, the patient's, the clinic's and a booking tool's, is in the patient's history
(`GET /v1/patients/{id}/changes`), which the next message follows."""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib.core.words import Channel
from chalicelib.links.tokens import Purpose
from chalicelib.patients.contacts import opt_out
from infra.local.clock import SimulatedClock
from tests.api.test_webhooks import Hooks, hooks  # noqa: F401 (the booking tools' fixture)
from tests.conftest import ClinicKeys, World
from tests.timer_support import fire_stored
from tests.webhook_support import fixture

PHONE = "+14155550141"
NEW_PHONE = "+14155550142"
OTHER_PHONE = "+14155550143"
FORM_POST = {"Content-Type": "application/x-www-form-urlencoded"}
CODE = re.compile(r"\b(\d{6})\b is your code")


def book(api: Client, clinic: ClinicKeys, **patient: Any) -> dict[str, Any]:
    body = {"patient": {"name": "Pat Example", "phone": PHONE, **patient}, "start": "2026-12-02T10:00:00-05:00"}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def details_path(world: World, clinic: ClinicKeys, booked: dict[str, Any]) -> str:
    url = world.services.link_signer.url(
        Purpose.DETAILS, clinic.clinic_id, booked["id"], datetime.fromisoformat(booked["start"])
    )
    assert url is not None
    return url.removeprefix("https://carecue.example")


def text(response: Any) -> str:
    """The page as the patient reads it (entities such as &#x27; unescaped)."""
    return html.unescape(response.body.decode())


def post(api: Client, path: str, **fields: str) -> Any:
    return api.http.post(path, headers=FORM_POST, body=urlencode(fields))


def patient(api: Client, clinic: ClinicKeys, patient_id: str) -> dict[str, Any]:
    return dict(api.http.get(f"/v1/patients/{patient_id}", headers=clinic.headers).json_body)


def changes(api: Client, clinic: ClinicKeys, patient_id: str, query: str = "") -> Any:
    return api.http.get(f"/v1/patients/{patient_id}/changes{query}", headers=clinic.headers)


def code_sent_to(world: World, address: str) -> str:
    sent = [m for m in world.sent() if m["to"] == address]
    assert sent, f"nothing sent to {address}"
    found = CODE.search(sent[-1]["body"])
    assert found is not None, sent[-1]["body"]
    return found[1]


@pytest.fixture
def booked(api: Client, clinic: ClinicKeys) -> dict[str, Any]:
    return book(api, clinic)


def test_the_patient_link_page_offers_update_my_details(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any]
) -> None:
    confirm = aws.services.link_signer.url(
        Purpose.CONFIRM, clinic.clinic_id, booked["id"], datetime.fromisoformat(booked["start"])
    )
    assert confirm is not None

    page = api.http.get(confirm.removeprefix("https://carecue.example")).body.decode()

    found = re.search(r'<a href="https://carecue\.example(/u/[A-Za-z0-9_-]+)">Update my details</a>', page)
    assert found is not None
    opened = api.http.get(found[1])
    assert opened.status_code == 200
    shown = text(opened)
    assert "Your details" in shown and "ending in 0141" in shown
    assert PHONE not in shown  # a forwarded link does not hand out the patient's number
    assert '<label for="d-phone">New mobile phone number</label>' in shown and 'id="d-phone"' in shown


def test_a_new_phone_is_used_only_once_its_code_is_entered_and_the_change_is_in_the_history(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any], clock: SimulatedClock
) -> None:
    path = details_path(aws, clinic, booked)
    patient_id = booked["patient"]["id"]

    asked = post(api, path, _action="save", phone="+1 (415) 555-0142")

    assert asked.status_code == 200
    assert "We sent a 6-digit code to your new phone ending in 0142. It works for 10 minutes." in text(asked)
    code = code_sent_to(aws, NEW_PHONE)
    assert patient(api, clinic, patient_id)["phone"] == PHONE  # not used before it is proven
    assert changes(api, clinic, patient_id).json_body == {"changes": [], "next": None}

    clock.advance(timedelta(minutes=9))
    proven = post(api, path, _action="verify", code_phone=code)

    assert proven.status_code == 200
    assert "Saved: the clinic's messages will now go to your new phone." in text(proven)
    assert patient(api, clinic, patient_id)["phone"] == NEW_PHONE
    history = changes(api, clinic, patient_id)
    assert history.status_code == 200
    assert history.json_body == {
        "changes": [
            {
                "at": "2026-11-30T14:09:00Z",
                "field": "phone",
                "old": PHONE,
                "new": NEW_PHONE,
                "by": "patient",
                "actor": "patient_link",
                "proof": "sms_code",
            }
        ],
        "next": None,
    }
    # The next message, the day-before reminder, goes to the new phone, and none to the old one.
    before = len([m for m in aws.sent("sms") if m["to"] == PHONE])
    clock.set(datetime.fromisoformat("2026-12-01T15:00:05Z"))
    fire_stored(aws, f"{booked['id']}.reminder-24h.sms", "2026-12-01T15:00:00Z")
    assert "Wed 2 Dec at 10:00 AM" in aws.sent("sms")[-1]["body"]
    assert aws.sent("sms")[-1]["to"] == NEW_PHONE
    assert len([m for m in aws.sent("sms") if m["to"] == PHONE]) == before
    # The same code a second time proves nothing more: it was used.
    again = post(api, path, _action="verify", code_phone=code)
    assert "There is no code waiting" in text(again)
    assert len(changes(api, clinic, patient_id).json_body["changes"]) == 1


def test_a_wrong_code_counts_and_the_sixth_try_is_refused_even_with_the_right_code(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any]
) -> None:
    path = details_path(aws, clinic, booked)
    post(api, path, _action="save", phone=NEW_PHONE)
    code = code_sent_to(aws, NEW_PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    pages = [post(api, path, _action="verify", code_phone=wrong) for _ in range(5)]

    assert [p.status_code for p in pages] == [200, 200, 200, 200, 429]
    assert "That code is not right. Tries left: 4." in text(pages[0])
    assert "Tries left: 1." in text(pages[3])
    assert "Too many tries: this code no longer works. Ask for a new code." in text(pages[4])
    sixth = post(api, path, _action="verify", code_phone=code)
    assert sixth.status_code == 429
    assert "Too many tries" in text(sixth)
    assert patient(api, clinic, booked["patient"]["id"])["phone"] == PHONE
    assert changes(api, clinic, booked["patient"]["id"]).json_body["changes"] == []


def test_an_expired_code_is_refused_and_a_new_code_works(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any], clock: SimulatedClock
) -> None:
    path = details_path(aws, clinic, booked)
    post(api, path, _action="save", phone=NEW_PHONE)
    old_code = code_sent_to(aws, NEW_PHONE)
    clock.advance(timedelta(minutes=10))

    late = post(api, path, _action="verify", code_phone=old_code)

    assert late.status_code == 410
    assert "This code has expired (a code works for 10 minutes). Ask for a new code." in text(late)
    assert 'value="resend"' in text(late)
    assert patient(api, clinic, booked["patient"]["id"])["phone"] == PHONE
    assert post(api, path, _action="resend").status_code == 200
    new_code = code_sent_to(aws, NEW_PHONE)
    assert post(api, path, _action="verify", code_phone=new_code).status_code == 200
    assert patient(api, clinic, booked["patient"]["id"])["phone"] == NEW_PHONE


def test_a_code_proves_only_the_address_it_was_sent_to(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any]
) -> None:
    path = details_path(aws, clinic, booked)
    post(api, path, _action="save", phone=NEW_PHONE)
    first = code_sent_to(aws, NEW_PHONE)
    post(api, path, _action="save", phone=OTHER_PHONE)  # changed their mind: a new code goes to the other number

    stale = post(api, path, _action="verify", code_phone=first)

    assert "That code is not right" in text(stale)
    assert patient(api, clinic, booked["patient"]["id"])["phone"] == PHONE
    post(api, path, _action="verify", code_phone=code_sent_to(aws, OTHER_PHONE))
    assert patient(api, clinic, booked["patient"]["id"])["phone"] == OTHER_PHONE


def test_codes_are_rate_limited_to_three_an_hour_and_each_is_metered(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any], clock: SimulatedClock
) -> None:
    path = details_path(aws, clinic, booked)
    usage_before = api.http.get("/v1/usage", headers=clinic.headers).json_body

    answers = []
    for _ in range(4):
        answers.append(post(api, path, _action="save", phone=NEW_PHONE))
        clock.advance(timedelta(minutes=5))

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "You have asked for 3 codes in the last hour. You can ask again at 10:00 AM." in text(answers[3])
    assert len([m for m in aws.sent("sms") if m["to"] == NEW_PHONE]) == 3
    usage = api.http.get("/v1/usage", headers=clinic.headers).json_body
    assert usage["messages"]["sms"] == usage_before["messages"]["sms"] + 3
    clock.set(datetime.fromisoformat("2026-11-30T15:00:00Z"))
    assert post(api, path, _action="save", phone=NEW_PHONE).status_code == 200


def test_a_new_email_is_proven_by_a_code_sent_to_it_by_email(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any]
) -> None:
    path = details_path(aws, clinic, booked)

    post(api, path, _action="save", email="Pat.New@Example.org")

    (sent,) = [m for m in aws.sent("email") if m["to"] == "Pat.New@example.org"]
    assert sent["subject"] == "Your code for Riverside Family Clinic"
    code = CODE.search(sent["body"])
    assert code is not None
    post(api, path, _action="verify", code_email=code[1])
    shown = patient(api, clinic, booked["patient"]["id"])
    assert shown["email"] == "Pat.New@example.org"
    (change,) = changes(api, clinic, booked["patient"]["id"]).json_body["changes"]
    assert (change["field"], change["old"], change["new"], change["proof"]) == (
        "email",
        None,
        "Pat.New@example.org",
        "email_code",
    )


def test_language_channel_and_time_zone_are_saved_at_once_and_checked(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    booked = book(api, clinic, email="pat@example.org")
    path = details_path(aws, clinic, booked)
    patient_id = booked["patient"]["id"]

    refused = post(
        api, path, _action="save", language="fr", preferred_channel="whatsapp", timezone="Mars/Olympus", phone="12"
    )

    page = text(refused)
    assert refused.status_code == 200
    for problem in (
        "Choose one of the languages offered.",
        "Choose one of the ways offered.",  # no WhatsApp opt-in: not a channel this patient can receive on
        "Enter a time zone such as America/New_York.",
        "Enter the phone number with its country code",
    ):
        assert problem in page
    assert 'aria-describedby="h-timezone e-timezone" aria-invalid="true"' in page
    assert changes(api, clinic, patient_id).json_body["changes"] == []  # nothing of it saved
    assert aws.sent("sms")[-1]["to"] == PHONE and "code" not in aws.sent("sms")[-1]["body"]

    saved = post(api, path, _action="save", language="es", preferred_channel="email", timezone="America/Chicago")

    assert saved.status_code == 200
    assert '<html lang="es">' in text(saved) and "Sus datos se han guardado." in text(saved)
    shown = patient(api, clinic, patient_id)
    assert (shown["language"], shown["preferred_channel"], shown["timezone"]) == ("es", "email", "America/Chicago")
    history = changes(api, clinic, patient_id).json_body["changes"]
    assert {(c["field"], c["old"], c["new"], c["by"]) for c in history} == {
        ("language", "en", "es", "patient"),
        ("preferred_channel", None, "email", "patient"),
        ("timezone", None, "America/Chicago", "patient"),
    }
    # The reminders follow: re-planned in the new zone, on the channel the patient prefers.
    reminders = api.http.get(f"/v1/appointments/{booked['id']}", headers=clinic.headers).json_body
    assert reminders["timezone"] == "America/Chicago"


def test_the_page_is_in_arabic_right_to_left_for_an_arabic_speaking_patient(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    booked = book(api, clinic, language="ar")

    page = api.http.get(details_path(aws, clinic, booked)).body.decode()

    assert '<html lang="ar" dir="rtl">' in page
    assert "بياناتك" in page and "حفظ بياناتي" in page


def test_the_clinics_and_a_bookings_changes_are_in_the_same_history_with_who_made_them(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any], clock: SimulatedClock
) -> None:
    patient_id = booked["patient"]["id"]
    put = api.http.put(
        f"/v1/patients/{patient_id}", headers=clinic.headers, body=json.dumps({"timezone": "America/Denver"})
    )
    assert put.status_code == 200
    clock.advance(timedelta(minutes=1))
    # The same person booked again with an email they had not given: the booking adds it, and says so.
    again = {
        "patient": {"name": "Pat Example", "phone": PHONE, "email": "pat@example.org"},
        "start": "2026-12-03T10:00:00-05:00",
    }
    assert api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(again)).status_code == 201

    history = changes(api, clinic, patient_id).json_body["changes"]

    assert [(c["field"], c["new"], c["by"]) for c in history] == [
        ("email", "pat@example.org", "clinic"),
        ("timezone", "America/Denver", "clinic"),
    ]
    assert history[1]["actor"].startswith("api_key:") and len(history[1]["actor"]) == len("api_key:") + 12
    assert history[0]["actor"] == "api"


def test_the_history_comes_in_pages_newest_first(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any], clock: SimulatedClock
) -> None:
    patient_id = booked["patient"]["id"]
    zones = ["America/Chicago", "America/Denver", "America/Phoenix"]
    for zone in zones:
        api.http.put(f"/v1/patients/{patient_id}", headers=clinic.headers, body=json.dumps({"timezone": zone}))
        clock.advance(timedelta(minutes=1))

    first = changes(api, clinic, patient_id, "?limit=2").json_body
    second = changes(api, clinic, patient_id, f"?limit=2&next={first['next']}").json_body

    assert [c["new"] for c in first["changes"]] == ["America/Phoenix", "America/Denver"]
    assert [c["new"] for c in second["changes"]] == ["America/Chicago"] and second["next"] is None
    other = book(api, clinic, name="Sam Example", phone=OTHER_PHONE)
    refused = changes(api, clinic, other["patient"]["id"], f"?next={first['next']}")
    assert refused.status_code == 400
    assert refused.json_body["error"]["fields"] == [
        {"field": "next", "problem": "is not a cursor this list gave; start again without it"}
    ]
    assert changes(api, clinic, patient_id, "?limit=0").status_code == 400
    assert changes(api, clinic, "pat_0000000000000000").status_code == 404


def test_no_phone_email_or_code_reaches_the_log(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    booked: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO, logger="carecue")  # Powertools logs at INFO on AWS
    path = details_path(aws, clinic, booked)
    capsys.readouterr()

    post(api, path, _action="save", phone=NEW_PHONE, email="pat.new@example.org")
    code = code_sent_to(aws, NEW_PHONE)
    post(api, path, _action="verify", code_phone=code)
    api.http.get(f"/v1/patients/{booked['patient']['id']}/changes", headers=clinic.headers)

    printed = capsys.readouterr()
    logged = caplog.text + printed.out + printed.err
    messages = {r.getMessage() for r in caplog.records}
    assert {"contact code sent", "patient details changed"} <= messages
    for secret in (NEW_PHONE, PHONE, "pat.new@example.org", code):
        assert secret not in logged


def test_a_booking_tool_that_adds_an_email_is_named_in_the_history(hooks: Hooks) -> None:  # noqa: F811
    # The clinic booked the patient with a phone only; the tool's booking of the same person brings an email.
    keys = ClinicKeys(hooks.clinic_id, hooks.clinic_key)
    body = {"patient": {"name": "Pat Example", "phone": "+14155550101"}, "start": "2026-12-03T10:00:00-05:00"}
    booked = hooks.api.http.post("/v1/appointments", headers=keys.headers, body=json.dumps(body)).json_body

    answer = hooks.post("calcom", fixture("calcom", "booking_created.json"))

    assert answer.json_body["outcome"] == "booked"
    (change,) = changes(hooks.api, keys, booked["patient"]["id"]).json_body["changes"]
    assert {k: change[k] for k in ("field", "old", "new", "by", "actor", "proof")} == {
        "field": "email",
        "old": None,
        "new": "pat@example.org",
        "by": "booking_tool",
        "actor": "booking_tool:calcom",
        "proof": None,
    }


def test_a_number_that_sent_stop_gets_no_code(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any]
) -> None:
    opt_out(clinic.clinic_id, Channel.SMS, NEW_PHONE, "sms_reply", aws.services.clock.now())

    refused = post(api, details_path(aws, clinic, booked), _action="save", phone=NEW_PHONE)

    assert "This number asked for no text messages from the clinic. Reply START from it" in text(refused)
    assert [m for m in aws.sent() if m["to"] == NEW_PHONE] == []
    assert patient(api, clinic, booked["patient"]["id"])["phone"] == PHONE


def test_only_a_details_link_opens_the_details_page(
    api: Client, aws: World, clinic: ClinicKeys, booked: dict[str, Any]
) -> None:
    confirm = aws.services.link_signer.url(
        Purpose.CONFIRM, clinic.clinic_id, booked["id"], datetime.fromisoformat(booked["start"])
    )
    assert confirm is not None
    token = confirm.rsplit("/", 1)[1]
    details = details_path(aws, clinic, booked)

    assert api.http.get(f"/u/{token}").status_code == 404  # a confirm link is not a details link
    assert api.http.get(details.replace("/u/", "/p/")).status_code == 404  # nor the other way round
    tampered = details[:-2] + ("AA" if not details.endswith("AA") else "BB")
    refused = post(api, tampered, _action="save", phone=NEW_PHONE)
    assert refused.status_code == 404 and "This link is not valid or has expired. Nothing was changed." in text(refused)
    assert [m for m in aws.sent() if m["to"] == NEW_PHONE] == []
