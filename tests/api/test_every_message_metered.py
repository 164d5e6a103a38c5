"""Every message CareCue sends is metered, through one path, on every channel: a clinic's day with every kind
of message (appointment, dose, caregiver and refill texts, SMS answers, the inbox's automatic answer and the
staff's answer, waiting-room and running-late texts)
leaves `GET /v1/usage` equal to the outbox, message for message and segment for segment; at the spend cap only
the answers the carriers require (STOP and HELP) still go, and they are counted."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib.admin.cli import main as admin
from chalicelib.render.segments import sms_segments
from infra.local.clock import SimulatedClock
from infra.local.stack import sns_event
from tests.conftest import ClinicKeys, World
from tests.timer_support import Timers

NEW_YORK = ZoneInfo("America/New_York")
US_SMS = 0.00831  # the test stage's price of one US SMS segment
EMAIL = 0.0001
PHONES = {
    "R": "+14155550120",  # booked for tomorrow: confirmation, reminders, and the replies
    "S": "+14155550121",  # texts STOP, then START
    "M": "+14155550122",  # on a twice-daily regimen with 5 doses on hand
    "G": "+14155550123",  # M's caregiver
    "A": "+14155550131",  # Dr. Rivera's morning
    "B": "+14155550132",
    "C": "+14155550133",
    "D": "+14155550134",
}


def at(hhmm: str) -> datetime:
    """Tuesday 1 Dec 2026 at a New York wall-clock time."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(2026, 12, 1, hour, minute, tzinfo=NEW_YORK)


