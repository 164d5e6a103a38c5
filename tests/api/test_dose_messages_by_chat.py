"""Dose messages on the patient's channel: a regimen's dose reminder, its snoozed re-reminder, its follow-up and
the refill reminder walk the patient's channel order as appointment messages do. Outside the 24-hour window a
WhatsApp-first patient gets the clinic's approved template for the kind (`dose`, `follow-up`) in their language,
filled in; inside it CareCue's own words; SMS when there is no template (the refill reminder has no template kind:
by WhatsApp only inside the window); a number not on WhatsApp gets the dose once by SMS. The replies on WhatsApp
(1, POSPONER) answer the dose there, and every message is counted on its channel in GET /v1/usage. A patient
linked on Messenger who prefers it gets the doses from the clinic's Page the same way.

The caregiver's alert goes to the caregiver's own number: by WhatsApp only when that number opted in (it wrote to
the clinic's WhatsApp number), in the clinic's channel order (the patient's preference is the patient's), never by
the patient's Messenger, and once by SMS when WhatsApp reports it failed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.api.test_regimens import CAREGIVER, PHONE, Week, ny, twice_daily
from tests.conftest import ClinicKeys, World
from tests.whatsapp_support import SENDER, connect_whatsapp, deliver_events

CLINIC = "Riverside Family Clinic"
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
    """Every SendWhatsAppMessage request as AWS End User Messaging Social receives it (the Meta message JSON).
    Made before the first WhatsApp send: a boto3 client copies its session's event hooks when it is made."""

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
    statuses = week.timers.whatsapp_events  # WhatsApp reported it failed (131026), delivered after the firing
    deliver_events(week.aws, statuses)  # and SNS delivers that status again

    assert received(week) == [
        ("08:00", "whatsapp", f"{CLINIC}: es hora de su medicamento de las 8:00 del sáb 13 mar. Tomado: {{link}}"),
        (
            "08:00",  # the failed status came right after the firing, as the local stack hands it over
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


CAREGIVER_TEMPLATE: dict[str, Any] = {
    "es": {
        "name": "carecue_caregiver",
        "body": "{{1}}: {{2}} no ha confirmado la dosis de las {{3}}.",
        "parameters": ["clinic", "name", "time"],
    }
}
CAREGIVER_SMS_ES = f"{CLINIC}: Pat no ha confirmado la dosis de las 8:00 del sab 13 de mar."


def caregiver_case(week: Week, order: list[str]) -> dict[str, Any]:
    """A Spanish-speaking patient who prefers WhatsApp, with a caregiver; the clinic's channel order `order`."""
    templates = {**TEMPLATES, "caregiver": CAREGIVER_TEMPLATE}
    body = json.dumps({"channel_order": order, "whatsapp": {"templates": templates}})
    assert week.api.http.put("/v1/clinic", headers=week.clinic.headers, body=body).status_code == 200
    patient = {"name": "Pat Example", "phone": PHONE, "language": "es"}
    patient |= {"whatsapp_opt_in": True, "preferred_channel": "whatsapp"}
    created = week.post("/v1/regimens", twice_daily(patient=patient))
    assert created.status_code == 201, created.json_body
    return dict(created.json_body)


def to_caregiver(week: Week) -> list[tuple[str, str, str]]:
    return [(ny_time(m["sent_at"]), m["channel"], m["body"]) for m in week.aws.sent() if m["to"] == CAREGIVER]


def test_a_caregiver_whose_number_wrote_to_the_clinic_on_whatsapp_gets_the_alert_there(week: Week) -> None:
    # GIVEN a clinic whose order puts WhatsApp first, and a caregiver who writes to its WhatsApp number on Friday
    # at noon (that opts the caregiver's own number in, and opens its 24-hour window until Saturday noon)
    requests = Requests(week.aws)
    week.aws.whatsapp.inbound(SENDER, CAREGIVER, "hola")
    deliver_events(week.aws)
    caregiver_case(week, ["whatsapp", "sms", "messenger", "email"])

    # WHEN no dose is taken until Sunday morning
    week.go_to(ny("2027-03-14T09:10"))

    # THEN each alert went to the caregiver's number by WhatsApp: inside the window in CareCue's Spanish words,
    # after it as the clinic's Spanish template naming the patient's first name and the dose time
    alerts = [(channel, text) for at, channel, text in to_caregiver(week) if "confirmado" in text]
    assert alerts == [
        ("whatsapp", f"{CLINIC}: Pat no ha confirmado la dosis de las 8:00 del sáb 13 de mar."),
        ("whatsapp", f"{CLINIC}: Pat no ha confirmado la dosis de las 20:00."),
        ("whatsapp", f"{CLINIC}: Pat no ha confirmado la dosis de las 8:00."),
    ]
    assert [t for t in requests.templates() if t[0] == "carecue_caregiver"] == [
        ("carecue_caregiver", "es", [CLINIC, "Pat", "20:00"]),
        ("carecue_caregiver", "es", [CLINIC, "Pat", "8:00"]),
    ]


def test_a_caregiver_without_a_whatsapp_opt_in_of_their_own_gets_the_alert_by_sms(week: Week) -> None:
    # GIVEN the patient's own WhatsApp opt-in and preference, WhatsApp first in the clinic's order
    caregiver_case(week, ["whatsapp", "sms", "messenger", "email"])

    week.go_to(ny("2027-03-13T09:10"))

    # THEN the patient's opt-in does not reach the caregiver's number: the alert goes by SMS
    assert to_caregiver(week) == [("09:00", "sms", CAREGIVER_SMS_ES)]
    assert [channel for _, channel, _ in received(week)] == ["whatsapp", "whatsapp"]  # the dose and the follow-up


def test_the_patients_preferred_channel_does_not_order_the_caregivers_alert(week: Week) -> None:
    # GIVEN a caregiver opted in on WhatsApp, and the clinic's default order (SMS first); the patient prefers WhatsApp
    week.aws.whatsapp.inbound(SENDER, CAREGIVER, "hola")
    deliver_events(week.aws)
    caregiver_case(week, ["sms", "whatsapp", "messenger", "email"])

    week.go_to(ny("2027-03-13T09:10"))

    # THEN the patient's messages go by WhatsApp, the caregiver's alert by SMS, the clinic's first channel
    assert [channel for _, channel, _ in received(week)] == ["whatsapp", "whatsapp"]
    assert [m for m in to_caregiver(week) if "confirmado" in m[2]] == [("09:00", "sms", CAREGIVER_SMS_ES)]


def test_a_caregiver_is_never_sent_the_patients_messenger(
    week: Week, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.patients.messenger import link
    from tests.messenger_support import PSID, connect_messenger

    # GIVEN a clinic with Messenger first in its order, and the patient linked to its Page
    connect_messenger(week.api, week.clinic, monkeypatch, capsys, templates={})
    regimen = caregiver_case(week, ["messenger", "sms", "whatsapp", "email"])
    link(week.clinic.clinic_id, regimen["patient_id"], PSID, "messenger_referral", week.clock.now())

    week.go_to(ny("2027-03-13T09:10"))

    # THEN the caregiver's alert goes to the caregiver's phone by SMS, nothing of it to the patient's PSID
    assert to_caregiver(week) == [("09:00", "sms", CAREGIVER_SMS_ES)]
    assert [r for r in week.aws.services.messenger_api.requests if "no ha confirmado" in json.dumps(r)] == []


def test_a_caregivers_alert_whatsapp_reports_failed_goes_once_by_sms(week: Week) -> None:
    week.aws.whatsapp.inbound(SENDER, CAREGIVER, "hola")
    deliver_events(week.aws)
    week.aws.whatsapp.not_on_whatsapp(CAREGIVER)  # since then, the number has left WhatsApp
    caregiver_case(week, ["whatsapp", "sms", "messenger", "email"])

    week.go_to(ny("2027-03-13T09:01"))
    statuses = week.timers.whatsapp_events  # the alert's failed status (131026), among the patient's receipts
    deliver_events(week.aws, statuses)  # delivered again: nothing more

    assert [m for m in to_caregiver(week) if "confirmado" in m[2]] == [
        ("09:00", "whatsapp", f"{CLINIC}: Pat no ha confirmado la dosis de las 8:00 del sáb 13 de mar."),
        ("09:00", "sms", CAREGIVER_SMS_ES),  # the failed status came right after the firing
    ]


def test_a_patient_linked_on_messenger_who_prefers_it_gets_the_dose_there_free_form_then_as_the_utility_template(
    week: Week, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.patients.messenger import link
    from tests.messenger_support import PAGE_ID, PSID, connect_messenger

    # GIVEN an English-speaking patient who prefers Messenger and links it on Friday at noon (the link opens the
    # 24-hour window until Saturday noon), and the Page's utility template for doses
    dose_en = {
        "en": {
            "name": "carecue_dose",
            "body": "{{1}}: time for your {{2}} medicine. Taken: {{3}}",
            "parameters": ["clinic", "time", "link"],
            "language_code": "en_US",
        }
    }
    connect_messenger(week.api, week.clinic, monkeypatch, capsys, templates={"dose": dose_en})
    patient = {"name": "Pat Example", "phone": PHONE, "preferred_channel": "messenger"}
    created = week.post("/v1/regimens", twice_daily(patient=patient, caregiver=None))
    assert created.status_code == 201, created.json_body
    link(week.clinic.clinic_id, created.json_body["patient_id"], PSID, "messenger_referral", week.clock.now())

    # WHEN Saturday's 08:00 and 20:00 doses fall due, neither answered
    week.go_to(ny("2027-03-13T20:05"))

    # THEN everything went by Messenger from the clinic's Page: inside the window CareCue's words, after it the
    # Page's utility template, filled in
    requests = week.aws.services.messenger_api.requests
    assert [(r["page_id"], r["messaging_type"]) for r in requests] == [
        (PAGE_ID, "RESPONSE"),  # the 08:00 dose
        (PAGE_ID, "RESPONSE"),  # its 08:30 follow-up
        (PAGE_ID, "UTILITY"),  # the 20:00 dose
    ]
    payload = requests[2]["message"]["attachment"]["payload"]
    assert (payload["template_name"], payload["language"]) == ("carecue_dose", "en_US")
    assert [with_link(p["text"]) for c in payload["components"] for p in c["parameters"]] == [
        CLINIC,
        "8:00 PM",
        "{link}",
    ]
    sent = [(ny_time(m["sent_at"]), m["channel"], with_link(m["body"])) for m in week.aws.sent() if m["to"] == PSID]
    assert sent[2] == ("20:00", "messenger", f"{CLINIC}: time for your 8:00 PM medicine. Taken: {{link}}")
    assert [m for m in week.aws.sent() if m["to"] == PHONE] == []
    assert sent[0] == (
        "08:00",
        "messenger",
        f"{CLINIC}: time for your 8:00 AM medicine. Reply 1 when taken or tap {{link}}. "
        "Reply SNOOZE to be reminded in 15 min.",
    )
    assert usage(week) == {"sms": 0, "email": 0, "whatsapp": 0, "messenger": 3}
