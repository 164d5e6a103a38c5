"""`GET /v1/queue` carries the ticket number the waiting-room board shows for each appointment of the day: one
numbering for the whole clinic (a provider's queue alone keeps the numbers the board gives), null until the
patient arrived."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys

NEW_YORK = ZoneInfo("America/New_York")


def at(hhmm: str) -> str:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(2026, 12, 1, hour, minute, tzinfo=NEW_YORK).isoformat()


def test_the_queue_shows_the_boards_ticket_numbers(api: Client, clinic: ClinicKeys, clock: SimulatedClock) -> None:
    clock.set(datetime.fromisoformat(at("08:30")))
    headers = clinic.headers

    def book(phone: str, start: str, provider: str) -> str:
        body = {"patient": {"name": "Pat Example", "phone": phone}, "start": at(start), "provider": provider}
        response = api.http.post("/v1/appointments", headers=headers, body=json.dumps(body))
        assert response.status_code == 201, response.json_body
        return str(response.json_body["id"])

    rivera = book("+14155550121", "09:00", "Dr. Rivera")
    chen = book("+14155550122", "09:15", "Dr. Chen")
    later = book("+14155550123", "10:00", "Dr. Rivera")
    assert api.http.put("/v1/clinic", headers=headers, body=json.dumps({"board_labels": "tickets"})).status_code == 200
    assert api.http.post(f"/v1/appointments/{chen}/check-in", headers=headers).status_code == 200
    clock.set(datetime.fromisoformat(at("08:40")))
    assert api.http.post(f"/v1/appointments/{rivera}/check-in", headers=headers).status_code == 200

    queue = api.http.get("/v1/queue?provider=Dr.%20Rivera", headers=headers)

    assert queue.status_code == 200
    rows = {row["id"]: row["ticket"] for p in queue.json_body["providers"] for row in p["appointments"]}
    assert rows == {rivera: 2, later: None}  # Dr. Chen's patient arrived first, and is number 1
    link = api.http.post("/v1/board-link", headers=headers).json_body
    board = api.http.get(link["path"]).body.decode()
    assert sorted(re.findall(r"no\. (\d+)", board)) == ["1", "2"]
    everyone = api.http.get("/v1/queue", headers=headers).json_body
    assert {row["id"]: row["ticket"] for p in everyone["providers"] for row in p["appointments"]} == {
        rivera: 2,
        chen: 1,
        later: None,
    }
