"""Medication messages as the patient and the caregiver receive them, through the REST API, the Scheduler
emulator firing the timers the app armed and the inbound-SMS handler: in Spanish and Arabic with the local dose
time, the replies answered in the patient's language, and every kind of dose email (subject and text)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.api.test_regimens import CAREGIVER, PHONE, Week, ny, twice_daily
from tests.conftest import ClinicKeys, World

CLINIC = "Riverside Family Clinic"
EMAIL = "pat@example.org"
CAREGIVER_EMAIL = "carer@example.org"


@pytest.fixture
def week(api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> Week:
    clock.set(ny("2027-03-12T12:00"))
    return Week(api, aws, clinic, clock)


def with_link(text: str) -> str:
    """The text with its signed taken link (different in every run) written as {link}; the link opens a page."""
    return re.sub(r"https://carecue\.example/d/[A-Za-z0-9_-]{44}", "{link}", text)


def regimen_for(week: Week, patient: dict[str, Any], **extra: Any) -> None:
    created = week.post("/v1/regimens", twice_daily(patient={"name": "Pat Example", **patient}, **extra))
    assert created.status_code == 201, created.json_body


def test_a_spanish_speaking_patient_gets_the_dose_and_the_answers_in_spanish(week: Week) -> None:
    # GIVEN a patient who reads Spanish, with twice-daily doses at 08:00 and 20:00 New York time
    regimen_for(week, {"phone": PHONE, "language": "es-US"}, caregiver=None)

    # WHEN the 08:00 dose is texted, the patient replies POSPONER, then 1 once reminded again, then PARAR
    week.go_to(ny("2027-03-13T08:05"))
    week.text_in("Posponer", "in-es-1")
    week.go_to(ny("2027-03-13T08:21"))
    week.text_in("1", "in-es-2")
    week.go_to(ny("2027-03-13T08:40"))
    week.text_in("PARAR", "in-es-3")
    week.go_to(ny("2027-03-13T20:05"))

    # THEN every text is in Spanish with the local time (accents folded to GSM-7, as sent); no follow-up for the
    # dose taken, and nothing after PARAR: the 20:00 dose is not sent to a number that opted out
    dose = (
        f"{CLINIC}: es hora de su medicamento de las 8:00. Responda 1 al tomarlo o toque {{link}}. "
        "Responda POSPONER y se lo recordaremos en 15 min."
    )
    assert [(at, with_link(text)) for at, text in week.texts(PHONE)] == [
        ("Sat 13 08:00", dose),
        ("Sat 13 08:05", f"{CLINIC}: se lo recordaremos de nuevo a las 8:20."),
        ("Sat 13 08:20", dose),
        ("Sat 13 08:21", f"{CLINIC}: gracias, su medicamento de las 8:00 queda marcado como tomado."),
        ("Sat 13 08:40", f"{CLINIC}: no recibira mas mensajes. Responda START para volver a recibirlos."),
    ]


def test_an_arabic_speaking_patient_and_the_caregiver_get_arabic_and_stop_is_answered_in_arabic(week: Week) -> None:
    # GIVEN a patient who reads Arabic, with a caregiver who hears of a missed dose
    regimen_for(week, {"phone": PHONE, "language": "ar"})

    # WHEN the 08:00 dose goes unanswered until after the caregiver's alert, and the patient then sends STOP
    week.go_to(ny("2027-03-13T09:10"))
    week.text_in("STOP", "in-ar-1")

    # THEN the dose, the follow-up and the STOP answer are in Arabic, with 8:00 ص (AM) written by CLDR
    assert [(at, with_link(text)) for at, text in week.texts(PHONE)] == [
        (
            "Sat 13 08:00",
            f"{CLINIC}: حان موعد دوائك الساعة 8:00 ص. أرسل 1 عند تناوله أو افتح {{link}}. "
            "أرسل تأجيل للتذكير بعد 15 دقيقة.",
        ),
        ("Sat 13 08:30", f"{CLINIC}: هل تناولت دوائك الساعة 8:00 ص؟ أرسل 1 عند تناوله أو افتح {{link}}."),
        ("Sat 13 09:10", f"{CLINIC}: لن تصلك رسائل أخرى. أرسل START لاستئنافها."),
    ]
    # AND the caregiver's alert is in the patient's language (a regimen records none for the caregiver)
    assert week.texts(CAREGIVER) == [("Sat 13 09:00", f"{CLINIC}: لم يؤكد Pat جرعة 8:00 ص، السبت 13 مارس.")]


def emails(week: Week, to: str) -> list[tuple[str, str | None, str]]:
    return [
        (f"{m['sent_at'][11:16]}Z", m["subject"], with_link(m["body"])) for m in week.aws.sent("email") if m["to"] == to
    ]


def test_every_kind_of_dose_email_as_the_patient_and_the_caregiver_read_it(week: Week) -> None:
    # GIVEN a patient and a caregiver with email only, and 5 doses on hand (a refill is due within 3 days)
    regimen_for(week, {"email": EMAIL}, caregiver={"first_name": "Pat", "email": CAREGIVER_EMAIL}, supply=5)

    # WHEN the 08:00 dose is not taken
    week.go_to(ny("2027-03-13T09:10"))

    # THEN the patient got the dose, the refill reminder and the follow-up, the caregiver the alert, each with
    # the New York time (13:00Z is 08:00 EST); the emails offer the taken link, not the SMS replies
    assert emails(week, EMAIL) == [
        (
            "13:00Z",
            "Medication reminder",
            f"{CLINIC}: time for your 8:00 AM medicine.\n\nWhen you have taken it, mark it here: {{link}}",
        ),
        ("13:00Z", "Refill reminder", f"{CLINIC}: your medicine runs out in about 3 days. Please ask for a refill."),
        (
            "13:30Z",
            "Medication reminder",
            f"{CLINIC}: have you taken your 8:00 AM medicine?\n\nWhen you have taken it, mark it here: {{link}}",
        ),
    ]
    assert emails(week, CAREGIVER_EMAIL) == [
        ("14:00Z", "Dose not confirmed", f"{CLINIC}: Pat has not confirmed the 8:00 AM dose on Sat 13 Mar.")
    ]
    # AND the link in the email opens the dose's page
    link = re.search(r"https://carecue\.example(/d/[A-Za-z0-9_-]{44})", week.aws.sent("email")[0]["body"])
    assert link is not None and "8:00 AM medicine" in week.api.http.get(link[1]).body.decode()


def test_dose_emails_in_spanish(week: Week) -> None:
    regimen_for(
        week, {"email": EMAIL, "language": "es"}, caregiver={"first_name": "Pat", "email": CAREGIVER_EMAIL}, supply=5
    )

    week.go_to(ny("2027-03-13T09:10"))

    assert emails(week, EMAIL) == [
        (
            "13:00Z",
            "Recordatorio de medicamento",
            f"{CLINIC}: es hora de su medicamento de las 8:00.\n\nCuando lo haya tomado, márquelo aquí: {{link}}",
        ),
        ("13:00Z", "Pida más medicamento", f"{CLINIC}: su medicamento se acaba en unos 3 días. Por favor, pida más."),
        (
            "13:30Z",
            "Recordatorio de medicamento",
            f"{CLINIC}: ¿ya ha tomado su medicamento de las 8:00?\n\nCuando lo haya tomado, márquelo aquí: {{link}}",
        ),
    ]
    assert emails(week, CAREGIVER_EMAIL) == [
        ("14:00Z", "Dosis no confirmada", f"{CLINIC}: Pat no ha confirmado la dosis de las 8:00 del sáb 13 de mar.")
    ]
