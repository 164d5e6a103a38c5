"""Waiting-room texts have a delivery record, so they fall back like reminders: a wait-time text WhatsApp later
reports `failed` goes once by SMS (a duplicate status sends nothing more); a running-late text WhatsApp never
reports delivered goes once by SMS when the clinic's delivery window ends (a second firing of the window sends
nothing); one reported delivered sends nothing when its window ends; and a text that has gone stale by then (the
patient was called in) is not sent again, while one still true is sent with the wait counted from now. Each
delivery is keyed by the visit and the notice's number (`{appointment}/wait.1`, `{appointment}/late.1` at the
appointment's start). The morning is Tuesday 1 December 2026 in New York, Dr. Rivera's patients booked through
the REST API, and time passes as Scheduler fires the app's timers (tests/api/test_visits.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from chalicelib.core.clock import iso_utc
from chalicelib.store.models import Delivery
from tests.api.test_visits import PHONES, Day, at
from tests.api.test_waiting_texts_by_chat import CLINIC, WHATSAPP_FIRST, book, connect, day, usage, waiting_texts
from tests.timer_support import armed_expressions, fire, stored_event
from tests.whatsapp_support import deliver_events

__all__ = ["day"]  # the fixture, shared with the neighbouring waiting-room tests


def delivery(appointment_id: str, notice: str, start: str) -> Delivery:
    return Delivery.get(f"{appointment_id}/{notice}", iso_utc(at(start)), consistent_read=True)


def window_of(day: Day, appointment_id: str, notice: str) -> tuple[str, datetime]:
    """The delivery-window timer armed for a notice, and when it ends."""
    ((name, expression),) = [
        (n, e) for n, e in armed_expressions(day.aws).items() if n.startswith(f"{appointment_id}.{notice}.w")
    ]
    return name, datetime.fromisoformat(expression.removeprefix("at(").removesuffix(")") + "+00:00")


def checked_in_with_b_unreachable(day: Day) -> tuple[str, str]:
    """A at 09:00 by SMS and B at 09:30 on WhatsApp with the phone off (no delivery ever reported), both checked in
    at 08:50: B's wait text ("about 40 min") went by WhatsApp. Returns their appointment ids."""
    connect(day)
    a, b = book(day, "A", "09:00"), book(day, "B", "09:30", **WHATSAPP_FIRST)
    day.aws.whatsapp.withhold_delivery(PHONES["B"])
    day.go_to("08:50")
    day.move(a, "check-in")
    day.move(b, "check-in")
    return a, b


def test_a_wait_text_whatsapp_reports_failed_goes_once_by_sms_and_a_duplicate_status_sends_nothing(day: Day) -> None:
    # GIVEN a WhatsApp-first patient whose number is not on WhatsApp (WhatsApp takes the message, then fails it)
    connect(day)
    a = book(day, "A", "09:00", **WHATSAPP_FIRST)
    day.aws.whatsapp.not_on_whatsapp(PHONES["A"])

    # WHEN the front desk checks A in at 08:50, and WhatsApp's statuses arrive, then arrive again
    day.go_to("08:50")
    assert day.move(a, "check-in").status_code == 200
    statuses = deliver_events(day.aws)
    deliver_events(day.aws, statuses)

    # THEN the same wait text went once by SMS after the WhatsApp template failed
    assert waiting_texts(day, "A") == [
        ("whatsapp", f"{CLINIC}: ya está registrado. Su espera es de unos 10 min."),
        ("sms", f"{CLINIC}: you are checked in. Your wait is about 10 min."),
    ]
    # AND the visit's first wait text records both channels
    record = delivery(a, "wait.1", "09:00")
    assert (record.channel, record.status, record.receipt, record.receipt_failure) == (
        "whatsapp",
        "sent",
        "failed",
        "whatsapp_131026",
    )
    assert (record.fallback_channel, record.fallback_status, record.fallback_reason) == (
        "sms",
        "sent",
        "whatsapp_131026",
    )
    # AND each is metered on its channel (the confirmation and the fallback by SMS, the template by WhatsApp)
    assert usage(day) == {"sms": 2, "email": 0, "whatsapp": 1, "messenger": 0}


def late_news_withheld(day: Day) -> str:
    """A's 09:00 visit runs long with B waiting after it; D, at home for 11:00 on WhatsApp with the phone off
    (WhatsApp reports the message sent, never delivered), gets the running-late text by WhatsApp. D's id."""
    connect(day)
    a, b = book(day, "A", "09:00"), book(day, "B", "09:30")
    d = book(day, "D", "11:00", **WHATSAPP_FIRST)
    day.aws.whatsapp.withhold_delivery(PHONES["D"])
    day.run_late(a, b, texted=lambda: bool(waiting_texts(day, "D")))
    ((channel, late),) = waiting_texts(day, "D")
    assert channel == "whatsapp" and "retraso" in late
    return d


