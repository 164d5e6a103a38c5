"""Waiting-room texts on the patient's channel: the wait-time text after a front-desk check-in and the running-late
text to a patient still at home walk the patient's channel order, as appointment messages do. A WhatsApp-first
patient gets the clinic's `wait-time` / `running-late` template in their language (filled with the wait or the
lag in minutes, the provider and the appointment's time) outside the 24-hour window, CareCue's own words inside
it, SMS when the clinic has no template; a text the chat channel refuses goes by SMS; each is metered on its
channel; a patient linked on Messenger gets them from the clinic's Page the same way. A number that sent STOP
gets no waiting-room text by SMS. The morning is Tuesday 1 December 2026 in New
York, with Dr. Rivera's patients booked through the REST API and the running-late watch fired as Scheduler would."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from infra.local.clock import SimulatedClock
from infra.local.stack import sns_event
from tests.api.test_visits import PHONES, Day, at
from tests.conftest import ClinicKeys, World
from tests.whatsapp_support import SENDER, connect_whatsapp, deliver_events

CLINIC = "Riverside Family Clinic"
TEMPLATES: dict[str, Any] = {
    "wait-time": {
        "es": {
            "name": "carecue_wait_time",
            "body": "{{1}}: ya está registrado. Su espera es de unos {{2}} min.",
            "parameters": ["clinic", "minutes"],
        }
    },
    "running-late": {
        "es": {
            "name": "carecue_running_late",
            "body": "{{1}}: {{2}} lleva unos {{3}} min de retraso. Su cita sigue a las {{4}}.",
            "parameters": ["clinic", "provider", "minutes", "time"],
        }
    },
}
WHATSAPP_FIRST = {"whatsapp_opt_in": True, "preferred_channel": "whatsapp", "language": "es"}


class Requests:
    """Every SendWhatsAppMessage request as AWS receives it (made before the first WhatsApp send: a boto3 client
    copies its session's event hooks when it is made)."""

    def __init__(self, world: World) -> None:
        self.messages: list[dict[str, Any]] = []
        world.session.events.register(
            "before-parameter-build.socialmessaging.SendWhatsAppMessage",
            lambda params, **_: self.messages.append(json.loads(params["message"])),
        )

    def templates(self) -> list[tuple[str, str, list[str]]]:
        return [
            (
                m["template"]["name"],
                m["template"]["language"]["code"],
                [p["text"] for c in m["template"]["components"] for p in c["parameters"]],
            )
            for m in self.messages
            if m["type"] == "template"
        ]


@pytest.fixture
def day(api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> Day:
    clock.set(at("08:00"))
    return Day(api, aws, clinic, clock)


def book(day: Day, who: str, start: str, **patient: Any) -> str:
    body = {
        "patient": {"name": f"Pat Example{who}", "phone": PHONES[who], **patient},
        "start": at(start).isoformat(),
        "provider": "Dr. Rivera",
    }
    response = day.api.http.post("/v1/appointments", headers=day.clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return str(response.json_body["id"])


def waiting_texts(day: Day, who: str) -> list[tuple[str, str]]:
    """(channel, text) of the waiting-room texts to `who`: not the booking's confirmation or reminders."""
    return [
        (m["channel"], m["body"])
        for m in day.aws.sent()
        if m["to"] == PHONES[who] and any(w in m["body"] for w in ("checked in", "registrado", "late", "retraso"))
    ]


def usage(day: Day) -> dict[str, int]:
    return dict(day.api.http.get("/v1/usage", headers=day.clinic.headers).json_body["messages"])


def connect(day: Day, templates: dict[str, Any] = TEMPLATES) -> None:
    connect_whatsapp(day.api, day.clinic, SENDER, templates)


def test_a_front_desk_check_in_sends_the_wait_time_as_the_clinics_spanish_template(day: Day) -> None:
    # GIVEN a Spanish-speaking patient who opted in to WhatsApp and prefers it, and an SMS patient
    requests = Requests(day.aws)
    connect(day)
    a = book(day, "A", "09:00", **WHATSAPP_FIRST)
    b = book(day, "B", "09:30")

    # WHEN the front desk checks both in at 08:50 (neither has written: no window is open)
    day.go_to("08:50")
    assert day.move(a, "check-in").status_code == 200
    assert day.move(b, "check-in").status_code == 200

    # THEN A's wait text is the clinic's template, filled in, by WhatsApp; B's is CareCue's SMS
    assert [t for t in requests.templates() if t[0] == "carecue_wait_time"] == [
        ("carecue_wait_time", "es", [CLINIC, "10"])
    ]
    assert waiting_texts(day, "A") == [("whatsapp", f"{CLINIC}: ya está registrado. Su espera es de unos 10 min.")]
    assert waiting_texts(day, "B") == [("sms", f"{CLINIC}: you are checked in. Your wait is about 40 min.")]
    # AND each is metered on its channel (the confirmations went by SMS: the clinic has no confirmation template)
    assert usage(day) == {"sms": 3, "email": 0, "whatsapp": 1, "messenger": 0}


def test_inside_the_window_the_wait_text_goes_free_form_and_without_a_template_by_sms(day: Day) -> None:
    connect(day, {})  # no templates at all
    a = book(day, "A", "09:00", **WHATSAPP_FIRST)
    c = book(day, "C", "09:30", **WHATSAPP_FIRST)
    day.go_to("08:40")
    day.aws.whatsapp.inbound(SENDER, PHONES["A"], "voy en camino")  # A writes: A's window is open
    deliver_events(day.aws)

    day.go_to("08:50")
    day.move(a, "check-in")
    day.move(c, "check-in")

    assert waiting_texts(day, "A") == [("whatsapp", f"{CLINIC}: you are checked in. Your wait is about 10 min.")]
    assert waiting_texts(day, "C") == [("sms", f"{CLINIC}: you are checked in. Your wait is about 40 min.")]


def test_a_patient_at_home_hears_the_provider_runs_late_by_the_running_late_template(day: Day) -> None:
    # GIVEN A's 09:00 visit that runs long with B waiting after it, and two patients at home for 10:00: D by
    # WhatsApp (Spanish), C by SMS
    requests = Requests(day.aws)
    connect(day)
    a, b = book(day, "A", "09:00"), book(day, "B", "09:30")
    book(day, "D", "10:00", **WHATSAPP_FIRST)
    book(day, "C", "10:00")
    day.go_to("08:55")
    day.move(a, "check-in")
    day.go_to("09:00")
    day.move(a, "start")
    day.go_to("09:25")
    day.move(b, "check-in")

    # WHEN A's visit is still going at 09:55 (the watch fires every 5 minutes)
    day.go_to("09:55")

    # THEN D heard it by WhatsApp, as the clinic's Spanish template with the provider, the lag and D's time
    late = [t for t in requests.templates() if t[0] == "carecue_running_late"]
    assert late, "no running-late template was sent"
    minutes = late[0][2][2]
    assert late[0] == ("carecue_running_late", "es", [CLINIC, "Dr. Rivera", minutes, "10:00"])
    d_texts = waiting_texts(day, "D")
    assert d_texts[0] == (
        "whatsapp",
        f"{CLINIC}: Dr. Rivera lleva unos {minutes} min de retraso. Su cita sigue a las 10:00.",
    )
    assert {channel for channel, _ in d_texts} == {"whatsapp"}
    # AND C, who has no WhatsApp, got the same news by SMS, as many texts
    c_texts = waiting_texts(day, "C")
    assert [channel for channel, _ in c_texts] == ["sms"] * len(d_texts)
    assert c_texts[0][1].startswith(f"{CLINIC}: Dr. Rivera is running about {minutes} min late today.")
    assert usage(day)["whatsapp"] == len(d_texts)


def checked_in_where_whatsapp_refuses(day: Day) -> str:
    """A, a WhatsApp-first patient whose window CareCue holds open though Meta does not (CareCue recorded an
    inbound message at 08:40 that Meta never counted), so WhatsApp refuses a free-form text to them; the front
    desk checks A in at 08:50. A's id."""
    from chalicelib.patients.whatsapp import record_inbound

    connect(day)
    a = book(day, "A", "09:00", **WHATSAPP_FIRST)
    day.go_to("08:40")
    record_inbound(day.clinic.clinic_id, PHONES["A"], day.clock.now())
    day.go_to("08:50")
    day.move(a, "check-in")
    return a


def test_a_text_whatsapp_refuses_goes_by_sms(day: Day) -> None:
    # GIVEN a WhatsApp-first patient WhatsApp refuses a free-form text to, WHEN the front desk checks them in
    checked_in_where_whatsapp_refuses(day)

    # THEN the wait text WhatsApp refused goes by SMS, once; only the SMS is counted
    assert waiting_texts(day, "A") == [("sms", f"{CLINIC}: you are checked in. Your wait is about 10 min.")]
    assert usage(day)["whatsapp"] == 0


def test_a_patient_who_texted_stop_gets_no_waiting_room_text(day: Day) -> None:
    # GIVEN two SMS patients at 09:00 and two at home for 10:00; B and C sent STOP; A's visit runs long
    a, b = book(day, "A", "09:00"), book(day, "B", "09:00")
    book(day, "C", "10:00")
    book(day, "D", "10:00")
    for who, message_id in (("B", "in-stop-b"), ("C", "in-stop-c")):
        event = sns_event(PHONES[who], None, "STOP", message_id, day.clock.now())
        day.api.lambda_.invoke("inbound_sms", event)

    # WHEN the front desk checks A and B in, and A's visit is still going at 09:50
    day.go_to("08:50")
    day.move(a, "check-in")
    day.move(b, "check-in")
    day.go_to("09:00")
    day.move(a, "start")
    day.go_to("09:50")

    # THEN A got the wait text and D the running-late text; B and C (STOP) got no wait-time, no running-late text
    assert waiting_texts(day, "A") == [("sms", f"{CLINIC}: you are checked in. Your wait is about 10 min.")]
    assert {channel for channel, text in waiting_texts(day, "D") if "is running about" in text} == {"sms"}
    assert waiting_texts(day, "B") == []
    assert waiting_texts(day, "C") == []
    # AND the queue still has B in the waiting room: the check-in stood, only the text was not sent
    rows = [r for p in day.queue().json_body["providers"] for r in p["appointments"]]
    assert {r["id"]: r["status"] for r in rows}[b] == "arrived"


def test_a_patient_linked_on_messenger_gets_the_front_desks_wait_text_from_the_page(
    day: Day, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.patients.messenger import link
    from tests.messenger_support import PSID, connect_messenger

    # GIVEN a patient who prefers Messenger and linked the clinic's Page two days ago (the window has closed)
    wait_en = {
        "en": {
            "name": "carecue_wait_time",
            "body": "{{1}}: you are checked in. Wait: about {{2}} min.",
            "parameters": ["clinic", "minutes"],
            "language_code": "en_US",
        }
    }
    connect_messenger(day.api, day.clinic, monkeypatch, capsys, templates={"wait-time": wait_en})
    a = book(day, "A", "09:00", preferred_channel="messenger")
    patient_id = day.api.http.get(f"/v1/appointments/{a}", headers=day.clinic.headers).json_body["patient"]["id"]
    link(day.clinic.clinic_id, patient_id, PSID, "messenger_referral", at("08:00") - timedelta(days=2))

    # WHEN the front desk checks the patient in
    day.go_to("08:50")
    day.move(a, "check-in")

    # THEN the wait text comes from the Page as its utility template, filled in; nothing by SMS
    (request,) = [r for r in day.aws.services.messenger_api.requests if r["messaging_type"] == "UTILITY"]
    payload = request["message"]["attachment"]["payload"]
    assert payload["template_name"] == "carecue_wait_time"
    assert [(m["channel"], m["body"]) for m in day.aws.sent() if m["to"] == PSID] == [
        ("messenger", f"{CLINIC}: you are checked in. Wait: about 10 min.")
    ]
    assert waiting_texts(day, "A") == []
    assert usage(day)["messenger"] == 1