class Day:
    def __init__(self, api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
        self.api, self.aws, self.clinic, self.clock = api, aws, clinic, clock
        self.timers = Timers(aws, clock)
        self._inbound = 0

    def book(self, who: str, start: datetime, **patient: Any) -> str:
        body = {
            "patient": {"name": f"Pat Example{who}", "phone": PHONES[who], **patient},
            "start": start.isoformat(),
            "provider": "Dr. Rivera",
        }
        response = self.api.http.post("/v1/appointments", headers=self.clinic.headers, body=json.dumps(body))
        assert response.status_code == 201, response.json_body
        return str(response.json_body["id"])

    def move(self, appointment_id: str, move: str) -> None:
        response = self.api.http.post(f"/v1/appointments/{appointment_id}/{move}", headers=self.clinic.headers)
        assert response.status_code == 200, response.json_body

    def go_to(self, hhmm: str) -> None:
        self.timers.go_to(at(hhmm))

    def text_in(self, who: str, body: str) -> None:
        self._inbound += 1
        event = sns_event(PHONES[who], None, body, f"in-{self._inbound}", self.clock.now())
        self.api.lambda_.invoke("inbound_sms", event)

    def answer(self, text: str) -> Any:
        """The staff answer the latest thread in the inbox."""
        listed = self.api.http.get("/v1/conversations", headers=self.clinic.headers).json_body["conversations"]
        path = f"/v1/conversations/{listed[0]['patient_id']}/messages"
        return self.api.http.post(path, headers=self.clinic.headers, body=json.dumps({"text": text}))

    def texts(self, who: str) -> list[str]:
        return [m["body"] for m in self.aws.sent("sms") if m["to"] == PHONES[who]]

    def usage(self) -> Any:
        response = self.api.http.get("/v1/usage?month=2026-12", headers=self.clinic.headers)
        assert response.status_code == 200, response.json_body
        return response.json_body


@pytest.fixture
def day(api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> Day:
    clock.set(at("07:00"))
    return Day(api, aws, clinic, clock)


def assert_usage_is_the_outbox(day: Day) -> None:
    sms, emails = day.aws.sent("sms"), day.aws.sent("email")
    segments = sum(sms_segments(m["body"]) for m in sms)
    usage = day.usage()
    assert usage["messages"] == {"sms": len(sms), "email": len(emails), "whatsapp": 0, "messenger": 0}
    assert usage["sms_segments"] == segments
    assert usage["emails"] == len(emails)
    assert usage["estimated_cost_usd"] == pytest.approx(segments * US_SMS + len(emails) * EMAIL)


def test_a_day_with_every_kind_of_message_is_metered_message_for_message(day: Day) -> None:
    # GIVEN a patient booked for tomorrow (confirmation by SMS and email, the 24-hour reminders at 10:00 today),
    # a patient who will text STOP, a twice-daily regimen with a caregiver and a small supply, and Dr. Rivera's
    # morning of four patients; the clinic asks for "both" (SMS and email) for its notices and reminders
    both = {
        "notice_channel": "both",
        "reminders": [{"before": "P1D", "channel": "both"}, {"before": "PT2H", "channel": "both"}],
    }
    assert day.api.http.put("/v1/clinic", headers=day.clinic.headers, body=json.dumps(both)).status_code == 200
    day.book("R", at("10:00").replace(day=2), email="pat@example.org")
    day.book("S", at("10:00").replace(day=3))
    regimen = {
        "patient": {"name": "Pat ExampleM", "phone": PHONES["M"]},
        "medication": "Examplamab 10 mg",
        "dose": "1 tablet",
        "timing": {
            "repeat": {
                "frequency": 2,
                "period": 1,
                "periodUnit": "d",
                "timeOfDay": ["08:00:00", "20:00:00"],
                "boundsPeriod": {"start": "2026-12-01T00:00:00-05:00", "end": "2026-12-04T23:59:00-05:00"},
            }
        },
        "caregiver": {"first_name": "Pat", "phone": PHONES["G"]},
        "supply": 5,
    }
    created = day.api.http.post("/v1/regimens", headers=day.clinic.headers, body=json.dumps(regimen))
    assert created.status_code == 201, created.json_body
    a, b, c, _ = (day.book(w, at(t)) for w, t in zip("ABCD", ("09:30", "10:00", "10:30", "11:00"), strict=True))

    # WHEN R confirms, asks for help and asks something else; S stops and starts again
    day.go_to("07:30")
    day.text_in("R", "C")
    day.text_in("R", "HELP")
    day.text_in("R", "Can I come at 3?")
    assert day.answer("Yes, 3 PM works. See you then.").status_code == 201
    day.text_in("S", "STOP")
    day.text_in("S", "START")
    # AND M's 08:00 dose goes unanswered (follow-up 08:30, caregiver 09:00) while the morning runs late
    day.go_to("09:25")
    day.move(a, "check-in")
    day.go_to("09:30")
    day.move(a, "start")
    day.go_to("09:55")
    day.move(b, "check-in")
    day.go_to("10:25")
    day.move(c, "check-in")
    day.go_to("10:45")
    day.move(a, "finish")
    day.move(b, "start")
    day.go_to("11:00")
    day.move(b, "finish")
    day.move(c, "start")
    day.go_to("11:30")
    day.move(c, "finish")
    # AND M takes the 20:00 dose by replying 1
    day.go_to("20:05")
    day.text_in("M", "1")

    # THEN every kind of message went out
    assert any("is confirmed" in t for t in day.texts("R"))
    help_text = "Riverside Family Clinic appointment reminders. Please contact the clinic. Reply C to confirm, "
    assert [t for t in day.texts("R") if t.startswith(help_text)] == [help_text + "STOP to stop texts."]
    assert any("the clinic has your message" in t for t in day.texts("R"))  # the inbox's automatic answer
    assert "Yes, 3 PM works. See you then." in day.texts("R")  # the staff's answer
    assert any("reminder of your appointment" in t for t in day.texts("R"))
    assert [t for t in day.texts("S") if "no more texts" in t or "texts again" in t] == [
        "Riverside Family Clinic: you will get no more texts. Reply START to get them again.",
        "Riverside Family Clinic: you will get appointment texts again. Reply STOP to stop them.",
    ]
    m_texts = day.texts("M")
    assert any("time for your 8:00 AM medicine" in t for t in m_texts)
    assert any("Please ask for a refill." in t for t in m_texts)
    assert any("have you taken your 8:00 AM medicine?" in t for t in m_texts)
    assert any("8:00 PM medicine is marked as taken" in t for t in m_texts)
    assert day.texts("G") == ["Riverside Family Clinic: Pat has not confirmed the 8:00 AM dose on Tue 1 Dec."]
    assert "Riverside Family Clinic: you are checked in. Your wait is about 5 min." in day.texts("A")
    assert "Riverside Family Clinic: you are checked in. You're next." in day.texts("B")
    assert "Riverside Family Clinic: you're next. Please stay in the waiting room." in day.texts("C")
    assert len([t for t in day.texts("D") if "is running about" in t]) == 2
    assert len(day.aws.sent("email")) == 2  # R's confirmation and 24-hour reminder
    # AND the month's usage is the outbox, message for message and segment for segment
    assert_usage_is_the_outbox(day)


def test_at_its_spend_cap_a_clinic_still_answers_stop_and_help_and_counts_them_but_sends_no_wait_text(
    day: Day,
) -> None:
    day.clock.set(at("08:00"))
    assert (
        admin(["--stage", "test", "set-spend-cap", "--clinic", day.clinic.clinic_id, "--usd", "0.005"], clock=day.clock)
        == 0
    )
    a = day.book("A", at("09:30"))  # the confirmation takes the month over its cap
    assert day.usage()["spend_cap"]["reached"] is True

    day.text_in("A", "HELP")
    day.text_in("A", "Can I come at 3?")  # the inbox's automatic answer is courtesy: held back
    refused = day.answer("Yes")  # and so is the staff's answer, refused with a reason
    assert (refused.status_code, refused.json_body["error"]["code"]) == (409, "spend_cap_reached")
    day.go_to("09:25")
    day.move(a, "check-in")  # no wait text
    day.text_in("A", "STOP")

    texts = day.texts("A")
    assert len(texts) == 3
    assert "booked for" in texts[0]
    assert texts[1].startswith("Riverside Family Clinic appointment reminders.")
    assert texts[2] == "Riverside Family Clinic: you will get no more texts. Reply START to get them again."
    assert day.usage()["messages"]["sms"] == 3
    assert_usage_is_the_outbox(day)
