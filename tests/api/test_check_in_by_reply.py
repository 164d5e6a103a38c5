"""'I'm here' by SMS: a patient replies HERE (AQUÍ, وصلت) on the day of the appointment and is checked in as the
front desk would check them in, with the same wait-time text afterwards; before the clinic's check-in window
opens they are told when it does. The clock is frozen at Monday 30 November 2026, 09:00 in New York."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.api.test_clinic_policy_and_replies import text_in
from tests.conftest import ClinicKeys, World

PHONE = "+14155550181"


def book(api: Client, clinic: ClinicKeys, start: str, **patient: Any) -> dict[str, Any]:
    body = {"patient": {"name": "Pat Example", "phone": PHONE, **patient}, "start": start, "provider": "Dr. Rivera"}
    answer = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert answer.status_code == 201, answer.json_body
    return dict(answer.json_body)


def queue(api: Client, clinic: ClinicKeys) -> list[dict[str, Any]]:
    body = api.http.get("/v1/queue", headers=clinic.headers).json_body
    return [a for provider in body["providers"] for a in provider["appointments"]]


def texts_after(aws: World, count: int) -> list[str]:
    return [m["body"] for m in aws.sent("sms")[count:]]


def test_here_before_the_window_says_when_it_opens_and_inside_it_checks_in_with_the_wait_text(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book(api, clinic, "2026-11-30T10:30:00-05:00")
    before = len(aws.sent("sms"))

    text_in(aws, "here", "msg-here-1", sender=PHONE)
    too_early = texts_after(aws, before)
    clock.set(datetime.fromisoformat("2026-11-30T09:45:00-05:00"))
    sent = len(aws.sent("sms"))
    text_in(aws, "Here.", "msg-here-2", sender=PHONE)
    text_in(aws, "Here.", "msg-here-2", sender=PHONE)  # SNS delivers it twice: one check-in, one text

    assert too_early == [
        "Riverside Family Clinic: check-in for your appointment on Mon 30 Nov at 10:30 AM opens at 9:30 AM. "
        "Reply HERE then."
    ]
    (shown,) = [a for a in queue(api, clinic) if a["id"] == booked["id"]]
    assert (shown["status"], shown["checked_in_by"]) == ("arrived", "sms")
    after = texts_after(aws, sent)
    assert len(after) == 1
    assert "wait" in after[0].lower()


def test_a_spanish_patient_replies_aqui_and_is_checked_in(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book(api, clinic, "2026-11-30T09:30:00-05:00", language="es")

    text_in(aws, "AQUÍ", "msg-aqui-1", sender=PHONE)

    (shown,) = [a for a in queue(api, clinic) if a["id"] == booked["id"]]
    assert (shown["status"], shown["checked_in_by"]) == ("arrived", "sms")


def test_here_with_no_appointment_today_says_so_and_checks_in_nothing(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    booked = book(api, clinic, "2026-12-02T10:00:00-05:00")
    before = len(aws.sent("sms"))

    text_in(aws, "HERE", "msg-here-3", sender=PHONE)

    assert texts_after(aws, before) == ["CareCue: there is no appointment today to check in for from this number."]
    shown = api.http.get(f"/v1/appointments/{booked['id']}", headers=clinic.headers).json_body
    assert shown["status"] == "booked"


def test_the_clinics_check_in_window_is_a_setting(api: Client, aws: World, clinic: ClinicKeys) -> None:
    put = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps({"check_in_window_minutes": 120}))
    bad = api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps({"check_in_window_minutes": -5}))
    booked = book(api, clinic, "2026-11-30T10:30:00-05:00")

    text_in(aws, "here", "msg-here-4", sender=PHONE)

    assert put.status_code == 200 and put.json_body["check_in_window_minutes"] == 120
    assert bad.status_code == 400
    assert bad.json_body["error"]["fields"][0]["field"] == "check_in_window_minutes"
    (shown,) = [a for a in queue(api, clinic) if a["id"] == booked["id"]]
    assert shown["status"] == "arrived"


def test_on_the_day_the_confirm_page_offers_im_here_and_it_checks_the_patient_in(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    import re

    from chalicelib.links.tokens import Purpose
    from tests.api.test_patient_links import path_of

    booked = book(api, clinic, "2026-11-30T10:30:00-05:00", language="es")
    confirm = path_of(aws, Purpose.CONFIRM, clinic, booked)
    early = api.http.get(confirm).body.decode()
    clock.set(datetime.fromisoformat("2026-11-30T09:40:00-05:00"))
    page = api.http.get(confirm).body.decode()
    action = re.search(r'action="https://carecue\.example(/p/[A-Za-z0-9_-]+)"', page)

    assert "Ya estoy aquí" not in early  # before the check-in window: confirm only
    assert action is not None and "Ya estoy aquí" in page
    done = api.http.post(action[1], headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"")
    again = api.http.post(action[1], headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"")
    assert done.status_code == again.status_code == 200
    assert "Su llegada queda registrada" in done.body.decode()
    (shown,) = [a for a in queue(api, clinic) if a["id"] == booked["id"]]
    assert (shown["status"], shown["checked_in_by"]) == ("arrived", "patient_link")
