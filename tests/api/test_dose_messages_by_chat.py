"""Dose messages on the patient's channel: a regimen's dose reminder, its snoozed re-reminder, its follow-up and
the refill reminder walk the patient's channel order as appointment messages do. Outside the 24-hour window a
WhatsApp-first patient gets the clinic's approved template for the kind (`dose`, `follow-up`, `refill`) in their
language, filled in; inside it CareCue's own words; SMS when there is no template; a number not on WhatsApp gets
the dose once by SMS. The replies on WhatsApp (1, POSPONER) answer the dose there, and every message is counted on
its channel in GET /v1/usage."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.api.test_regimens import PHONE, Week, ny, twice_daily
from tests.conftest import ClinicKeys, World
from tests.whatsapp_support import connect_whatsapp, deliver_events

CLINIC = "Riverside Family Clinic"
SENDER = "phone-number-id-0123456789abcdef0123456789abcdef"
TEMPLATES: dict[str, Any] = {
    "dose": {
        "es": {
            "name": "carecue_dose",
            "body": "{{1}}: es hora de su medicamento de las {{2}} del {{3}}. Tomado: {{4}}",
            "parameters": ["clinic", "time", "day", "link"],
        }
    },
    "follow-up": {
        "es": {
            "name": "carecue_dose_follow_up",
            "body": "{{1}}: ¿ya tomó su medicamento de las {{2}}? Tomado: {{3}}",
            "parameters": ["clinic", "time", "link"],
        }
    },
}
LINK = re.compile(r"https://carecue\.example/d/[A-Za-z0-9_-]{44}")


class Requests:
    """Every SendWhatsAppMessage request as AWS End User Messaging Social receives it (the Meta message JSON)."""

    def __init__(self, world: World) -> None:
        self.messages: list[dict[str, Any]] = []
        world.session.events.register(
            "before-parameter-build.socialmessaging.SendWhatsAppMessage",
            lambda params, **_: self.messages.append(json.loads(params["message"])),
        )

    def templates(self) -> list[tuple[str, str, list[str]]]:
        """(template name, Meta language code, body parameters) of each template message sent."""
        return [
            (
                m["template"]["name"],
                m["template"]["language"]["code"],
                [with_link(p["text"]) for c in m["template"]["components"] for p in c["parameters"]],
            )
            for m in self.messages
            if m["type"] == "template"
        ]


def with_link(text: str) -> str:
    return LINK.sub("{link}", text)


@pytest.fixture
def week(api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> Week:
    clock.set(ny("2027-03-12T12:00"))
    connect_whatsapp(api, clinic, SENDER, TEMPLATES)
    return Week(api, aws, clinic, clock)


def whatsapp_first(week: Week, language: str = "es", **extra: Any) -> None:
    patient = {
        "name": "Pat Example",
        "phone": PHONE,
        "language": language,
        "whatsapp_opt_in": True,
        "preferred_channel": "whatsapp",
    }
    created = week.post("/v1/regimens", twice_daily(patient=patient, caregiver=None, **extra))
    assert created.status_code == 201, created.json_body


def write_on_whatsapp(week: Week, body: str) -> None:
    """The patient writes to the clinic's WhatsApp number; the event reaches CareCue as AWS delivers it."""
    week.aws.whatsapp.inbound(SENDER, PHONE, body)
    deliver_events(week.aws)


def received(week: Week) -> list[tuple[str, str, str]]:
    """(New York time, channel, text) of every message to the patient."""
    return [
        (f"{ny_time(m['sent_at'])}", m["channel"], with_link(m["body"])) for m in week.aws.sent() if m["to"] == PHONE
    ]


def ny_time(sent_at: str) -> str:
    from datetime import datetime

    from tests.api.test_regimens import NEW_YORK

    return f"{datetime.fromisoformat(sent_at).astimezone(NEW_YORK):%H:%M}"


def usage(week: Week) -> dict[str, int]:
    return dict(week.get("/v1/usage").json_body["messages"])


def test_the_dose_goes_as_the_clinics_spanish_template_and_a_reply_of_1_on_whatsapp_marks_it_taken(
    week: Week,
) -> None:
    # GIVEN a Spanish-speaking patient who opted in to WhatsApp and prefers it, with doses at 08:00 and 20:00
    requests = Requests(week.aws)
    whatsapp_first(week)

    # WHEN the 08:00 dose falls due (no window open: the patient has not written), and the patient answers 1 there
    week.go_to(ny("2027-03-13T08:05"))
    write_on_whatsapp(week, "1")
    week.go_to(ny("2027-03-13T09:30"))

    # THEN the dose went as the clinic's template, filled in Spanish (CLDR's time and day), with the taken link
    assert requests.templates() == [("carecue_dose", "es", [CLINIC, "8:00", "sáb 13 mar", "{link}"])]
    # AND the patient read it on WhatsApp, got the answer there in Spanish, and nothing by SMS; no follow-up at
    # 08:30: the dose is taken
    assert received(week) == [
        ("08:00", "whatsapp", f"{CLINIC}: es hora de su medicamento de las 8:00 del sáb 13 mar. Tomado: {{link}}"),
        ("08:05", "whatsapp", f"{CLINIC}: gracias, su medicamento de las 8:00 queda marcado como tomado."),
    ]
    # AND usage counts both on WhatsApp (the dose a template, the answer free-form in the window)
    assert usage(week) == {"sms": 0, "email": 0, "whatsapp": 2, "messenger": 0}


