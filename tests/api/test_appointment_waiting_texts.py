"""The front desk sees a visit's waiting-room texts in `GET /v1/appointments/{id}` (`waiting_texts`): each wait-time
and running-late text the visit was sent, in the order it went, with its kind, number, channel, receipt and any
fallback, as a reminder's `delivery` shows them, and never its words. The texts' delivery records are read by
key in one BatchGetItem whatever their number; a visit never texted reads none and shows `[]`. The morning is
Tuesday 1 December 2026 in New York, Dr. Rivera's patients booked through the REST API, time passing as Scheduler
fires the app's timers (tests/api/test_visits.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from chalicelib.core.clock import iso_utc
from chalicelib.store import models
from infra.local.stack import sns_event
from tests.api.test_visits import PHONES, Day, at
from tests.api.test_waiting_texts_by_chat import (
    CLINIC,
    WHATSAPP_FIRST,
    book,
    checked_in_where_whatsapp_refuses,
    connect,
    day,
    waiting_texts,
)
from tests.reads_support import dynamodb_reads
from tests.whatsapp_support import deliver_events

__all__ = ["day"]  # the fixture, shared with the neighbouring waiting-room tests


def at_utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def shown(day: Day, appointment_id: str) -> Any:
    response = day.api.http.get(f"/v1/appointments/{appointment_id}", headers=day.clinic.headers)
    assert response.status_code == 200, response.json_body
    return response.json_body


def texts_of(day: Day, appointment_id: str) -> list[dict[str, Any]]:
    return list(shown(day, appointment_id)["waiting_texts"])


@contextmanager
def dynamodb_calls() -> Iterator[list[str]]:
    """The name of each DynamoDB call the app makes while inside, in order (botocore's `before-call` on
    PynamoDB's client, as tests/integration/test_booking_calls.py counts a booking's calls)."""
    assert models._shared_connection is not None
    events = models._shared_connection.client.meta.events
    calls: list[str] = []

    def named(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events.register("before-call.dynamodb", named, unique_id="test-waiting-texts-calls")
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", unique_id="test-waiting-texts-calls")


def running_late_morning(day: Day) -> tuple[str, str, str]:
    """A's 09:00 visit runs long with B (09:30) checked in at 09:25; D, at home for 11:00 by SMS, is texted that
    Dr. Rivera runs late. Returns the three appointment ids."""
    a, b, d = day.book("A", "09:00"), day.book("B", "09:30"), day.book("D", "11:00")
    day.run_late(a, b, texted=lambda: any("late" in text for text in day.texts("D")))
    (late,) = day.texts("D")
    assert late.startswith(f"{CLINIC}: Dr. Rivera is running about ")
    return a, b, d


def test_a_check_in_by_sms_shows_its_wait_text_sent_by_sms(day: Day) -> None:
    # GIVEN A, booked for 09:00 by SMS, not yet checked in at 08:50
    a = day.book("A", "09:00")
    day.go_to("08:50")
    assert texts_of(day, a) == []

    # WHEN the front desk checks A in
    assert day.move(a, "check-in").status_code == 200

    # THEN the appointment shows the one wait text, by SMS, sent now (SNS's acceptance is an SMS's only receipt)
    assert day.texts("A") == [f"{CLINIC}: you are checked in. Your wait is about 10 min."]
    body = shown(day, a)
    assert body["waiting_texts"] == [
        {
            "id": "wait.1",
            "kind": "wait_check_in",
            "number": 1,
            "status": "sent",
            "channel": "sms",
            "receipt": "sent",
            "sent_at": iso_utc(at("08:50")),
        }
    ]
    # AND never the text's words: the reminders' view does not show them either
    assert "checked in" not in json.dumps(body)


def test_a_whatsapp_wait_text_read_shows_when_it_was_delivered_and_read(day: Day) -> None:
    connect(day)
    a = book(day, "A", "09:00", **WHATSAPP_FIRST)
    day.go_to("08:50")
    day.move(a, "check-in")
    deliver_events(day.aws)  # WhatsApp's statuses: sent, delivered, read

    (text,) = texts_of(day, a)
    assert (text["id"], text["kind"], text["channel"], text["status"], text["receipt"]) == (
        "wait.1",
        "wait_check_in",
        "whatsapp",
        "sent",
        "read",
    )
    assert text["sent_at"] <= text["delivered_at"] <= text["read_at"]
    assert "fallback" not in text


def test_a_whatsapp_wait_text_that_failed_shows_its_fallback_by_sms(day: Day) -> None:
    # GIVEN a WhatsApp-first patient whose number is not on WhatsApp (WhatsApp takes the message, then fails it)
    connect(day)
    a = book(day, "A", "09:00", **WHATSAPP_FIRST)
    day.aws.whatsapp.not_on_whatsapp(PHONES["A"])

    # WHEN the front desk checks A in at 08:50, and WhatsApp's statuses arrive
    day.go_to("08:50")
    day.move(a, "check-in")
    deliver_events(day.aws)
    assert [channel for channel, _ in waiting_texts(day, "A")] == ["whatsapp", "sms"]

    # THEN the one wait text shows WhatsApp's failure and the same text sent again by SMS
    assert texts_of(day, a) == [
        {
            "id": "wait.1",
            "kind": "wait_check_in",
            "number": 1,
            "status": "sent",
            "channel": "whatsapp",
            "receipt": "failed",
            "failure": "whatsapp_131026",
            "sent_at": iso_utc(at("08:50")),
            "fallback": {
                "channel": "sms",
                "status": "sent",
                "reason": "whatsapp_131026",
                "sent_at": iso_utc(at("08:50")),
            },
        }
    ]


def test_a_wait_text_whatsapp_refused_at_once_shows_failed_and_its_fallback_by_sms(day: Day) -> None:
    # GIVEN a WhatsApp-first patient WhatsApp refuses the free-form wait text to, at once, WHEN the front desk
    # checks them in at 08:50
    a = checked_in_where_whatsapp_refuses(day)

    # THEN the text shows failed on WhatsApp, with WhatsApp's reason, and sent again by SMS
    assert waiting_texts(day, "A") == [("sms", f"{CLINIC}: you are checked in. Your wait is about 10 min.")]
    (text,) = texts_of(day, a)
    assert (text["id"], text["status"], text["channel"], text["receipt"]) == ("wait.1", "failed", "whatsapp", "failed")
    assert text["failure"].startswith("whatsapp_")
    assert text["fallback"] == {
        "channel": "sms",
        "status": "sent",
        "reason": text["failure"],
        "sent_at": iso_utc(at("08:50")),
    }


def test_a_wait_text_not_sent_to_a_number_that_sent_stop_is_not_shown(day: Day) -> None:
    # GIVEN B, who texted STOP, checked in: the waiting room counted the text, and sent nothing
    b = day.book("B", "09:00")
    day.api.lambda_.invoke("inbound_sms", sns_event(PHONES["B"], None, "STOP", "in-stop-b", day.clock.now()))
    day.go_to("08:50")
    assert day.move(b, "check-in").status_code == 200

    # THEN the appointment shows B arrived and no waiting-room text: none went
    assert waiting_texts(day, "B") == []
    body = shown(day, b)
    assert (body["status"], body["waiting_texts"]) == ("arrived", [])


def test_a_running_late_text_shows_with_kind_late_and_the_visits_texts_in_the_order_they_went(day: Day) -> None:
    # GIVEN D, at home for 11:00, texted that Dr. Rivera runs late; B checked in behind A's long visit
    a, b, d = running_late_morning(day)

    # THEN D's appointment shows the running-late text by SMS
    (late,) = texts_of(day, d)
    assert {k: late[k] for k in ("id", "kind", "number", "status", "channel", "receipt")} == {
        "id": "late.1",
        "kind": "running_late",
        "number": 1,
        "status": "sent",
        "channel": "sms",
        "receipt": "sent",
    }
    assert at("09:30") <= at_utc(late["sent_at"]) <= at("09:55")
    # AND B, checked in while A was with the provider, was told at check-in they are next: one text, not two
    assert [(t["id"], t["kind"]) for t in texts_of(day, b)] == [("wait.1", "wait_check_in")]
    assert day.texts("B") == [f"{CLINIC}: you are checked in. You're next."]

    # WHEN D arrives and is checked in at 10:50
    day.go_to("10:50")
    day.move(d, "check-in")

    # THEN D's texts are both running-late texts (the second as the lag grew), then the wait text, as they went
    texts = texts_of(day, d)
    assert [(t["id"], t["kind"], t["number"], t["channel"]) for t in texts] == [
        ("late.1", "running_late", 1, "sms"),
        ("late.2", "running_late", 2, "sms"),
        ("wait.1", "wait_check_in", 1, "sms"),
    ]
    assert texts[0]["sent_at"] < texts[1]["sent_at"] < texts[2]["sent_at"] == iso_utc(at("10:50"))
    assert len([text for text in day.texts("D") if "late" in text]) == 2


def test_an_appointment_never_checked_in_shows_no_waiting_texts_and_reads_no_deliveries(day: Day) -> None:
    a = day.book("A", "09:00")
    day.go_to("08:50")

    with dynamodb_calls() as calls:
        body = shown(day, a)

    assert body["waiting_texts"] == []
    assert "BatchGetItem" not in calls


def test_the_gets_dynamodb_calls_do_not_grow_with_the_number_of_texts(day: Day) -> None:
    # GIVEN D texted that the provider runs late (one text)
    a, b, d = running_late_morning(day)
    with dynamodb_calls() as one_text:
        assert len(shown(day, d)["waiting_texts"]) == 1

    # WHEN the lag grows (a second late text), D is checked in at 10:50 (a wait text), and is told of a longer
    # wait and then that they are next as A's visit ends and B is called in: five texts, the most a visit gets
    day.go_to("10:50")
    day.move(d, "check-in")
    day.move(a, "finish")
    day.move(b, "start")
    with dynamodb_calls() as five_texts:
        assert [(t["id"], t["kind"]) for t in shown(day, d)["waiting_texts"]] == [
            ("late.1", "running_late"),
            ("late.2", "running_late"),
            ("wait.1", "wait_check_in"),
            ("wait.2", "wait_update"),
            ("wait.3", "wait_next"),
        ]
    assert day.texts("D")[-1] == f"{CLINIC}: you're next. Please stay in the waiting room."

    # THEN each GET reads the texts in the one BatchGetItem: as many calls for five texts as for one
    assert one_text.count("BatchGetItem") == five_texts.count("BatchGetItem") == 1
    assert len(one_text) == len(five_texts)
    assert "Scan" not in five_texts

    # AND the list of appointments shows no waiting texts and reads none: a page stays one query
    with dynamodb_reads() as listing:
        page = day.api.http.get(
            "/v1/appointments?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z", headers=day.clinic.headers
        )
    assert page.status_code == 200, page.json_body
    listed = {item["id"]: item for item in page.json_body["appointments"]}
    assert set(listed) == {a, b, d} and not any("waiting_texts" in item for item in listed.values())
    assert listing.of("deliveries") == []
