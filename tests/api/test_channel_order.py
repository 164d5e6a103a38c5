"""The patient's channel order: the clinic's default order (`PUT /v1/clinic` `channel_order`), the patient's
preferred channel first; each message goes once, on the first channel the patient can receive it on (an address,
opted in, not opted out); two channels only when the clinic asks for `both` (one message to the phone, one by
email). What the patient sees: which channel got the message, its words and local time, exactly once."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from chalicelib.store.clinics import set_whatsapp_phone_number_id
from tests.conftest import ClinicKeys, World
from tests.timer_support import armed_expressions, fire_when_due
from tests.whatsapp_support import ENGLISH_CONFIRMATION_TEMPLATES, SENDER

PHONE = "+14155550131"
EMAIL = "pat131@example.com"
WHATSAPP = {"templates": ENGLISH_CONFIRMATION_TEMPLATES}
CONFIRMATION_SMS = "Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 10:00 AM."


def settings(api: Client, clinic: ClinicKeys, body: dict[str, Any]) -> Any:
    return api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps(body))


def book(api: Client, clinic: ClinicKeys, **patient: Any) -> dict[str, Any]:
    who = {"name": "Pat Example", "phone": PHONE, "email": EMAIL, **patient}
    body = {"patient": who, "start": "2026-12-02T10:00:00-05:00"}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def channels_sent(aws: World) -> list[tuple[str, str]]:
    return [(m["channel"], m["to"]) for m in aws.sent()]


def test_by_default_each_message_goes_once_by_sms_not_by_email_too(api: Client, aws: World, clinic: ClinicKeys) -> None:
    booked = book(api, clinic)

    assert [(m["channel"], m["body"]) for m in aws.sent()] == [("sms", CONFIRMATION_SMS)]
    assert {r["id"] for r in booked["reminders"]} == {"confirmation.sms", "reminder-24h.sms", "reminder-2h.sms"}
    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"
    reminder = aws.sent()[-1]
    assert (reminder["channel"], reminder["to"]) == ("sms", PHONE)
    assert "Wed 2 Dec at 10:00 AM" in reminder["body"]
    assert len(aws.sent()) == 2


def test_the_clinics_order_can_put_email_first(api: Client, aws: World, clinic: ClinicKeys) -> None:
    response = settings(api, clinic, {"channel_order": ["email", "sms"]})
    assert response.status_code == 200, response.json_body
    assert response.json_body["channel_order"] == ["email", "sms"]

    booked = book(api, clinic)

    (confirmation,) = aws.sent()
    assert (confirmation["channel"], confirmation["to"]) == ("email", EMAIL)
    assert confirmation["subject"] == "Riverside Family Clinic: Appointment booked: Wed 2 Dec at 10:00 AM"
    assert sorted(armed_expressions(aws)) == [f"{booked['id']}.reminder-{lead}.email" for lead in ("24h", "2h")]


def test_the_patients_preferred_channel_goes_before_the_clinics_order(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    assert settings(api, clinic, {"channel_order": ["email", "sms"]}).status_code == 200

    book(api, clinic, preferred_channel="sms")

    assert [(m["channel"], m["body"]) for m in aws.sent()] == [("sms", CONFIRMATION_SMS)]


def test_whatsapp_first_in_the_order_reaches_an_opted_in_patient_and_sms_the_others(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    set_whatsapp_phone_number_id(clinic.clinic_id, SENDER)
    order = {"channel_order": ["whatsapp", "sms", "email"], "whatsapp": WHATSAPP}
    assert settings(api, clinic, order).status_code == 200

    book(api, clinic, whatsapp_opt_in=True)  # no preferred channel: the clinic's order decides
    book(api, clinic, phone="+14155550132", email="pat132@example.com")  # no opt-in: SMS, the next channel

    assert [(m["channel"], m["to"], m["body"]) for m in aws.sent()] == [
        ("whatsapp", PHONE, "Riverside Family Clinic: your appointment is on Wed 2 Dec at 10:00 AM."),
        ("sms", "+14155550132", CONFIRMATION_SMS),
    ]


def test_a_chat_channel_the_clinic_leaves_out_is_not_used_even_when_preferred(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    set_whatsapp_phone_number_id(clinic.clinic_id, SENDER)
    assert settings(api, clinic, {"channel_order": ["sms", "email"], "whatsapp": WHATSAPP}).status_code == 200

    book(api, clinic, whatsapp_opt_in=True, preferred_channel="whatsapp")

    assert channels_sent(aws) == [("sms", PHONE)]


def test_both_sends_the_reminder_to_the_phone_and_by_email_each_once(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    rules = {"reminders": [{"before": "P1D", "channel": "both"}], "notice_channel": "both"}
    assert settings(api, clinic, rules).status_code == 200

    booked = book(api, clinic)
    assert sorted(channels_sent(aws)) == [("email", EMAIL), ("sms", PHONE)]  # the confirmation, on both

    for channel in ("sms", "email"):
        assert fire_when_due(aws, booked["id"], f"reminder-24h.{channel}")["result"] == "sent"
        assert fire_when_due(aws, booked["id"], f"reminder-24h.{channel}")["result"] == "duplicate"
    reminders = [m for m in aws.sent() if m["sent_at"] == "2026-12-01T15:00:00Z"]
    assert sorted((m["channel"], m["to"]) for m in reminders) == [("email", EMAIL), ("sms", PHONE)]


def test_a_bad_channel_order_is_a_400_naming_it_and_nothing_is_stored(api: Client, clinic: ClinicKeys) -> None:
    for bad, problem in (
        (["sms", "whatsapp"], "must include sms and email"),
        (["sms", "email", "sms"], "each at most once"),
        (["sms", "email", "fax"], "each at most once"),
        ("sms", "each at most once"),
    ):
        response = settings(api, clinic, {"channel_order": bad, "notice_channel": "twice"})

        assert response.status_code == 400
        fields = response.json_body["error"]["fields"]
        assert [f["field"] for f in fields] == ["channel_order", "notice_channel"]
        assert problem in fields[0]["problem"]
    assert api.http.get("/v1/clinic", headers=clinic.headers).json_body["channel_order"] == [
        "sms",
        "whatsapp",
        "messenger",
        "email",
    ]
