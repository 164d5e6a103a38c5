"""Every request reads what it needs, not the clinic's (or the stage's) whole table (issue 18, "every request
bounded"): an SMS or WhatsApp reply finds the patient's own appointment by patient, the running-late watch reads
its provider's day, the admin's listing queries an index, and a WhatsApp or Messenger event finds its clinic by its
sender or its Page.
Each test fills the clinic with other patients' or other providers' appointments and shows, with botocore hooks
on the app's DynamoDB client (tests/reads_support.py), that none of them is read, next to what the user sees.
The clock is frozen at Monday 30 November 2026, 09:00 in New York."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.admin.cli import main
from chalicelib.arm.envelope import WatchTimerEvent
from chalicelib.core.words import ClinicStatus
from chalicelib.store import clinic_day
from chalicelib.store import clinics as clinic_store
from chalicelib.store.models import Appointment
from infra.local.clock import SimulatedClock
from tests.api.test_clinic_policy_and_replies import text_in
from tests.conftest import ClinicKeys, World
from tests.messenger_support import PAGE_ID, PSID, connect_messenger, m_me_ref, page_event, post_event, referral, text
from tests.reads_support import dynamodb_reads
from tests.whatsapp_support import connect_whatsapp, deliver_events

PHONE = "+14155550183"
OTHERS = 40
SENDER = "phone-number-id-00000000000000000000000000000183"
OTHER_PAGE = "000000000000183"  # another clinic's Facebook Page


def book(api: Client, clinic: ClinicKeys, start: str, provider: str | None = "Dr. Rivera", **patient: Any) -> str:
    body: dict[str, Any] = {"patient": {"name": "Pat Example", "phone": PHONE, **patient}, "start": start}
    if provider is not None:
        body["provider"] = provider
    answer = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert answer.status_code == 201, answer.json_body
    return str(answer.json_body["id"])


def others(clinic: ClinicKeys, first: datetime, provider: str | None, count: int = OTHERS) -> None:
    """`count` booked appointments of other patients at the clinic, one every 10 minutes from `first`, written
    straight to the table (what they are does not matter, only that a bounded read never touches them)."""
    now = first
    with Appointment.batch_write() as batch:
        for index in range(count):
            batch.save(
                Appointment(
                    clinic.clinic_id,
                    f"apt_other{index:013d}",
                    patient_id=f"pat_other{index:07d}",
                    start=first + index * timedelta(minutes=10),
                    timezone="America/New_York",
                    provider=provider,
                    created_at=now,
                    updated_at=now,
                )
            )


def queue_ids(api: Client, clinic: ClinicKeys, provider: str) -> list[str]:
    body = api.http.get(f"/v1/queue?provider={provider}", headers=clinic.headers).json_body
    return [a["id"] for p in body["providers"] for a in p["appointments"]]


# --- an inbound reply finds the patient's appointment by patient -------------------------------------------------


def test_a_confirm_reply_reads_the_patients_own_appointment_not_the_clinics_upcoming_ones(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(api, clinic, "2026-12-02T10:00:00-05:00")
    others(clinic, clock.now() + timedelta(hours=1), "Dr. Rivera")  # 40 upcoming, all before it

    with dynamodb_reads() as reads:
        text_in(aws, "C", "msg-bounded-1", sender=PHONE)

    stored = Appointment.get(clinic.clinic_id, appointment_id)
    assert (stored.confirmed_via, stored.confirmed_at) == ("sms", clock.now())
    assert aws.sent("sms")[-1]["body"] == (
        "Riverside Family Clinic: thank you, your appointment on Wed 2 Dec at 10:00 AM is confirmed."
    )
    (lookup,) = reads.of("appointments", "by-patient")
    assert lookup.items == 1  # the patient's one appointment, not the clinic's 41
    assert reads.of("appointments", "by-start") == [] and reads.scans == []
    assert reads.items("appointments") <= 3  # that read, and the appointment itself read again to confirm it


def test_here_reads_the_patients_appointment_today_and_the_providers_day_only(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(api, clinic, "2026-11-30T09:30:00-05:00")
    others(clinic, clock.now() - timedelta(hours=1), "Dr. Okafor")  # 40 of another provider, today
    others(clinic, clock.now() + timedelta(days=1), "Dr. Rivera", count=5)  # hers tomorrow: another day

    with dynamodb_reads() as reads:
        text_in(aws, "HERE", "msg-bounded-2", sender=PHONE)

    assert Appointment.get(clinic.clinic_id, appointment_id).checked_in_by == "sms"
    assert "wait" in aws.sent("sms")[-1]["body"].lower()
    assert [r.items for r in reads.of("appointments", "by-patient")] == [1]
    assert [r.items for r in reads.of("appointments", "by-provider")] == [1]  # the check-in's refresh: her day
    assert reads.of("appointments", "by-start") == [] and reads.scans == []


def test_a_reply_from_a_number_shared_by_two_patients_confirms_the_sooner_appointment(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    later = book(api, clinic, "2026-12-03T10:00:00-05:00")
    sooner = book(api, clinic, "2026-12-02T10:00:00-05:00", name="Sam Example")  # a second patient, same phone

    with dynamodb_reads() as reads:
        text_in(aws, "YES", "msg-bounded-3", sender=PHONE)

    assert Appointment.get(clinic.clinic_id, sooner).confirmed_via == "sms"
    assert Appointment.get(clinic.clinic_id, later).confirmed_at is None
    assert sorted(r.items for r in reads.of("appointments", "by-patient")) == [1, 1]  # one query per patient


# --- the running-late watch reads its provider's day -------------------------------------------------------------


def test_a_watch_firing_reads_its_providers_day_not_the_clinics(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(api, clinic, "2026-11-30T09:15:00-05:00")
    aws.services.visits.check_in(clinic.clinic_id, appointment_id)
    others(clinic, clock.now() - timedelta(hours=1), "Dr. Okafor")

    with dynamodb_reads() as reads:
        outcome = aws.services.waiting.watch_fired(WatchTimerEvent(clinic.clinic_id, "Dr. Rivera", clock.now()))

    assert outcome == {"result": "watched", "watching": True}  # her patient waits: the watch goes on
    assert [r.items for r in reads.of("appointments", "by-provider")] == [1]
    assert reads.of("appointments", "by-start") == [] and reads.scans == []


def test_the_unassigned_queue_closes_at_closing_time_and_leaves_a_providers_patient_alone(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    unassigned = book(api, clinic, "2026-11-30T09:15:00-05:00", provider=None)
    rivera = book(api, clinic, "2026-11-30T09:30:00-05:00", name="Sam Example")
    aws.services.visits.check_in(clinic.clinic_id, unassigned)
    aws.services.visits.check_in(clinic.clinic_id, rivera)
    closes = datetime.fromisoformat("2026-11-30T18:00:00-05:00")
    clock.set(closes)

    with dynamodb_reads() as reads:
        aws.services.waiting.watch_fired(WatchTimerEvent(clinic.clinic_id, "unassigned", closes))

    assert Appointment.get(clinic.clinic_id, unassigned).status == "noshow"  # still waiting at closing time
    assert Appointment.get(clinic.clinic_id, rivera).status == "arrived"  # Dr. Rivera's day is not this one
    assert [r.items for r in reads.of("appointments", "by-provider")] == [1]


def test_a_new_provider_moves_the_appointment_to_that_providers_queue(api: Client, clinic: ClinicKeys) -> None:
    appointment_id = book(api, clinic, "2026-11-30T11:00:00-05:00")
    for provider, queue in (("Dr. Okafor", "Dr. Okafor"), (None, "unassigned")):
        answer = api.http.patch(
            f"/v1/appointments/{appointment_id}", headers=clinic.headers, body=json.dumps({"provider": provider})
        )
        assert answer.status_code == 200, answer.json_body

        assert queue_ids(api, clinic, queue) == [appointment_id]
        assert queue_ids(api, clinic, "Dr. Rivera") == []


# --- admin paths and WhatsApp routing query instead of scanning ------------------------------------------------


def test_listing_the_clinics_queries_the_status_index_and_finds_suspended_ones_too(
    aws: World, clinic: ClinicKeys
) -> None:
    other = aws.services.clinics.create("Hillside Clinic", "Europe/Berlin")
    clinic_store.set_status(other.clinic_id, ClinicStatus.SUSPENDED)

    with dynamodb_reads() as reads:
        listed = clinic_store.all_clinics()  # what `list-clinics` and `usage` read

    assert sorted((c.clinic_id, c.name, c.status) for c in listed) == sorted(
        [(clinic.clinic_id, "Riverside Family Clinic", "active"), (other.clinic_id, "Hillside Clinic", "suspended")]
    )
    assert [(r.operation, r.index) for r in reads.calls] == [("Query", "by-status"), ("Query", "by-status")]


def test_the_usage_report_lists_every_clinic_without_scanning(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    other = aws.services.clinics.create("Hillside Clinic", "Europe/Berlin")

    assert main(["--stage", "test", "usage", "--month", "2026-11"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert [row["clinic_id"] for row in report["clinics"]] == sorted([clinic.clinic_id, other.clinic_id])


def test_a_whatsapp_reply_finds_its_clinic_by_sender_with_one_query(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    for n in range(5):  # other clinics, some with WhatsApp senders of their own
        created = aws.services.clinics.create(f"Clinic {n}", "America/New_York")
        if n % 2:
            clinic_store.set_whatsapp_phone_number_id(created.clinic_id, f"phone-number-id-{n:032d}")
    connect_whatsapp(api, clinic, SENDER, {})
    appointment_id = book(api, clinic, "2026-12-02T10:00:00-05:00")

    aws.whatsapp.inbound(SENDER, PHONE, "C")
    with dynamodb_reads() as reads:
        deliver_events(aws)

    assert Appointment.get(clinic.clinic_id, appointment_id).confirmed_via == "whatsapp"
    assert aws.sent()[-1]["channel"] == "whatsapp"
    # The event's route, and the emulated End User Messaging's own checks of the answer: one row each time.
    lookups = reads.of("clinics", "by-whatsapp-sender")
    assert lookups and {r.items for r in lookups} == {1}
    assert reads.scans == []


def test_a_messenger_event_finds_its_clinic_by_page_with_one_query_and_acts_in_that_clinic_only(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Clinic B has its own Page and the same patient (same name, same phone), booked the same day.
    other = aws.services.clinics.create("Hillside Clinic", "America/New_York")
    other_keys = ClinicKeys(other.clinic_id, other.api_key)
    connect_messenger(api, clinic, monkeypatch, capsys)
    assert main(["--stage", "test", "set-messenger", "--clinic", other.clinic_id, "--page-id", OTHER_PAGE]) == 0
    capsys.readouterr()
    mine = book(api, clinic, "2026-12-02T10:00:00-05:00", preferred_channel="messenger")
    theirs = book(api, other_keys, "2026-12-02T11:00:00-05:00", preferred_channel="messenger")
    confirmation = next(m["body"] for m in aws.sent("sms") if f"m.me/{PAGE_ID}?" in m["body"])
    now = aws.services.clock.now()

    with dynamodb_reads() as reads:
        linked = post_event(api, page_event(referral(m_me_ref(confirmation), now)))
        replied = post_event(api, page_event(text("C", "m_bounded_0001", now)))

    assert (linked.status_code, linked.json_body["linked"]) == (200, 1)
    assert (replied.status_code, replied.json_body["messages"]) == (200, 1)
    mine_patient = api.http.get(f"/v1/appointments/{mine}", headers=clinic.headers).json_body["patient"]["id"]
    theirs_patient = api.http.get(f"/v1/appointments/{theirs}", headers=other_keys.headers).json_body["patient"]["id"]
    assert api.http.get(f"/v1/patients/{mine_patient}", headers=clinic.headers).json_body["messenger"] is not None
    assert api.http.get(f"/v1/patients/{theirs_patient}", headers=other_keys.headers).json_body["messenger"] is None
    assert Appointment.get(clinic.clinic_id, mine).confirmed_via == "messenger"
    assert Appointment.get(other.clinic_id, theirs).confirmed_via is None
    answer = aws.sent()[-1]
    assert (answer["channel"], answer["to"]) == ("messenger", PSID)
    assert answer["body"].startswith("Riverside Family Clinic: thank you, your appointment on Wed 2 Dec")
    # Each event's route, and the fake Send API's own check of the answer's Page: one row each time.
    lookups = reads.of("clinics", "by-messenger-page")
    assert len(lookups) >= 2 and {r.items for r in lookups} == {1}
    assert reads.scans == []


def test_set_messenger_refuses_a_page_another_clinic_has(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = aws.services.clinics.create("Hillside Clinic", "Europe/Berlin")
    connect_messenger(api, clinic, monkeypatch, capsys)

    code = main(["--stage", "test", "set-messenger", "--clinic", other.clinic_id, "--page-id", PAGE_ID])

    assert code != 0
    assert "--page-id" in capsys.readouterr().err
    assert clinic_store.clinic_with_messenger_page(PAGE_ID).clinic_id == clinic.clinic_id  # type: ignore[union-attr]
    assert clinic_store.find_clinic(other.clinic_id).messenger_page_id is None  # type: ignore[union-attr]


def test_set_whatsapp_refuses_a_sender_another_clinic_has(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    other = aws.services.clinics.create("Hillside Clinic", "Europe/Berlin")
    assert main(["--stage", "test", "set-whatsapp", "--clinic", clinic.clinic_id, "--phone-number-id", SENDER]) == 0
    capsys.readouterr()

    code = main(["--stage", "test", "set-whatsapp", "--clinic", other.clinic_id, "--phone-number-id", SENDER])

    assert code != 0
    assert "--phone-number-id" in capsys.readouterr().err
    assert clinic_store.clinic_with_whatsapp_sender(SENDER).clinic_id == clinic.clinic_id  # type: ignore[union-attr]
    assert clinic_store.find_clinic(other.clinic_id).whatsapp_phone_number_id is None  # type: ignore[union-attr]


def test_index_pending_lists_appointments_stored_before_the_provider_index_and_the_watch_then_reads_them(
    api: Client, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    def providers_day() -> list[str]:  # what the running-late watch and a visit move read of Dr. Rivera's day
        found = clinic_day.provider_appointments_starting(
            clinic.clinic_id, "Dr. Rivera", clock.now() - timedelta(days=1), clock.now() + timedelta(days=2)
        )
        return [appointment.appointment_id for appointment in found]

    appointment_id = book(api, clinic, "2026-11-30T11:00:00-05:00")
    Appointment(clinic.clinic_id, appointment_id).update(actions=[Appointment.clinic_provider.remove()])
    assert providers_day() == []  # as an appointment stored before the index is

    capsys.readouterr()
    assert main(["--stage", "test", "index-pending"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["--stage", "test", "index-pending"]) == 0
    second = json.loads(capsys.readouterr().out)

    assert (first["indexed"]["appointments"], second["indexed"]["appointments"]) == (1, 0)
    assert providers_day() == [appointment_id]
