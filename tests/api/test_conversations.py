"""The clinic's inbox through the API and the inbound handlers as Lambda runs them, on an in-process moto AWS: a
patient's free-text reply becomes a thread (`GET /v1/conversations`, `GET /v1/conversations/{patient_id}`), the
staff answer on the patient's channel (`POST /v1/conversations/{patient_id}/messages`), metered; the notice
email (one per thread per hour, no message text) and the automatic answer (one a day); keywords stay keywords."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.send.email_feedback import address_hash
from chalicelib.store.models import Conversation, ConversationMessage, EmailSuppression
from infra.local.clock import SimulatedClock
from infra.local.stack import sns_event
from tests.conftest import ClinicKeys, World
from tests.whatsapp_support import SENDER, connect_whatsapp, deliver_events

PHONE = "+14155550141"
OTHER_PHONES = ("+14155550142", "+14155550143")
DESK = "desk@example.com"
AUTO_EN = (
    "Riverside Family Clinic: thank you, the clinic has your message and replies during its hours: 8:00 AM to "
    "6:00 PM. If it is urgent, call emergency services."
)


class Inbox:
    def __init__(self, api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
        self.api, self.aws, self.clinic, self.clock = api, aws, clinic, clock
        self._inbound = 0

    def book(self, phone: str = PHONE, **patient: Any) -> str:
        body = {"patient": {"name": "Pat Example", "phone": phone, **patient}, "start": "2026-12-02T10:00:00-05:00"}
        response = self.api.http.post("/v1/appointments", headers=self.clinic.headers, body=json.dumps(body))
        assert response.status_code == 201, response.json_body
        return str(response.json_body["patient"]["id"])

    def text_in(self, body: str, phone: str = PHONE) -> None:
        self._inbound += 1
        event = sns_event(phone, None, body, f"in-{self._inbound}", self.clock.now())
        self.api.lambda_.invoke("inbound_sms", event)

    def settings(self, **inbox: Any) -> None:
        response = self.api.http.put("/v1/clinic", headers=self.clinic.headers, body=json.dumps({"inbox": inbox}))
        assert response.status_code == 200, response.json_body

    def threads(self, query: str = "") -> Any:
        return self.api.http.get(f"/v1/conversations{query}", headers=self.clinic.headers)

    def thread(self, patient_id: str, query: str = "") -> Any:
        return self.api.http.get(f"/v1/conversations/{patient_id}{query}", headers=self.clinic.headers)

    def answer(self, patient_id: str, body: Any) -> Any:
        raw = body if isinstance(body, str) else json.dumps(body)
        return self.api.http.post(f"/v1/conversations/{patient_id}/messages", headers=self.clinic.headers, body=raw)

    def texts(self, phone: str = PHONE) -> list[str]:
        return [m["body"] for m in self.aws.sent("sms") if m["to"] == phone]

    def usage(self) -> Any:
        return self.api.http.get("/v1/usage?month=2026-11", headers=self.clinic.headers).json_body


@pytest.fixture
def inbox(api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> Inbox:
    return Inbox(api, aws, clinic, clock)


def test_a_free_text_reply_lands_in_the_inbox_unread_and_opening_the_thread_reads_it(inbox: Inbox) -> None:
    patient = inbox.book()

    inbox.text_in("Can I come at 3?")
    inbox.text_in("Or tomorrow morning?")

    listed = inbox.threads()
    assert listed.status_code == 200
    assert listed.json_body == {
        "conversations": [
            {
                "patient_id": patient,
                "unread": 2,
                "last_message_at": "2026-11-30T14:00:00Z",
                "last_direction": "in",
                "channel": "sms",
            }
        ],
        "next": None,
    }
    opened = inbox.thread(patient)
    assert opened.status_code == 200
    assert [(m["direction"], m["sender"], m["channel"], m["text"]) for m in opened.json_body["messages"]] == [
        ("in", "patient", "sms", "Or tomorrow morning?"),
        ("in", "patient", "sms", "Can I come at 3?"),
    ]
    assert opened.json_body["unread"] == 0
    assert inbox.threads().json_body["conversations"][0]["unread"] == 0
    # The day's one automatic answer, not the help text of before
    assert inbox.texts()[-1] == AUTO_EN
    assert inbox.texts().count(AUTO_EN) == 1


def test_the_staff_answer_reaches_the_patients_phone_is_metered_and_kept_in_the_thread(
    inbox: Inbox, clock: SimulatedClock
) -> None:
    patient = inbox.book()
    inbox.text_in("Can I come at 3?")
    clock.advance(timedelta(minutes=10))
    sms_before = inbox.usage()["messages"]["sms"]

    answered = inbox.answer(patient, {"text": "Yes, 3 PM works. See you then."})

    assert answered.status_code == 201, answered.json_body
    message = answered.json_body["message"]
    assert (message["direction"], message["sender"], message["channel"], message["sms_segments"]) == (
        "out",
        "staff",
        "sms",
        1,
    )
    assert inbox.texts()[-1] == "Yes, 3 PM works. See you then."
    assert inbox.usage()["messages"]["sms"] == sms_before + 1
    shown = inbox.thread(patient).json_body["messages"]
    assert [(m["direction"], m["text"], m["at"]) for m in shown] == [
        ("out", "Yes, 3 PM works. See you then.", "2026-11-30T14:10:00Z"),
        ("in", "Can I come at 3?", "2026-11-30T14:00:00Z"),
    ]
    (row,) = inbox.threads().json_body["conversations"]
    assert (row["last_direction"], row["unread"], row["last_message_at"]) == ("out", 0, "2026-11-30T14:10:00Z")


def test_an_answer_sent_again_with_its_external_id_is_sent_once(inbox: Inbox, clock: SimulatedClock) -> None:
    patient = inbox.book()
    inbox.text_in("Can I come at 3?")
    texted = len(inbox.texts())

    first = inbox.answer(patient, {"text": "Yes, 3 PM works.", "external_id": "ehr-msg-1"})
    again = inbox.answer(patient, {"text": "Yes, 3 PM works.", "external_id": "ehr-msg-1"})
    clock.advance(timedelta(minutes=1))  # a thread is in time order; two answers in one instant are in id order
    other = inbox.answer(patient, {"text": "See you then.", "external_id": "ehr-msg-2"})

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json_body == first.json_body
    assert inbox.texts()[texted:] == ["Yes, 3 PM works.", "See you then."]
    outgoing = [m["text"] for m in inbox.thread(patient).json_body["messages"] if m["direction"] == "out"]
    assert outgoing == ["See you then.", "Yes, 3 PM works."]


def test_an_answer_the_spend_cap_held_back_can_be_sent_with_its_external_id_once_the_cap_is_raised(
    inbox: Inbox, clock: SimulatedClock
) -> None:
    from chalicelib.admin.cli import main as admin

    patient = inbox.book()
    inbox.text_in("Can I come at 3?")
    cap = ["--stage", "test", "set-spend-cap", "--clinic", inbox.clinic.clinic_id, "--usd"]
    assert admin([*cap, "0.001"], clock=clock) == 0

    held = inbox.answer(patient, {"text": "Yes.", "external_id": "ehr-msg-9"})
    assert admin([*cap, "50"], clock=clock) == 0
    sent = inbox.answer(patient, {"text": "Yes.", "external_id": "ehr-msg-9"})

    assert (held.status_code, held.json_body["error"]["code"]) == (409, "spend_cap_reached")
    assert sent.status_code == 201  # the claim was given back: nothing had gone
    assert inbox.texts()[-1] == "Yes."


def test_a_ucs2_answer_is_counted_in_ucs2_segments(inbox: Inbox) -> None:
    patient = inbox.book()
    inbox.text_in("¿Puedo ir a las 3?")

    text = "نعم، الساعة الثالثة مناسبة. " * 3  # 84 characters outside GSM-7: two UCS-2 segments
    answered = inbox.answer(patient, {"text": text})

    assert answered.status_code == 201, answered.json_body
    assert answered.json_body["message"]["sms_segments"] == 2


def test_an_answer_is_refused_naming_the_field_when_empty_too_long_or_unknown(inbox: Inbox) -> None:
    patient = inbox.book()
    inbox.text_in("Hello")
    sent_before = len(inbox.aws.sent())

    empty = inbox.answer(patient, {"text": "  "})
    long = inbox.answer(patient, {"text": "x" * 1001})
    segments = inbox.answer(patient, {"text": "😀" * 500})
    unknown = inbox.answer(patient, {"text": "ok", "channel": "email"})

    for response in (empty, long, segments, unknown):
        assert response.status_code == 400
    assert [f["field"] for f in empty.json_body["error"]["fields"]] == ["text"]
    assert long.json_body["error"]["fields"][0]["problem"] == "must be at most 1000 characters"
    assert segments.json_body["error"]["fields"][0]["problem"].startswith("is 16 SMS segments (ucs2); at most 6")
    assert [f["field"] for f in unknown.json_body["error"]["fields"]] == ["channel"]
    assert len(inbox.aws.sent()) == sent_before  # nothing sent
    assert len(inbox.thread(patient).json_body["messages"]) == 1  # nothing stored


def test_an_unknown_patient_is_a_404_and_a_patient_who_never_wrote_a_409(inbox: Inbox) -> None:
    patient = inbox.book()

    assert inbox.thread("pat_0000000000000000").status_code == 404
    assert inbox.answer("pat_0000000000000000", {"text": "Hi"}).status_code == 404
    silent = inbox.answer(patient, {"text": "Hi"})
    assert silent.status_code == 409
    assert silent.json_body["error"]["code"] == "no_conversation"
    assert inbox.thread(patient).json_body == {
        "patient_id": patient,
        "unread": 0,
        "channel": None,
        "messages": [],
        "next": None,
    }


def test_keywords_keep_working_and_never_reach_the_inbox(inbox: Inbox) -> None:
    inbox.book()

    inbox.text_in("HELP")
    inbox.text_in("C")
    inbox.text_in("STOP")

    assert inbox.threads().json_body["conversations"] == []
    texts = inbox.texts()
    assert texts[-3].startswith("Riverside Family Clinic appointment reminders.")
    assert "is confirmed" in texts[-2]
    assert texts[-1] == "Riverside Family Clinic: you will get no more texts. Reply START to get them again."


def test_after_stop_a_message_still_reaches_the_inbox_but_nothing_is_texted_back(inbox: Inbox) -> None:
    patient = inbox.book()
    inbox.text_in("STOP")
    texted = len(inbox.texts())

    inbox.text_in("Please call me instead")
    refused = inbox.answer(patient, {"text": "Sure"})

    assert [m["text"] for m in inbox.thread(patient).json_body["messages"]] == ["Please call me instead"]
    assert len(inbox.texts()) == texted  # no automatic answer, no staff answer
    assert refused.status_code == 409
    assert refused.json_body["error"]["code"] == "opted_out"


def test_the_automatic_answer_says_the_clinics_hours_and_urgent_number_once_a_day_in_the_patients_language(
    inbox: Inbox, clock: SimulatedClock
) -> None:
    inbox.settings(hours="lunes a viernes, 8 a 18 h", urgent_phone="911")
    inbox.book(language="es")

    inbox.text_in("¿Puedo ir a las 3?")
    inbox.text_in("¿Hola?")
    clock.advance(timedelta(days=1))
    inbox.text_in("¿Hola??")

    spanish = (
        "Riverside Family Clinic: gracias, la clinica tiene su mensaje y responde en su horario: lunes a viernes, "
        "8 a 18 h. Si es urgente, llame al 911."
    )
    assert [t for t in inbox.texts() if "su mensaje" in t] == [spanish, spanish]


def test_the_urgent_number_defaults_to_the_clinics_contact_phone(inbox: Inbox, api: Client) -> None:
    put = api.http.put("/v1/clinic", headers=inbox.clinic.headers, body=json.dumps({"contact_phone": "4155550199"}))
    assert put.status_code == 200
    inbox.book()

    inbox.text_in("Hello")

    assert inbox.texts()[-1].endswith("6:00 PM. If it is urgent, call +14155550199.")


def test_inbox_settings_are_validated_naming_each_field(inbox: Inbox, api: Client) -> None:
    body = {"inbox": {"hours": "x" * 81, "urgent_phone": "call us", "notice_email": "desk", "colour": "red"}}
    response = api.http.put("/v1/clinic", headers=inbox.clinic.headers, body=json.dumps(body))

    assert response.status_code == 400
    assert sorted(f["field"] for f in response.json_body["error"]["fields"]) == [
        "inbox.colour",
        "inbox.hours",
        "inbox.notice_email",
        "inbox.urgent_phone",
    ]
    assert api.http.get("/v1/clinic", headers=inbox.clinic.headers).json_body["inbox"] == {
        "hours": None,
        "urgent_phone": None,
        "notice_email": None,
    }


def test_one_notice_email_per_thread_per_hour_without_the_message(inbox: Inbox, clock: SimulatedClock) -> None:
    inbox.settings(notice_email=DESK)
    patient = inbox.book()
    other = inbox.book(OTHER_PHONES[0])

    inbox.text_in("My chest hurts a little since the new pills")
    inbox.text_in("Should I stop them?")
    inbox.text_in("Hello from another patient", OTHER_PHONES[0])
    clock.advance(timedelta(minutes=61))
    inbox.text_in("Still waiting")

    notices = [m for m in inbox.aws.sent("email") if m["to"] == DESK]
    assert [n["subject"] for n in notices] == ["A patient wrote: open the CareCue inbox"] * 3
    assert [patient in n["body"] for n in notices] == [True, False, True]
    assert other in notices[1]["body"]
    for notice in notices:
        for secret in ("chest", "pills", "stop them", "Hello from", "Still", PHONE, "Pat Example"):
            assert secret not in notice["body"]
    assert inbox.usage()["messages"]["email"] == 3  # metered like every message


def test_a_failing_notice_email_loses_no_message_logs_no_patient_data_and_is_tried_again(
    inbox: Inbox, aws: World, caplog: pytest.LogCaptureFixture
) -> None:
    inbox.settings(notice_email=DESK)
    patient = inbox.book()
    suppression = EmailSuppression(address_hash(DESK), reason="bounce", recorded_at=aws.services.clock.now())
    suppression.save()  # SES would only bounce again: the channel refuses the notice

    with caplog.at_level(logging.INFO):
        inbox.text_in("My chest hurts a little")

    assert [m["text"] for m in inbox.thread(patient).json_body["messages"]] == ["My chest hurts a little"]
    assert [m for m in aws.sent("email") if m["to"] == DESK] == []
    logged = caplog.text
    assert "inbox notice not sent" in logged
    for secret in ("chest", PHONE, DESK):
        assert secret not in logged
    # The claim was given back: the next message, once the address takes mail again, sends the notice
    suppression.delete()
    inbox.text_in("Hello?")
    assert len([m for m in aws.sent("email") if m["to"] == DESK]) == 1


def test_the_inbox_lists_newest_first_in_pages_with_a_cursor(inbox: Inbox, clock: SimulatedClock) -> None:
    first, second, third = inbox.book(), inbox.book(OTHER_PHONES[0]), inbox.book(OTHER_PHONES[1])
    for phone in (PHONE, OTHER_PHONES[0], OTHER_PHONES[1]):
        inbox.text_in("Hello", phone)
        clock.advance(timedelta(minutes=1))

    page = inbox.threads("?limit=2").json_body
    rest = inbox.threads(f"?limit=2&next={page['next']}").json_body

    assert [row["patient_id"] for row in page["conversations"]] == [third, second]
    assert [row["patient_id"] for row in rest["conversations"]] == [first]
    assert rest["next"] is None or inbox.threads(f"?limit=2&next={rest['next']}").json_body["conversations"] == []
    too_many = inbox.threads("?limit=201")
    assert too_many.status_code == 400
    assert too_many.json_body["error"]["fields"] == [
        {"field": "limit", "problem": "must be a whole number from 1 to 200"}
    ]
    assert inbox.threads("?next=bm90LWEtY3Vyc29y").json_body["error"]["fields"][0]["field"] == "next"


def test_another_clinics_key_sees_no_thread_of_this_clinic(inbox: Inbox, aws: World, api: Client) -> None:
    patient = inbox.book()
    inbox.text_in("Hello")
    other = aws.services.clinics.create("Other Example Clinic", "America/New_York")
    headers = {"Authorization": f"Bearer {other.api_key}", "Content-Type": "application/json"}

    assert api.http.get("/v1/conversations", headers=headers).json_body["conversations"] == []
    assert api.http.get(f"/v1/conversations/{patient}", headers=headers).status_code == 404
    cursor = inbox.threads("?limit=1").json_body["next"]
    if cursor:
        assert api.http.get(f"/v1/conversations?next={cursor}", headers=headers).status_code == 400


def test_the_thread_text_is_stored_in_the_conversation_tables_only(inbox: Inbox) -> None:
    patient = inbox.book()
    inbox.text_in("Can I come at 3?")

    row = Conversation.get(inbox.clinic.clinic_id, patient)
    assert (row.unread, row.channel, row.address) == (1, "sms", PHONE)
    (message,) = ConversationMessage.query(f"{inbox.clinic.clinic_id}#{patient}")
    assert (message.text, message.direction, message.sender) == ("Can I come at 3?", "in", "patient")


def test_a_whatsapp_message_is_answered_on_whatsapp_inside_the_window_and_by_sms_after_it(
    inbox: Inbox, api: Client, aws: World, clock: SimulatedClock
) -> None:
    connect_whatsapp(api, inbox.clinic, SENDER, {})
    patient = inbox.book(whatsapp_opt_in=True)
    aws.whatsapp.inbound(SENDER, PHONE, "Can I bring my daughter?")
    deliver_events(aws)
    assert inbox.thread(patient).json_body["channel"] == "whatsapp"

    inside = inbox.answer(patient, {"text": "Yes, of course."})
    clock.advance(timedelta(hours=25))
    outside = inbox.answer(patient, {"text": "See you tomorrow."})

    assert (inside.status_code, inside.json_body["message"]["channel"]) == (201, "whatsapp")
    assert (outside.status_code, outside.json_body["message"]["channel"]) == (201, "sms")
    assert [m["body"] for m in aws.sent("whatsapp") if m["to"] == PHONE][-1] == "Yes, of course."
    assert inbox.texts()[-1] == "See you tomorrow."


def test_two_replies_at_the_same_moment_send_one_notice_and_one_automatic_answer_and_keep_both(
    served_aws: World,
) -> None:
    from chalicelib.appointments.request import parse_new_appointment
    from chalicelib.replies.inbound import InboundSms

    aws = served_aws
    made = aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    aws.services.clinic_settings.replace(made.clinic_id, json.dumps({"inbox": {"notice_email": DESK}}).encode())
    now = aws.services.clock.now()
    body = {"patient": {"name": "Pat Example", "phone": PHONE}, "start": "2026-12-02T10:00:00-05:00"}
    booked = aws.services.appointments.book(made.clinic_id, parse_new_appointment(json.dumps(body).encode(), now))
    racers = 4
    start = threading.Barrier(racers)
    failures: list[BaseException] = []

    def racer(number: int) -> None:
        start.wait()
        try:
            aws.services.replies.handle(InboundSms(f"race-{number}", PHONE, None, f"Hello {number}"))
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            failures.append(e)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len([m for m in aws.sent("email") if m["to"] == DESK]) == 1
    assert len([m for m in aws.sent("sms") if m["to"] == PHONE and "has your message" in m["body"]]) == 1
    row = Conversation.get(made.clinic_id, booked.patient.patient_id)
    assert row.unread == racers
    texts = {m.text for m in ConversationMessage.query(f"{made.clinic_id}#{booked.patient.patient_id}")}
    assert texts == {f"Hello {n}" for n in range(racers)}


def test_the_inbox_and_a_thread_are_read_by_bounded_queries_not_scans(inbox: Inbox) -> None:
    from tests.reads_support import dynamodb_reads

    patients = [inbox.book(f"+1415555{160 + n:04d}") for n in range(5)]
    for n in range(5):
        inbox.text_in("Hello", f"+1415555{160 + n:04d}")

    with dynamodb_reads() as reads:
        listed = inbox.threads("?limit=2").json_body
        inbox.thread(patients[0], "?limit=1")

    assert len(listed["conversations"]) == 2
    assert reads.scans == []
    (listing,) = reads.of("conversations", "by-recent")
    assert listing.items == 2  # a page, not the clinic's five threads
    (messages,) = reads.of("conversation-messages")
    assert messages.items == 1
