"""Check-in and wait times through the REST API on an in-process moto AWS, with the simulated clock and the
local stack's Scheduler emulator firing the timers the app armed (reminders and the running-late watch)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib.store.models import Appointment, Reminder, VisitLengths
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import Timers, armed_expressions

NEW_YORK = ZoneInfo("America/New_York")
PHONES = {"A": "+14155550101", "B": "+14155550102", "C": "+14155550103", "D": "+14155550104"}


def at(hhmm: str) -> datetime:
    """Tuesday 1 Dec 2026 at a New York wall-clock time."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(2026, 12, 1, hour, minute, tzinfo=NEW_YORK)


class Day:
    """The clinic's morning: the API as the front desk uses it, and time moving with every timer firing."""

    def __init__(self, api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
        self.api, self.aws, self.clinic, self.clock = api, aws, clinic, clock
        self.timers = Timers(aws, clock)

    def book(self, who: str, start: str, **extra: Any) -> str:
        body = {
            "patient": {"name": f"Pat Example{who}", "phone": PHONES.get(who, "+14155550109")},
            "start": at(start).isoformat(),
            "provider": "Dr. Rivera",
            **extra,
        }
        response = self.api.http.post("/v1/appointments", headers=self.clinic.headers, body=json.dumps(body))
        assert response.status_code == 201, response.json_body
        return str(response.json_body["id"])

    def move(self, appointment_id: str, move: str) -> Any:
        return self.api.http.post(f"/v1/appointments/{appointment_id}/{move}", headers=self.clinic.headers)

    def go_to(self, hhmm: str) -> None:
        self.timers.go_to(at(hhmm))

    def texts(self, who: str) -> list[str]:
        return [m["body"] for m in self.aws.sent("sms") if m["to"] == PHONES[who] and _waiting_room(m["body"])]

    def queue(self, query: str = "") -> Any:
        return self.api.http.get(f"/v1/queue{query}", headers=self.clinic.headers)

    def run_late(self, first: str, second: str, texted: Callable[[], bool]) -> None:
        """`first`'s 09:00 visit starts on time and runs long; `second` (09:30) checks in at 09:25. Then the clock
        moves five minutes at a time, to 09:55 at most, until `texted()` says the running-late text went."""
        self.go_to("08:55")
        self.move(first, "check-in")
        self.go_to("09:00")
        self.move(first, "start")
        self.go_to("09:25")
        self.move(second, "check-in")
        for hhmm in ("09:30", "09:35", "09:40", "09:45", "09:50", "09:55"):
            self.go_to(hhmm)
            if texted():
                return


def _waiting_room(body: str) -> bool:
    return "booked for" not in body and "reminder of your appointment" not in body


@pytest.fixture
def day(api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> Day:
    clock.set(at("08:00"))
    return Day(api, aws, clinic, clock)


def test_a_no_show_ahead_makes_the_next_patient_next(day: Day) -> None:
    a, b = day.book("A", "09:00"), day.book("B", "09:30")
    day.go_to("09:00")
    day.move(a, "start")
    day.go_to("09:20")
    day.move(b, "check-in")
    assert day.texts("B") == ["Riverside Family Clinic: you are checked in. You're next."]

    c = day.book("C", "09:40")
    day.move(c, "check-in")
    assert day.texts("C") == ["Riverside Family Clinic: you are checked in. Your wait is about 40 min."]
    day.move(b, "no-show")  # B left; only A, being seen, is ahead of C now
    assert day.texts("C")[1:] == ["Riverside Family Clinic: you're next. Please stay in the waiting room."]

    # A's visit drags on: C is already next, and "you're next" ends the texts
    day.go_to("10:30")
    assert len(day.texts("C")) == 2


def test_an_estimate_that_grows_by_ten_minutes_sends_one_update(day: Day) -> None:
    a, b, c = day.book("A", "09:00"), day.book("B", "09:30"), day.book("C", "10:00")
    day.go_to("09:00")
    day.move(a, "start")
    day.go_to("09:05")
    day.move(b, "check-in")
    day.move(c, "check-in")
    assert day.texts("C") == ["Riverside Family Clinic: you are checked in. Your wait is about 55 min."]
    # A's visit runs to 10:10: C's projected call moves from 10:00 to about 10:47
    day.go_to("10:10")
    assert day.texts("C")[1:] == ["Riverside Family Clinic: sorry, your wait is now about 40 min."]
    day.go_to("10:25")
    assert len(day.texts("C")) == 2  # one update only
    # The 85-minute visit booked for 30 teaches the model that Dr. Rivera runs long
    assert day.move(a, "finish").json_body["finished_at"] == "2026-12-01T15:25:00Z"
    (history,) = VisitLengths.query(day.clinic.clinic_id)
    assert list(history.ratios) == [2.8333]
    assert day.queue().json_body["providers"][0]["visit_length_ratio"] == round((3 + 2.8333) / 4, 2)


def test_illegal_moves_are_409_with_the_reason(day: Day) -> None:
    a = day.book("A", "09:30")
    response = day.move(a, "finish")
    assert response.status_code == 409
    assert response.json_body["error"] == {
        "code": "conflict",
        "message": "the appointment is booked; it must be started before it can be finished",
        "fields": [],
    }
    cancelled = day.api.http.delete(f"/v1/appointments/{a}", headers=day.clinic.headers)
    assert cancelled.status_code == 200
    response = day.move(a, "check-in")
    assert response.status_code == 409
    assert response.json_body["error"]["message"] == "the appointment is cancelled; it cannot be checked in"
    assert Appointment.get(day.clinic.clinic_id, a).arrived_at is None

    b = day.book("B", "10:00")
    assert day.move(b, "no-show").json_body["status"] == "noshow"
    assert day.move(b, "start").json_body == {
        "error": {"code": "conflict", "message": "the appointment is noshow; it cannot be started", "fields": []}
    }
    assert day.move("apt_missing", "check-in").status_code == 404
    started = day.book("C", "11:00")
    day.move(started, "start")
    response = day.api.http.delete(f"/v1/appointments/{started}", headers=day.clinic.headers)
    assert response.status_code == 409
    assert response.json_body["error"]["message"] == "the appointment is in-progress and cannot be cancelled"
    tomorrow = day.api.http.post(
        "/v1/appointments",
        headers=day.clinic.headers,
        body=json.dumps(
            {"patient": {"name": "Pat Example", "phone": PHONES["D"]}, "start": "2026-12-02T09:00:00-05:00"}
        ),
    ).json_body["id"]
    response = day.move(tomorrow, "check-in")
    assert response.status_code == 409
    assert (
        response.json_body["error"]["message"]
        == "the appointment is on 2026-12-02; it can be checked in only on that day"
    )


def test_a_patient_in_the_waiting_room_gets_no_reminder(day: Day) -> None:
    # Booked at 8:00 for 11:00: the 2 h reminder is due at 9:00
    a = day.book("A", "11:00")
    day.go_to("08:30")
    assert day.move(a, "check-in").status_code == 200
    reminders = {r.reminder_id: r for r in Reminder.query(a)}
    assert reminders["reminder-2h.sms"].status == "cancelled"
    assert reminders["reminder-2h.sms"].reason == "appointment_arrived"
    day.go_to("09:30")
    assert not any("reminder" in text for text in day.texts("A"))


def test_checking_in_twice_texts_once_and_the_queue_lists_every_provider(day: Day) -> None:
    a = day.book("A", "09:30")
    day.book("B", "09:30", provider="Dr. Chen")
    day.go_to("09:10")
    first = day.move(a, "check-in").json_body
    assert day.move(a, "check-in").json_body == first
    assert day.texts("A") == ["Riverside Family Clinic: you are checked in. Your wait is about 20 min."]

    body = day.queue("?date=2026-12-01").json_body
    assert sorted(p["provider"] for p in body["providers"]) == ["Dr. Chen", "Dr. Rivera"]
    assert day.queue("?date=2026-12-02").json_body["providers"] == []
    response = day.queue("?date=30/11/2026")
    assert response.status_code == 400
    assert response.json_body["error"]["fields"] == [{"field": "date", "problem": "must be a date as YYYY-MM-DD"}]
    assert day.api.http.get("/board/cln_000000000000.not-a-token").status_code == 404


def test_a_day_with_a_forgotten_finish_closes_at_closing_time_and_leaves_no_watch(day: Day) -> None:
    board = day.api.http.post("/v1/board-link", headers=day.clinic.headers).json_body["path"]
    a, b, c = day.book("A", "09:00"), day.book("B", "09:30"), day.book("C", "10:00")
    day.go_to("09:00")
    day.move(a, "start")
    day.go_to("09:20")
    day.move(b, "check-in")
    day.go_to("09:25")
    day.move(a, "finish")
    day.move(b, "start")  # and nobody ever finishes B's visit
    day.go_to("09:50")
    day.move(c, "check-in")  # C waits all day, never called
    day.go_to("17:00")
    assert "Now seeing: P.E." in day.api.http.get(board).body.decode()

    firings = day.timers.go_to(datetime(2026, 12, 2, 8, 0, tzinfo=NEW_YORK))  # the next morning
    watch = [f for f in day.timers.results if f.get("result") in ("watched", "day_closed")]
    # Every 5 minutes from 09:05 (the first slot after A's start) to 18:00, the default closing time, whose
    # firing closes the day: (18:00 - 09:05) / 5 min + 1 = 108 fires in all, 96 of them before 17:00.
    assert len(watch) == 108
    assert [f.schedule_name for f in firings if f.schedule_name.startswith("wait.")][-1].endswith("202612012300")
    assert watch[-1] == {"result": "day_closed", "closed_visits": 1, "marked_waiting": 1}

    rows = {r["id"]: r for r in day.queue("?date=2026-12-01").json_body["providers"][0]["appointments"]}
    assert (rows[a]["status"], rows[a]["closed_by"], rows[a]["finished_at"]) == (
        "fulfilled",
        None,
        "2026-12-01T14:25:00Z",
    )
    assert (rows[b]["status"], rows[b]["closed_by"], rows[b]["finished_at"]) == (
        "fulfilled",
        "day_close",
        "2026-12-01T23:00:00Z",
    )
    assert (rows[c]["status"], rows[c]["closed_by"], rows[c]["noshow_at"]) == (
        "noshow",
        "day_close",
        "2026-12-01T23:00:00Z",
    )
    (history,) = VisitLengths.query(day.clinic.clinic_id)
    assert list(history.ratios) == [round(25 / 30, 4)]  # A's visit only: a closed-at-closing visit teaches nothing
    assert not [name for name in armed_expressions(day.aws) if name.startswith("wait.")]


def test_the_board_is_empty_after_closing_time_and_a_move_after_closing_arms_no_watch(day: Day) -> None:
    board = day.api.http.post("/v1/board-link", headers=day.clinic.headers).json_body["path"]
    a = day.book("A", "09:00")
    day.go_to("17:50")
    day.move(a, "check-in")
    assert "P.E." in day.api.http.get(board).body.decode()
    day.go_to("18:00")
    page = day.api.http.get(board).body.decode()
    assert "P.E." not in page and "No one is waiting." in page
    b = day.book("B", "18:30")
    day.go_to("18:30")
    assert day.move(b, "start").json_body["status"] == "in-progress"
    assert not [name for name in armed_expressions(day.aws) if name.startswith("wait.")]


def test_opening_hours_are_a_clinic_setting_validated_field_by_field(day: Day) -> None:
    headers = day.clinic.headers
    current = day.api.http.get("/v1/clinic", headers=headers).json_body
    assert current["opening_hours"] == {"open": "08:00", "close": "18:00"}
    body = {**current, "opening_hours": {"open": "8am", "close": "18:00", "lunch": "12:00"}}
    response = day.api.http.put("/v1/clinic", headers=headers, body=json.dumps(body))
    assert response.status_code == 400
    assert response.json_body["error"]["fields"] == [
        {"field": "opening_hours.lunch", "problem": "is not part of opening hours (open, close)"},
        {"field": "opening_hours.open", "problem": "must be a local time HH:MM such as 08:00"},
    ]
    body = {**current, "opening_hours": {"open": "18:00", "close": "09:00"}}
    response = day.api.http.put("/v1/clinic", headers=headers, body=json.dumps(body))
    assert response.json_body["error"]["fields"] == [
        {"field": "opening_hours.close", "problem": "must be later in the day than opening_hours.open"}
    ]
    body = {**current, "opening_hours": {"open": "09:00", "close": "12:00"}}
    assert day.api.http.put("/v1/clinic", headers=headers, body=json.dumps(body)).status_code == 200
    assert day.api.http.get("/v1/clinic", headers=headers).json_body["opening_hours"] == {
        "open": "09:00",
        "close": "12:00",
    }
    # The watch of a visit started before opening waits for 09:00, and the 12:00 firing closes the day.
    a = day.book("A", "08:30")
    day.go_to("08:30")
    day.move(a, "start")
    assert [n[-4:] for n in armed_expressions(day.aws) if n.startswith("wait.")] == ["1400"]
    day.go_to("13:00")
    watch = [f for f in day.timers.results if f.get("result") in ("watched", "day_closed")]
    assert len(watch) == (12 * 60 - 9 * 60) // 5 + 1
    assert day.queue().json_body["providers"][0]["appointments"][0]["closed_by"] == "day_close"