def test_a_running_late_text_never_delivered_goes_once_by_sms_when_the_window_ends(day: Day) -> None:
    # GIVEN D's running-late text by WhatsApp, never delivered
    d = late_news_withheld(day)

    # WHEN the delivery window of that text ends (15 minutes after it went) and Scheduler fires it twice
    name, ends = window_of(day, d, "late.1")
    assert ends == delivery(d, "late.1", "11:00").sent_at + timedelta(minutes=15)
    event = stored_event(day.aws, name)
    day.clock.set(ends)
    first, again = fire(event), fire(event)

    # THEN the running-late news went once by SMS, with the lag as it is now; the second firing sent nothing
    assert first == {"result": "sent", "reason": "whatsapp_not_delivered"}
    assert again == {"result": "duplicate", "reason": "fallen_back_already"}
    texts = waiting_texts(day, "D")
    assert [channel for channel, _ in texts] == ["whatsapp", "sms"]
    assert texts[1][1].startswith(f"{CLINIC}: Dr. Rivera is running about ")
    assert texts[1][1].endswith(" min late today. Please still arrive on time unless we tell you otherwise.")
    record = delivery(d, "late.1", "11:00")
    assert (record.channel, record.receipt, record.fallback_channel, record.fallback_status) == (
        "whatsapp",
        "sent",
        "sms",
        "sent",
    )
    assert record.fallback_reason == "whatsapp_not_delivered"


def test_a_wait_text_whatsapp_delivered_sends_nothing_when_its_window_ends(day: Day) -> None:
    connect(day)
    a = book(day, "A", "09:00", **WHATSAPP_FIRST)
    day.go_to("08:50")
    day.move(a, "check-in")
    deliver_events(day.aws)  # sent, delivered, read
    name, ends = window_of(day, a, "wait.1")

    day.clock.set(ends)
    assert fire(stored_event(day.aws, name)) == {"result": "skipped", "reason": "receipt_read"}

    assert [channel for channel, _ in waiting_texts(day, "A")] == ["whatsapp"]
    record = delivery(a, "wait.1", "09:00")
    assert (record.receipt, record.fallback_channel) == ("read", None)


def test_a_wait_text_never_delivered_goes_by_sms_with_the_wait_left_while_the_patient_still_waits(day: Day) -> None:
    # GIVEN A at 09:00 by SMS and B at 09:30 on WhatsApp with the phone off, both checked in at 08:50
    a, b = checked_in_with_b_unreachable(day)
    assert waiting_texts(day, "B") == [("whatsapp", f"{CLINIC}: ya está registrado. Su espera es de unos 40 min.")]

    # WHEN B's text's window ends at 09:05, B still in the waiting room (Scheduler fires it with the watch)
    day.go_to("09:05")

    # THEN B gets the text once by SMS, promising the same call time: 25 minutes from now, not 40
    assert waiting_texts(day, "B")[1:] == [("sms", f"{CLINIC}: you are checked in. Your wait is about 25 min.")]
    assert {"result": "sent", "reason": "whatsapp_not_delivered"} in day.timers.results
    assert delivery(b, "wait.1", "09:30").fallback_reason == "whatsapp_not_delivered"


def test_a_wait_text_never_delivered_is_not_sent_again_once_the_patient_was_called_in(day: Day) -> None:
    # GIVEN the same morning: B's WhatsApp wait text is never delivered
    a, b = checked_in_with_b_unreachable(day)
    name, ends = window_of(day, b, "wait.1")
    event = stored_event(day.aws, name)

    # WHEN the front desk calls B in at 09:00, before the window ends
    day.go_to("09:00")
    assert day.move(b, "start").status_code == 200
    day.clock.set(ends)

    # THEN the window's end sends nothing: the wait text is stale
    assert fire(event) == {"result": "skipped", "reason": "no_fallback"}
    assert [channel for channel, _ in waiting_texts(day, "B")] == ["whatsapp"]
    record = delivery(b, "wait.1", "09:30")
    assert (record.receipt, record.fallback_channel) == ("sent", None)


