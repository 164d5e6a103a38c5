"""The pages behind a patient's links (`/p/{token}`, `/d/{token}`) in the patient's language, as a phone opens
them: the question and the button on GET, the answer on POST, the local day and time written by CLDR."""

from __future__ import annotations

import json
import re
from typing import Any

from chalice.test import Client

from app import app
from chalicelib.links.page_words import translations
from chalicelib.links.tokens import Purpose
from infra.local.clock import SimulatedClock
from tests.api.test_patient_links import path_of
from tests.api.test_regimens import PHONE, Week, ny, twice_daily
from tests.conftest import ClinicKeys, World

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def book(api: Client, clinic: ClinicKeys, language: str) -> dict[str, Any]:
    body = {
        "patient": {"name": "Pat Example", "phone": "+14155550103", "language": language},
        "start": "2026-12-02T10:00:00-05:00",
    }
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def paragraphs(page: bytes) -> list[str]:
    """The page's texts: paragraphs, buttons and links (the "update my details" link under the button)."""
    found = re.findall(r"<(?:p|button type=\"submit\"|a href=\"[^\"]*\")>([^<]*)(?=<)", page.decode())
    return [text for text in found if text]


def test_the_confirm_page_in_arabic_reads_right_to_left(api: Client, aws: World, clinic: ClinicKeys) -> None:
    booked = book(api, clinic, "ar")
    path = path_of(aws, Purpose.CONFIRM, clinic, booked)

    opened = api.http.get(path)
    pressed = api.http.post(path, headers=FORM, body="")

    assert '<html lang="ar" dir="rtl">' in opened.body.decode()
    assert paragraphs(opened.body) == ["هل تؤكد موعدك الأربعاء 2 ديسمبر، 10:00 ص؟", "تأكيد", "تحديث بياناتي"]
    assert (pressed.status_code, paragraphs(pressed.body)) == (
        200,
        ["شكرا. تم تأكيد موعدك الأربعاء 2 ديسمبر، 10:00 ص."],
    )
    shown = api.http.get(f"/v1/appointments/{booked['id']}", headers=clinic.headers).json_body
    assert shown["confirmed_via"] == "link"


def test_the_cancel_page_in_spanish(api: Client, aws: World, clinic: ClinicKeys) -> None:
    booked = book(api, clinic, "es-MX")
    path = path_of(aws, Purpose.CANCEL, clinic, booked)

    opened = api.http.get(path)
    pressed = api.http.post(path, headers=FORM, body="")

    assert '<html lang="es">' in opened.body.decode()
    assert paragraphs(opened.body) == [
        "¿Cancela su cita del mié 2 de dic, 10:00?",
        "Cancelar la cita",
        "Actualizar mis datos",
    ]
    assert paragraphs(pressed.body) == ["Su cita del mié 2 de dic, 10:00 queda cancelada."]


def test_the_taken_page_of_a_spanish_dose(aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
    clock.set(ny("2027-03-12T12:00"))
    with Client(app, stage_name="local") as api:
        week = Week(api, aws, clinic, clock)
        patient = {"name": "Pat Example", "phone": PHONE, "language": "es"}
        assert week.post("/v1/regimens", twice_daily(patient=patient, caregiver=None)).status_code == 201
        week.go_to(ny("2027-03-13T20:05"))
        link = re.search(r"https://carecue\.example(/d/[A-Za-z0-9_-]{44})", week.texts(PHONE)[-1][1])
        assert link is not None

        opened = api.http.get(link[1])
        pressed = api.http.post(link[1], headers=FORM, body="")

    assert paragraphs(opened.body) == ["Su medicamento de las 20:00: ¿ya lo tomó?", "Ya lo he tomado"]
    assert paragraphs(pressed.body) == ["Gracias. Su medicamento de las 20:00 queda marcado como tomado."]


def test_every_page_text_has_its_spanish_and_arabic_and_they_name_the_same_values() -> None:
    assert translations("es").keys() == translations("ar").keys()
    for language in ("es", "ar"):
        for english, translated in translations(language).items():
            named = set(re.findall(r"\{(\w+)\}", translated.replace("{the_hour}", "{at}")))
            assert named == set(re.findall(r"\{(\w+)\}", english)), (language, english)
