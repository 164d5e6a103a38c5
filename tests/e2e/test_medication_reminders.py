"""Medication reminders end to end on the running local stack, driven over HTTP only: a twice-daily regimen
across the real spring-forward change in New York (Sunday 14 March 2027), each dose texted at 08:00 and 20:00
local; one taken by link, one by SMS reply, one missed, which brings the follow-up and the caregiver alert;
and the adherence report that results.

The stack's clock only moves forwards and is shared by the session, so the regimen is dated by the stack's
own `now`: the DST change is the first one after it."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.e2e.conftest import Clinic, LocalStack, parse_instant

NEW_YORK = ZoneInfo("America/New_York")
PHONE = "+14155550160"
CAREGIVER = "+14155550161"


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


def sent(stack: LocalStack, to: str) -> list[tuple[str, str]]:
    return [(f"{parse_instant(m['sent_at']).astimezone(NEW_YORK):%a %d %H:%M}", m["body"]) for m in stack.outbox(to)]


def test_twice_daily_across_spring_forward_taken_by_link_and_reply_one_missed(
    stack: LocalStack, clinic: Clinic
) -> None:
    assert stack.now() < ny("2027-03-13T07:00"), "the shared stack clock has passed this test's dates"
    api = stack.api(clinic)
    status, regimen = api.post(
        "/v1/regimens",
        {
            "patient": {"name": "Pat Example", "phone": PHONE},
            "medication": "Examplamab 10 mg",
            "timing": {
                "repeat": {
                    "when": ["MORN", "EVE.late"],
                    "boundsPeriod": {"start": "2027-03-13T00:00:00-05:00", "end": "2027-03-14T23:00:00-04:00"},
                }
            },
            "caregiver": {"first_name": "Pat", "phone": CAREGIVER},
        },
    )
    assert status == 201, regimen
    assert regimen["instructions"][0]["schedule"]["cron"] == ["cron(0 8,20 * * ? *)"]

    # Saturday 08:00 (standard time): taken by the link in the text
    stack.advance_to(ny("2027-03-13T08:05"))
    link = re.search(r"(/d/[A-Za-z0-9_-]{44})", sent(stack, PHONE)[-1][1])
    assert link is not None
    pressed = stack.local.raw("POST", link[1], b"", {"Content-Type": "application/x-www-form-urlencoded"})
    assert pressed[0] == 200 and "marked as taken" in pressed[2]

    # Saturday 20:00: taken by replying "T"
    stack.advance_to(ny("2027-03-13T20:10"))
    status, answer = stack.local.post("/_local/sms/inbound", {"from": PHONE, "body": "T"})
    assert status == 202, answer

    # Sunday 08:00 (daylight time now): never acknowledged
    stack.advance_to(ny("2027-03-14T09:30"))

    assert [when for when, _ in sent(stack, PHONE)] == [
        "Sat 13 08:00",
        "Sat 13 20:00",
        "Sat 13 20:10",  # the answer to the reply
        "Sun 14 08:00",
        "Sun 14 08:30",  # the one follow-up
    ]
    assert all("Examplamab" not in body for _, body in sent(stack, PHONE))
    assert sent(stack, CAREGIVER) == [
        ("Sun 14 09:00", "Riverside Family Clinic: Pat has not confirmed the 8:00 AM dose on Sun 14 Mar.")
    ]

    status, adherence = api.get(
        f"/v1/regimens/{regimen['id']}/adherence?from=2027-03-13T05:00:00Z&to=2027-03-14T16:00:00Z"
    )
    assert status == 200, adherence
    assert [(d["due"], d["status"]) for d in adherence["doses"]] == [
        ("2027-03-13T08:00:00-05:00", "taken"),
        ("2027-03-13T20:00:00-05:00", "taken"),
        ("2027-03-14T08:00:00-04:00", "missed"),
    ]
    assert adherence["taken_percent"] == 66.7

    # The bounds end on Sunday night: after the last dose, Scheduler's copy of the timer is gone
    stack.advance_to(ny("2027-03-14T23:30"))
    assert stack.pending(regimen["id"]) == []
    status, shown = api.get(f"/v1/regimens/{regimen['id']}")
    assert status == 200 and shown["next_doses"] == []