def test_a_wait_text_a_newer_one_superseded_is_not_sent_again_and_the_newer_one_falls_back(day: Day) -> None:
    # GIVEN B's WhatsApp wait text ("about 40 min") is never delivered, and A is called in at 08:55: B is next
    a, b = checked_in_with_b_unreachable(day)
    day.go_to("08:55")
    day.move(a, "start")
    assert [text for _, text in waiting_texts(day, "B")][1:] == [
        f"{CLINIC}: ya está registrado. Su espera es de unos 5 min."
    ]

    # WHEN both texts' windows end (09:05 and 09:10), B still waiting
    day.go_to("09:10")

    # THEN only the newer text, "you're next", goes by SMS; the first (superseded) is not sent again
    to_b = [(m["channel"], m["body"]) for m in day.aws.sent() if m["to"] == PHONES["B"]]
    assert to_b[-3:] == [
        ("whatsapp", f"{CLINIC}: ya está registrado. Su espera es de unos 40 min."),
        ("whatsapp", f"{CLINIC}: ya está registrado. Su espera es de unos 5 min."),
        ("sms", f"{CLINIC}: you're next. Please stay in the waiting room."),
    ]
    assert (delivery(b, "wait.1", "09:30").fallback_channel, delivery(b, "wait.2", "09:30").fallback_channel) == (
        None,
        "sms",
    )


def test_a_wait_text_whatsapp_failed_is_not_sent_by_sms_to_a_number_that_sent_stop(day: Day) -> None:
    from infra.local.stack import sns_event

    connect(day)
    a = book(day, "A", "09:00", **WHATSAPP_FIRST)
    day.api.lambda_.invoke("inbound_sms", sns_event(PHONES["A"], None, "STOP", "in-stop-a", day.clock.now()))
    day.aws.whatsapp.not_on_whatsapp(PHONES["A"])
    day.go_to("08:50")
    day.move(a, "check-in")

    deliver_events(day.aws)  # WhatsApp: failed

    assert [channel for channel, _ in waiting_texts(day, "A")] == ["whatsapp"]
    record = delivery(a, "wait.1", "09:00")
    assert (record.fallback_channel, record.fallback_status, record.fallback_failure) == (
        "sms",
        "skipped",
        "opted_out_sms",
    )


def test_the_same_wait_text_handled_twice_is_one_delivery_and_sends_once(day: Day) -> None:
    from chalicelib.fire.notices import Notice
    from chalicelib.store import clinic_day
    from chalicelib.waiting.service import planned_text, waiting_facts

    # GIVEN A checked in at 08:50, and the check-in's wait text sent by SMS
    a = book(day, "A", "09:00")
    day.go_to("08:50")
    day.move(a, "check-in")
    assert waiting_texts(day, "A") == [("sms", f"{CLINIC}: you are checked in. Your wait is about 10 min.")]

    # WHEN the same notice (the visit's first wait text) is handed to the dispatcher again
    clinic = clinic_day.clinic(day.clinic.clinic_id)
    appointment = clinic_day.appointment(clinic.clinic_id, a)
    patient = clinic_day.patient(clinic.clinic_id, appointment.patient_id)
    body = f"{CLINIC}: you are checked in. Your wait is about 10 min."
    planned = planned_text(clinic, appointment, patient, body, waiting_facts(clinic, minutes=10))
    facts = {"text": "check_in", "next": False, "promised_at": iso_utc(at("09:00"))}
    notice = Notice(clinic.clinic_id, a, "wait.1", appointment.start, "wait_check_in", facts, planned)
    went = day.aws.services.dispatcher.send_notice(notice)

    # THEN nothing more is sent, and the one delivery stays as it was
    assert went is None
    assert len(waiting_texts(day, "A")) == 1
    record = delivery(a, "wait.1", "09:00")
    assert (record.channel, record.status, record.attempts) == ("sms", "sent", 1)
    assert usage(day)["sms"] == 2  # the confirmation and the one wait text


def test_a_running_late_text_is_not_sent_again_once_the_appointment_was_moved(day: Day) -> None:
    # GIVEN D's running-late text by WhatsApp, never delivered
    d = late_news_withheld(day)
    name, ends = window_of(day, d, "late.1")
    event = stored_event(day.aws, name)

    # WHEN the clinic moves D's appointment to the afternoon before the window ends
    moved = day.api.http.patch(
        f"/v1/appointments/{d}", headers=day.clinic.headers, body=json.dumps({"start": at("14:00").isoformat()})
    )
    assert moved.status_code == 200, moved.json_body
    day.clock.set(ends)

    # THEN the window's end sends nothing: the news was about the 11:00 visit
    assert fire(event) == {"result": "skipped", "reason": "no_fallback"}
    assert [channel for channel, _ in waiting_texts(day, "D")] == ["whatsapp"]
    assert delivery(d, "late.1", "11:00").fallback_channel is None