def test_inside_the_window_the_snoozed_dose_and_the_follow_up_go_free_form_in_spanish(week: Week) -> None:
    # GIVEN the same patient, who answers the 08:00 dose with POSPONER on WhatsApp (the window opens)
    requests = Requests(week.aws)
    whatsapp_first(week)
    week.go_to(ny("2027-03-13T08:05"))
    write_on_whatsapp(week, "Posponer")

    # WHEN the snooze and the follow-up fall due, the dose still not taken
    week.go_to(ny("2027-03-13T08:45"))

    # THEN the re-reminder and the follow-up are CareCue's own Spanish words (accents kept: not an SMS), by
    # WhatsApp, with the reply keywords that work there; only the first dose was a template
    dose = (
        f"{CLINIC}: es hora de su medicamento de las 8:00. Responda 1 al tomarlo o toque {{link}}. "
        "Responda POSPONER y se lo recordaremos en 15 min."
    )
    assert received(week)[1:] == [
        ("08:05", "whatsapp", f"{CLINIC}: se lo recordaremos de nuevo a las 8:20."),
        ("08:20", "whatsapp", dose),
        (
            "08:30",
            "whatsapp",
            f"{CLINIC}: ¿ya ha tomado su medicamento de las 8:00? Responda 1 al tomarlo o toque {{link}}.",
        ),
    ]
    assert [name for name, _, _ in requests.templates()] == ["carecue_dose"]
    assert usage(week) == {"sms": 0, "email": 0, "whatsapp": 4, "messenger": 0}


def test_the_follow_up_outside_the_window_goes_as_its_own_template(week: Week) -> None:
    requests = Requests(week.aws)
    whatsapp_first(week)

    week.go_to(ny("2027-03-13T08:45"))  # the patient does not answer

    assert requests.templates() == [
        ("carecue_dose", "es", [CLINIC, "8:00", "sáb 13 mar", "{link}"]),
        ("carecue_dose_follow_up", "es", [CLINIC, "8:00", "{link}"]),
    ]
    assert [(at, channel) for at, channel, _ in received(week)] == [("08:00", "whatsapp"), ("08:30", "whatsapp")]


def test_without_a_template_in_the_patients_language_the_dose_goes_by_sms(week: Week) -> None:
    whatsapp_first(week, language="en")

    week.go_to(ny("2027-03-13T08:05"))

    assert received(week) == [
        (
            "08:00",
            "sms",
            f"{CLINIC}: time for your 8:00 AM medicine. Reply 1 when taken or tap {{link}}. "
            "Reply SNOOZE to be reminded in 15 min.",
        )
    ]
    assert usage(week)["whatsapp"] == 0


def test_a_number_not_on_whatsapp_gets_the_dose_once_by_sms_in_spanish(week: Week) -> None:
    week.aws.whatsapp.not_on_whatsapp(PHONE)
    whatsapp_first(week)

    week.go_to(ny("2027-03-13T08:01"))
    statuses = deliver_events(week.aws)  # WhatsApp reports it failed (131026, not on WhatsApp)
    deliver_events(week.aws, statuses)  # and SNS delivers that status again

    assert received(week) == [
        ("08:00", "whatsapp", f"{CLINIC}: es hora de su medicamento de las 8:00 del sáb 13 mar. Tomado: {{link}}"),
        (
            "08:01",
            "sms",
            f"{CLINIC}: es hora de su medicamento de las 8:00. Responda 1 al tomarlo o toque {{link}}. "
            "Responda POSPONER y se lo recordaremos en 15 min.",
        ),
    ]
    assert usage(week) == {"sms": 1, "email": 0, "whatsapp": 1, "messenger": 0}


REFILL_ES = f"{CLINIC}: su medicamento se acaba en unos 3 días. Por favor, pida más."


def test_the_refill_reminder_has_no_template_kind_it_goes_by_sms_outside_the_window(week: Week) -> None:
    whatsapp_first(week, supply=5)  # 5 doses on hand: a refill is due within the clinic's 3 days

    week.go_to(ny("2027-03-13T08:05"))

    assert [(at, channel, text) for at, channel, text in received(week) if "pida" in text] == [
        ("08:00", "sms", REFILL_ES.replace("í", "i").replace("á", "a"))  # as sent by SMS: GSM-7
    ]
    assert [channel for _, channel, _ in received(week)] == ["whatsapp", "sms"]


def test_inside_the_window_the_refill_reminder_goes_by_whatsapp_too(week: Week) -> None:
    whatsapp_first(week, supply=5)
    week.go_to(ny("2027-03-13T07:50"))
    write_on_whatsapp(week, "hola")  # the window opens (the clinic's inbox gets the message)

    week.go_to(ny("2027-03-13T08:05"))

    assert [(at, channel, text) for at, channel, text in received(week) if at == "08:00"][1:] == [
        ("08:00", "whatsapp", REFILL_ES)
    ]
