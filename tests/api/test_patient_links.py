"""Patient links as a patient's phone opens them: a page on GET that changes nothing, the action on its button."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from chalice.test import Client

from chalicelib.links.tokens import Purpose
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import fire_stored

PHONE = "+14155550102"


def book(api: Client, clinic: ClinicKeys) -> dict[str, Any]:
    body = {
        "patient": {"name": "Pat Example", "phone": PHONE, "email": "pat@example.org"},
        "start": "2026-12-02T10:00:00-05:00",
    }
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201
    return dict(response.json_body)


def path_of(world: World, purpose: Purpose, clinic: ClinicKeys, booked: dict[str, Any]) -> str:
    url = world.services.link_signer.url(
        purpose, clinic.clinic_id, booked["id"], datetime.fromisoformat(booked["start"])
    )
    assert url is not None
    return url.removeprefix("https://carecue.example")


def appointment(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, Any]:
    return dict(api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body)


def test_the_link_in_a_reminder_confirms_on_the_button_not_on_opening(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book(api, clinic)
    clock.set(datetime.fromisoformat("2026-12-01T15:00:05Z"))
    fire_stored(aws, f"{booked['id']}.reminder-24h.sms", "2026-12-01T15:00:00Z")
    link = re.search(r"https://carecue\.example(/p/[A-Za-z0-9_-]+)$", aws.sent("sms")[-1]["body"])
    assert link is not None

    opened = api.http.get(link[1])
    assert opened.status_code == 200
    page = opened.body.decode()
    assert "Confirm your appointment on Wed 2 Dec at 10:00 AM?" in page and '<form method="post">' in page
    assert appointment(api, clinic, booked["id"])["confirmed_at"] is None  # a link scanner changes nothing

    pressed = api.http.post(link[1], headers={"Content-Type": "application/x-www-form-urlencoded"}, body="")
    assert pressed.status_code == 200
    assert "is confirmed" in pressed.body.decode()
    shown = appointment(api, clinic, booked["id"])
    assert (shown["confirmed_at"], shown["confirmed_via"]) == ("2026-12-01T15:00:05Z", "link")


def test_a_tampered_or_expired_link_gets_a_clear_page_and_changes_nothing(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book(api, clinic)
    path = path_of(aws, Purpose.CANCEL, clinic, booked)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for response in (api.http.get(tampered), api.http.post(tampered, headers=form, body="")):
        assert response.status_code == 404
        assert "not valid or has expired. Nothing was changed." in response.body.decode()
    clock.set(datetime.fromisoformat("2026-12-02T15:00:00Z"))  # the appointment's start: the link has expired
    assert (
        api.http.post(path, headers={"Content-Type": "application/x-www-form-urlencoded"}, body="").status_code == 404
    )
    assert appointment(api, clinic, booked["id"])["status"] == "booked"


def test_the_cancel_link_cancels_and_the_api_shows_who_cancelled(api: Client, aws: World, clinic: ClinicKeys) -> None:
    booked = book(api, clinic)
    path = path_of(aws, Purpose.CANCEL, clinic, booked)

    assert "Cancel your appointment" in api.http.get(path).body.decode()
    pressed = api.http.post(path, headers={"Content-Type": "application/x-www-form-urlencoded"}, body="")

    assert "is cancelled" in pressed.body.decode()
    shown = appointment(api, clinic, booked["id"])
    assert (shown["status"], shown["cancelled_via"]) == ("cancelled", "link")
    assert aws.sent("sms")[-1]["body"].endswith("is cancelled.")


def test_a_clinic_that_does_not_allow_cancelling_online_says_to_call(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps({"patients_may_cancel": False}))
    booked = book(api, clinic)
    path = path_of(aws, Purpose.CANCEL, clinic, booked)

    api.http.post(path, headers={"Content-Type": "application/x-www-form-urlencoded"}, body="")

    assert "please call the clinic" in api.http.get(path).body.decode()
    assert appointment(api, clinic, booked["id"])["status"] == "booked"


def test_reschedule_goes_to_the_booking_page_and_stop_opts_out_of_both_channels(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    api.http.put("/v1/clinic", headers=clinic.headers, body=json.dumps({"booking_url": "https://book.example.org/x"}))
    booked = book(api, clinic)

    moved = api.http.get(path_of(aws, Purpose.RESCHEDULE, clinic, booked))
    assert (moved.status_code, moved.headers["Location"]) == (303, "https://book.example.org/x")

    api.http.post(
        path_of(aws, Purpose.STOP, clinic, booked),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="",
    )
    patient = api.http.get(f"/v1/patients/{booked['patient']['id']}", headers=clinic.headers).json_body
    assert patient["opt_out"]["sms"]["source"] == "link" and patient["opt_out"]["email"]["source"] == "link"
