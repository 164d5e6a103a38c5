"""Messenger through the API: Meta's webhook (a wrong verify token is a 403, a forged or missing signature a 401
storing nothing), the m.me link a confirmation offers and the referral that links the patient's PSID, then the
patient's reminders by Messenger (free-form inside the 24-hour window, the clinic's utility template outside it,
SMS without one), replies with the SMS words, and usage counting Messenger apart. Meta's Send API is the local
stack's fake (infra/local/messenger_fake.py), checking each request as the Send API would."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.links.messenger_ref import MessengerRef, sign_ref
from chalicelib.store.models import Contact, Delivery, Patient, PatientKey
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_admin_operations import admin
from tests.messenger_support import (
    PAGE_ID,
    PSID,
    connect_messenger,
    m_me_ref,
    page_event,
    post_event,
    referral,
    signature,
    text,
)
from tests.timer_support import fire_when_due

PHONE = "+14155550141"


@pytest.fixture
def verify_token(
    api: Client,
    clinic: ClinicKeys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    return connect_messenger(api, clinic, monkeypatch, capsys)


def book(api: Client, clinic: ClinicKeys, start: str = "2026-12-02T10:00:00-05:00", **patient: Any) -> dict[str, Any]:
    who = {"name": "Pat Example", "phone": PHONE, **patient}
    body = {"patient": who, "start": start}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def patient_view(api: Client, clinic: ClinicKeys, patient_id: str) -> dict[str, Any]:
    response = api.http.get(f"/v1/patients/{patient_id}", headers=clinic.headers)
    assert response.status_code == 200, response.json_body
    return dict(response.json_body)


def linked_by_referral(
    api: Client, aws: World, clinic: ClinicKeys, start: str = "2026-12-02T10:00:00-05:00", **patient: Any
) -> dict[str, Any]:
    """Books, takes the ref from the SMS confirmation's m.me link and sends Meta's referral event for it."""
    booked = book(api, clinic, start, preferred_channel="messenger", **patient)
    ref = m_me_ref(aws.sent("sms")[-1]["body"])
    response = post_event(api, page_event(referral(ref, aws.services.clock.now())))
    assert response.status_code == 200, response.json_body
    assert response.json_body["linked"] == 1
    return booked


# --- the webhook's own checks ------------------------------------------------------------------------------------


def test_the_subscription_check_echoes_the_challenge_for_the_clinics_verify_token(
    api: Client, verify_token: str
) -> None:
    query = f"hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge=1158201444"
    response = api.http.get(f"/webhooks/messenger?{query}")

    assert (response.status_code, response.body) == (200, b"1158201444")
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        "hub.mode=subscribe&hub.verify_token=cln_000000000000.wrong&hub.challenge=1158201444",
        "hub.mode=subscribe&hub.verify_token=meatyhamhock&hub.challenge=1158201444",
        "hub.mode=subscribe&hub.challenge=1158201444",
    ],
    ids=["another token", "not a clinic's", "no token"],
)
def test_a_wrong_verify_token_is_a_403_in_the_envelope(api: Client, verify_token: str, query: str) -> None:
    response = api.http.get(f"/webhooks/messenger?{query}")

    assert response.status_code == 403
    assert response.json_body["error"]["code"] == "forbidden"
    assert b"1158201444" not in response.body


def test_the_right_token_in_another_mode_is_a_403(api: Client, verify_token: str) -> None:
    response = api.http.get(
        f"/webhooks/messenger?hub.mode=unsubscribe&hub.verify_token={verify_token}&hub.challenge=1158201444"
    )

    assert (response.status_code, response.json_body["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize("signed", ["sha256=" + "0" * 64, "", "forged"], ids=["forged", "missing", "malformed"])
def test_a_forged_or_missing_signature_is_a_401_and_links_nothing(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str, signed: str
) -> None:
    booked = book(api, clinic, preferred_channel="messenger")
    body = page_event(referral(m_me_ref(aws.sent("sms")[-1]["body"]), aws.services.clock.now()))

    response = post_event(api, body, signed=signed)

    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "unauthorized"
    assert Patient.get(clinic.clinic_id, booked["patient"]["id"]).messenger_psid is None
    assert list(Contact.scan(Contact.channel == "messenger")) == []


def test_an_event_signed_with_another_apps_secret_is_a_401(api: Client, aws: World, verify_token: str) -> None:
    body = page_event(text("C", "m_0001", aws.services.clock.now()))

    response = post_event(api, body, signed=signature(body, "another-apps-secret"))

    assert response.status_code == 401
    assert aws.sent("messenger") == []


def test_an_event_for_a_page_no_clinic_connected_is_a_401(api: Client, aws: World, verify_token: str) -> None:
    body = page_event(text("C", "m_0002", aws.services.clock.now()), page="000000000000999")

    assert post_event(api, body).status_code == 401


# --- linking ----------------------------------------------------------------------------------------------------


def test_the_confirmation_offers_the_m_me_link_only_when_the_clinic_has_messenger(
    api: Client, aws: World, clinic: ClinicKeys, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    book(api, clinic, phone="+14155550142")
    assert "m.me" not in aws.sent("sms")[-1]["body"]

    connect_messenger(api, clinic, monkeypatch, capsys)
    book(api, clinic, language="es")

    confirmation = aws.sent("sms")[-1]["body"]
    assert f"\nReciba sus recordatorios por Messenger: https://m.me/{PAGE_ID}?ref=" in confirmation


def test_the_referral_links_the_psid_to_the_patient_with_when_and_how(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = linked_by_referral(api, aws, clinic)

    patient = patient_view(api, clinic, booked["patient"]["id"])
    assert patient["messenger"] == {"at": "2026-11-30T14:00:00Z", "source": "messenger_referral"}
    assert Patient.get(clinic.clinic_id, booked["patient"]["id"]).messenger_psid == PSID


def test_a_first_conversations_get_started_postback_links_too(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = book(api, clinic, preferred_channel="messenger")
    ref = m_me_ref(aws.sent("sms")[-1]["body"])
    postback = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(aws.services.clock.now().timestamp() * 1000),
        "postback": {"title": "Get Started", "payload": "GET_STARTED", "referral": {"ref": ref, "type": "OPEN_THREAD"}},
    }

    assert post_event(api, page_event(postback)).json_body["linked"] == 1
    assert patient_view(api, clinic, booked["patient"]["id"])["messenger"]["source"] == "messenger_postback"


def test_an_expired_or_forged_ref_links_nothing(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str, clock: SimulatedClock
) -> None:
    booked = book(api, clinic, preferred_channel="messenger")
    key = aws.services.link_signer.key()
    expired = sign_ref(MessengerRef(clinic.clinic_id, booked["patient"]["id"], clock.now() - timedelta(seconds=1)), key)
    forged = sign_ref(MessengerRef(clinic.clinic_id, booked["patient"]["id"], clock.now() + timedelta(days=1)), b"x")
    other_clinic = sign_ref(
        MessengerRef("cln_000000000000", booked["patient"]["id"], clock.now() + timedelta(days=1)), key
    )

    for ref in (expired, forged, other_clinic):
        response = post_event(api, page_event(referral(ref, clock.now())))
        assert (response.status_code, response.json_body["linked"], response.json_body["refused_refs"]) == (200, 0, 1)

    assert patient_view(api, clinic, booked["patient"]["id"])["messenger"] is None
    assert Patient.get(clinic.clinic_id, booked["patient"]["id"]).messenger_psid is None


# --- sending ----------------------------------------------------------------------------------------------------


def test_after_the_referral_the_reminder_goes_by_messenger_as_the_utility_template_outside_the_window(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = linked_by_referral(api, aws, clinic)  # the window opened at booking: closed 25 h later

    assert fire_when_due(aws, booked["id"], "reminder-24h.sms") == {"result": "sent", "reason": None}

    reminder = aws.sent()[-1]
    assert (reminder["channel"], reminder["to"]) == ("messenger", PSID)
    assert reminder["body"].startswith(
        "Riverside Family Clinic: your appointment is on Wed 2 Dec at 10:00 AM. Confirm: "
    )
    request = aws.services.messenger_api.requests[-1]  # type: ignore[attr-defined]
    assert request["messaging_type"] == "UTILITY"
    assert request["message"]["attachment"]["payload"]["template_name"] == "carecue_reminder"
    assert [m["channel"] for m in aws.sent()] == ["sms", "messenger"]  # the confirmation (SMS), then the reminder


def test_inside_the_window_the_reminder_goes_free_form_in_carecues_words(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str, clock: SimulatedClock
) -> None:
    booked = linked_by_referral(api, aws, clinic)
    clock.set(clock.now() + timedelta(hours=19))  # six hours before the 24-h reminder the patient writes
    assert post_event(api, page_event(text("thanks", "m_0003", clock.now()))).status_code == 200

    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"

    reminder = aws.sent()[-1]
    assert (reminder["channel"], reminder["to"]) == ("messenger", PSID)
    assert reminder["body"].startswith("Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00")
    assert aws.services.messenger_api.requests[-1]["messaging_type"] == "RESPONSE"  # type: ignore[attr-defined]


def test_outside_the_window_without_a_template_for_the_language_the_reminder_goes_by_sms(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = linked_by_referral(api, aws, clinic, language="es")  # the clinic's template is English only

    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"

    assert [(m["channel"], m["to"]) for m in aws.sent()] == [("sms", PHONE), ("sms", PHONE)]


def test_a_patient_who_did_not_choose_messenger_keeps_sms(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = book(api, clinic)
    ref = m_me_ref(aws.sent("sms")[-1]["body"])
    post_event(api, page_event(referral(ref, aws.services.clock.now())))

    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"

    assert [m["channel"] for m in aws.sent()] == ["sms", "sms"]


def test_a_reply_c_on_messenger_confirms_and_is_answered_there_and_usage_counts_messenger(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = linked_by_referral(api, aws, clinic)

    response = post_event(api, page_event(text("C", "m_0004", aws.services.clock.now())))

    assert response.json_body["messages"] == 1
    answer = aws.sent()[-1]
    assert (answer["channel"], answer["to"]) == ("messenger", PSID)
    assert answer["body"].startswith("Riverside Family Clinic: thank you, your appointment on Wed 2 Dec")
    appointment = api.http.get(f"/v1/appointments/{booked['id']}", headers=clinic.headers).json_body
    assert appointment["confirmed_via"] == "messenger"
    usage = api.http.get("/v1/usage", headers=clinic.headers).json_body
    assert usage["messages"] == {"sms": 1, "email": 0, "whatsapp": 0, "messenger": 1}
    # Messenger has no fee: the cost is the SMS confirmation's, two segments once the m.me line is in it.
    assert usage["sms_segments"] == 2
    assert usage["estimated_cost_usd"] == pytest.approx(0.00831 * 2)


def test_stop_on_messenger_stops_messenger_only(api: Client, aws: World, clinic: ClinicKeys, verify_token: str) -> None:
    booked = linked_by_referral(api, aws, clinic)
    post_event(api, page_event(text("STOP", "m_0005", aws.services.clock.now())))

    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"

    assert [m["channel"] for m in aws.sent()] == ["sms", "messenger", "sms"]  # confirmation, STOP answer, reminder


def test_a_message_the_send_api_refuses_goes_once_by_sms_in_the_same_request(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = linked_by_referral(api, aws, clinic)
    # The Page's token was deleted from SSM since (the clinic disconnected it): the Send API cannot be called.
    aws.session.client("ssm").delete_parameter(Name=f"/carecue/test/clinics/{clinic.clinic_id}/messenger/page-token")
    aws.services.messenger_credentials.for_clinic(clinic.clinic_id, fresh=True)

    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"

    assert [(m["channel"], m["to"]) for m in aws.sent()] == [("sms", PHONE), ("sms", PHONE)]
    delivery = Delivery.get(f"{booked['id']}/reminder-24h.sms", "2026-12-01T15:00:00Z")
    assert (delivery.channel, delivery.failure, delivery.fallback_channel, delivery.fallback_status) == (
        "messenger",
        "messenger_not_connected",
        "sms",
        "sent",
    )


# --- merge-patients ---------------------------------------------------------------------------------------------


def test_merge_patients_moves_a_messenger_link_to_the_record_it_keeps(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    verify_token: str,
    clock: SimulatedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two records of one person from before bookings reused patients; the newer one linked Messenger.
    first = book(api, clinic, preferred_channel="messenger")
    for row in PatientKey.scan():
        row.delete()
    clock.advance(timedelta(minutes=1))
    second = linked_by_referral(api, aws, clinic, start="2026-12-03T10:00:00-05:00")
    kept, merged = first["patient"]["id"], second["patient"]["id"]
    assert kept != merged and patient_view(api, clinic, kept)["messenger"] is None

    code, out, _ = admin(capsys, "merge-patients", "--clinic", clinic.clinic_id, "--apply")
    assert (code, out["merges"][0]["keep"]) == (0, kept)

    assert patient_view(api, clinic, kept)["messenger"] == {
        "at": "2026-11-30T14:01:00Z",
        "source": "messenger_referral",
    }
    assert Contact.get(clinic.clinic_id, f"messenger:{PSID}").patient_id == kept
    # The kept record's own reminder now goes by Messenger, where before the merge it had no PSID to go to.
    assert fire_when_due(aws, first["id"], "reminder-24h.sms")["result"] == "sent"
    reminder = aws.sent()[-1]
    assert (reminder["channel"], reminder["to"]) == ("messenger", PSID)
    assert reminder["body"].startswith("Riverside Family Clinic: your appointment is on Wed 2 Dec at 10:00 AM.")
    # Run again: nothing left to merge, the link stays.
    code, out, _ = admin(capsys, "merge-patients", "--clinic", clinic.clinic_id, "--apply")
    assert (code, out["merges"]) == (0, [])
    assert Patient.get(clinic.clinic_id, kept).messenger_psid == PSID


# --- the Messenger opt-out in PUT /v1/patients/{id} -------------------------------------------------------------


def put_patient(api: Client, clinic: ClinicKeys, patient_id: str, body: dict[str, Any]) -> Any:
    return api.http.put(f"/v1/patients/{patient_id}", headers=clinic.headers, body=json.dumps(body))


def test_the_clinic_opts_a_linked_patient_out_of_messenger_as_a_stop_there_would(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str, clock: SimulatedClock
) -> None:
    booked = linked_by_referral(api, aws, clinic)
    patient_id = booked["patient"]["id"]

    response = put_patient(api, clinic, patient_id, {"opt_out": {"messenger": True}})

    assert response.status_code == 200, response.json_body
    shown = patient_view(api, clinic, patient_id)["opt_out"]
    assert shown == {
        "sms": None,
        "email": None,
        "whatsapp": None,
        "messenger": {"at": "2026-11-30T14:00:00Z", "source": "api"},
    }
    stored = Contact.get(clinic.clinic_id, f"messenger:{PSID}")  # where a STOP on Messenger is kept
    assert (stored.channel, stored.opt_out_source) == ("messenger", "api")
    # Messenger stops, SMS goes on: the reminder goes by SMS to the phone.
    assert fire_when_due(aws, booked["id"], "reminder-24h.sms")["result"] == "sent"
    assert [(m["channel"], m["to"]) for m in aws.sent()] == [("sms", PHONE), ("sms", PHONE)]

    undone = put_patient(api, clinic, patient_id, {"opt_out": {"messenger": False}})

    assert undone.status_code == 200, undone.json_body
    assert undone.json_body["opt_out"]["messenger"] is None
    assert Contact.get(clinic.clinic_id, f"messenger:{PSID}").opted_out_at is None


def test_a_stop_on_messenger_shows_in_the_patient_view(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    booked = linked_by_referral(api, aws, clinic)
    post_event(api, page_event(text("STOP", "m_0006", aws.services.clock.now())))

    shown = patient_view(api, clinic, booked["patient"]["id"])["opt_out"]

    assert shown["messenger"] == {"at": "2026-11-30T14:00:00Z", "source": "messenger_reply"}
    assert shown["sms"] is None


def test_a_messenger_opt_out_for_a_patient_who_never_linked_is_a_400_naming_it_and_stores_nothing(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    patient_id = book(api, clinic)["patient"]["id"]

    response = put_patient(api, clinic, patient_id, {"opt_out": {"messenger": True, "sms": True}, "language": "es"})
    bad = put_patient(api, clinic, patient_id, {"opt_out": {"messenger": "yes"}})

    assert response.status_code == 400
    assert [(f["field"], f["problem"]) for f in response.json_body["error"]["fields"]] == [
        ("opt_out.messenger", "the patient has not linked Messenger")
    ]
    assert bad.status_code == 400
    assert [f["field"] for f in bad.json_body["error"]["fields"]] == ["opt_out"]
    view = patient_view(api, clinic, patient_id)
    assert view["opt_out"] == {"sms": None, "email": None, "whatsapp": None, "messenger": None}
    assert view["language"] == "en"  # nothing half stored
