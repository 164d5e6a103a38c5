"""'I'm here' on the chat channels (issue 16: check in by replying HERE "on SMS and the chat channels"): a patient
who writes HERE (AQUÍ, وصلت) on WhatsApp or on Messenger on the day of the appointment, inside the clinic's
check-in window, is checked in as by SMS, recorded with the channel they wrote on (`checked_in_by: whatsapp` /
`messenger`), and gets the wait-time text on that channel; before the window opens they are told, there, when it
does. The clock is frozen at Monday 30 November 2026, 09:00 in New York; the default window opens 60 minutes
before the appointment."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.messenger_support import PSID, connect_messenger, m_me_ref, page_event, post_event, referral, text
from tests.whatsapp_support import connect_whatsapp, deliver_events

PHONE = "+14155550184"
SENDER = "phone-number-id-00000000000000000000000000000184"
START = "2026-11-30T10:30:00-05:00"  # check-in opens at 9:30 AM
INSIDE = datetime.fromisoformat("2026-11-30T09:45:00-05:00")

Write = Callable[[str], None]


def book(api: Client, clinic: ClinicKeys, **patient: Any) -> dict[str, Any]:
    who = {"name": "Pat Example", "phone": PHONE, **patient}
    body = {"patient": who, "start": START, "provider": "Dr. Rivera"}
    answer = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert answer.status_code == 201, answer.json_body
    return dict(answer.json_body)


def shown(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, Any]:
    body = api.http.get("/v1/queue", headers=clinic.headers).json_body
    (row,) = [a for p in body["providers"] for a in p["appointments"] if a["id"] == appointment_id]
    return dict(row)


@pytest.fixture(params=["whatsapp", "messenger"])
def chat(
    request: pytest.FixtureRequest,
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[str, str, Callable[..., dict[str, Any]], Write]:
    """(channel, where its answers go, book a patient who uses it, the patient writes on it)."""
    channel = str(request.param)
    count = iter(range(1000))
    if channel == "whatsapp":
        connect_whatsapp(api, clinic, SENDER, {})

        def book_on_whatsapp(**patient: Any) -> dict[str, Any]:
            return book(api, clinic, whatsapp_opt_in=True, preferred_channel="whatsapp", **patient)

        def on_whatsapp(body: str) -> None:
            aws.whatsapp.inbound(SENDER, PHONE, body)
            deliver_events(aws)

        return channel, PHONE, book_on_whatsapp, on_whatsapp

    connect_messenger(api, clinic, monkeypatch, capsys)

    def book_on_messenger(**patient: Any) -> dict[str, Any]:
        booked = book(api, clinic, preferred_channel="messenger", **patient)
        ref = m_me_ref(aws.sent("sms")[-1]["body"])
        assert post_event(api, page_event(referral(ref, aws.services.clock.now()))).json_body["linked"] == 1
        return booked

    def on_messenger(body: str) -> None:
        event = page_event(text(body, f"m_here_{next(count)}", aws.services.clock.now()))
        assert post_event(api, event).status_code == 200

    return channel, PSID, book_on_messenger, on_messenger


@pytest.mark.parametrize(("word", "language"), [("HERE", "en"), ("Aquí", "es"), ("وصلت", "ar")])
def test_here_inside_the_window_checks_in_and_the_wait_text_comes_on_the_same_channel(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    clock: SimulatedClock,
    chat: tuple[str, str, Callable[..., dict[str, Any]], Write],
    word: str,
    language: str,
) -> None:
    channel, address, book_on, write = chat
    booked = book_on(language=language)
    clock.set(INSIDE)
    before = len(aws.sent())

    write(word)

    row = shown(api, clinic, booked["id"])
    assert (row["status"], row["checked_in_by"]) == ("arrived", channel)
    after = aws.sent()[before:]
    assert [(m["channel"], m["to"]) for m in after] == [(channel, address)]  # the wait text, nothing by SMS
    # No one ahead, so called at the appointment's time, 45 minutes away (the waiting room's texts are English).
    assert after[0]["body"] == "Riverside Family Clinic: you are checked in. Your wait is about 45 min."


@pytest.mark.parametrize(
    ("word", "language", "answer"),
    [
        (
            "here",
            "en",
            "Riverside Family Clinic: check-in for your appointment on Mon 30 Nov at 10:30 AM opens at 9:30 AM. "
            "Reply HERE then.",
        ),
        (
            "AQUÍ",
            "es",
            "Riverside Family Clinic: el registro de llegada de su cita del lun 30 de nov, 10:30 se abre a las 9:30. "
            "Responda AQUÍ entonces.",
        ),
        (
            "وصلت",
            "ar",
            "Riverside Family Clinic: يبدأ تسجيل الوصول لموعدك الاثنين 30 نوفمبر، 10:30 ص الساعة 9:30 ص. "
            "أرسل وصلت عندها.",
        ),
    ],
)
def test_here_before_the_window_opens_is_told_when_on_the_same_channel_and_checks_in_nothing(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    chat: tuple[str, str, Callable[..., dict[str, Any]], Write],
    word: str,
    language: str,
    answer: str,
) -> None:
    channel, address, book_on, write = chat
    booked = book_on(language=language)
    before = len(aws.sent())

    write(word)

    row = shown(api, clinic, booked["id"])
    assert (row["status"], row["checked_in_by"]) == ("booked", None)
    after = aws.sent()[before:]
    assert [(m["channel"], m["to"]) for m in after] == [(channel, address)]
    assert after[0]["body"] == answer  # in the patient's language, with the accents an SMS would fold away


def test_when_the_chat_channel_refuses_the_wait_text_it_goes_by_sms(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    clock: SimulatedClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    connect_messenger(api, clinic, monkeypatch, capsys)
    booked = book(api, clinic, preferred_channel="messenger")
    ref = m_me_ref(aws.sent("sms")[-1]["body"])
    assert post_event(api, page_event(referral(ref, clock.now()))).json_body["linked"] == 1
    # The Page's token was deleted from SSM since (the clinic disconnected it): the Send API cannot be called.
    aws.session.client("ssm").delete_parameter(Name=f"/carecue/test/clinics/{clinic.clinic_id}/messenger/page-token")
    aws.services.messenger_credentials.for_clinic(clinic.clinic_id, fresh=True)
    clock.set(INSIDE)
    before = len(aws.sent())

    assert post_event(api, page_event(text("HERE", "m_here_refused", clock.now()))).status_code == 200

    row = shown(api, clinic, booked["id"])
    assert (row["status"], row["checked_in_by"]) == ("arrived", "messenger")
    after = aws.sent()[before:]
    assert [(m["channel"], m["to"], m["body"]) for m in after] == [
        ("sms", PHONE, "Riverside Family Clinic: you are checked in. Your wait is about 45 min.")
    ]
    usage = api.http.get("/v1/usage", headers=clinic.headers).json_body["messages"]
    assert (usage["sms"], usage["messenger"]) == (2, 0)  # the confirmation and the wait text; nothing on Messenger
