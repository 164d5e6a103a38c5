"""Bookings from online booking tools through `POST /webhooks/{provider}/{clinic_id}`, via Chalice's test client
on an in-process moto AWS: what the tool is answered, what is stored, which timers are armed and what the
patient receives, for created, rescheduled, cancelled, retried, reordered and rejected deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.core.clock import Clock, SystemClock
from chalicelib.core.errors import SignatureRejected
from chalicelib.intake.context import ProviderCredentials
from chalicelib.intake.credentials import WebhookCredentials
from chalicelib.intake.events import WebhookRequest
from chalicelib.intake.service import WebhookIntake
from chalicelib.store.models import Appointment, BookingLink, Patient, Reminder
from infra.local.clock import SimulatedClock
from tests.conftest import World
from tests.timer_support import Timers
from tests.timer_support import armed_expressions as schedules
from tests.webhook_support import (
    CONTENT_TYPES,
    SQUARE_URL,
    FakeAcuity,
    body_of,
    fake_lookups,
    fixture,
    signature_headers,
)


@dataclass
class Hooks:
    """A clinic connected to its booking tools, and a way to post to its webhook URLs as each tool does."""

    api: Client
    world: World
    clock: SimulatedClock
    transport_clock: Clock  # the tools sign with it: the test's clock, or the real one where that is the point
    clinic_id: str
    default_secret: str
    acuity: FakeAcuity
    clinic_key: str = ""  # the clinic's API key, for a test that also books through the REST API

    def secret(self, provider: str) -> str:
        return {"square": "sq-signature-key", "acuity": "acuity-api-key"}.get(provider, self.default_secret)

    def post(
        self,
        provider: str,
        payload: Any,
        *,
        secret: str | None = None,
        clinic_id: str | None = None,
        headers: dict[str, str] | None = None,
        skew: timedelta = timedelta(0),
        query: str = "",
    ) -> Any:
        body = body_of(payload)
        stamp = int((self.transport_clock.now() + skew).timestamp())
        sent = {"Content-Type": CONTENT_TYPES.get(provider, "application/json")}
        sent.update(signature_headers(provider, secret or self.secret(provider), body, stamp))
        sent.update(headers or {})
        path = f"/webhooks/{provider}/{clinic_id or self.clinic_id}{query}"
        return self.api.http.post(path, headers=sent, body=body)


@pytest.fixture
def hooks(aws: World, clock: SimulatedClock, transport_clock: Clock) -> Iterator[Hooks]:
    created = aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    lookups, acuity, _ = fake_lookups()
    aws.services.booking_lookups = lookups  # the composition root's seam for the two APIs with no emulator
    ssm = aws.session.client("ssm")
    prefix = f"/carecue/test/clinics/{created.clinic_id}/webhooks"
    for name, value in {
        "square": "sq-signature-key",
        "square-notification-url": SQUARE_URL,
        "square-access-token": "sq-token",
        "acuity": "acuity-api-key",
        "acuity-user-id": "11145481",
    }.items():
        ssm.put_parameter(Name=f"{prefix}/{name}", Value=value, Type="SecureString")
    with Client(app, stage_name="local") as client:
        yield Hooks(
            client, aws, clock, transport_clock, created.clinic_id, created.webhook_secret, acuity, created.api_key
        )


def stored() -> dict[str, int]:
    return {m.__name__: sum(1 for _ in m.scan()) for m in (Appointment, Patient, Reminder, BookingLink)}


def texts(world: World) -> list[str]:
    return [m["body"] for m in world.sent("sms")]


def test_a_calcom_booking_is_stored_confirmed_and_armed_and_retries_change_nothing(hooks: Hooks) -> None:
    created = fixture("calcom", "booking_created.json")

    answers = [hooks.post("calcom", created) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json_body["outcome"] for a in answers] == ["booked", "already_applied", "already_applied"]
    appointment = Appointment.get(hooks.clinic_id, answers[0].json_body["appointment_id"])
    assert (appointment.source, appointment.external_id, appointment.status) == (
        "calcom",
        "bFJeNb2uX8ANpT3JL5EfXw",
        "booked",
    )
    # The attendee booked in Spanish (the fixture's language), so the texts are in Spanish.
    assert Patient.get(hooks.clinic_id, appointment.patient_id).language == "es"
    assert stored()["Appointment"] == 1
    assert texts(hooks.world) == ["Riverside Family Clinic: su cita es el mié 2 de dic, 10:00."]
    assert len(hooks.world.sent("email")) == 0  # one channel per message: the first of the order, SMS
    assert sorted(schedules(hooks.world).values()) == ["at(2026-12-01T15:00:00)", "at(2026-12-02T13:00:00)"]


def test_a_calcom_reschedule_moves_the_same_appointment_and_its_new_uid_can_cancel_it(hooks: Hooks) -> None:
    first = hooks.post("calcom", fixture("calcom", "booking_created.json")).json_body
    moved = hooks.post("calcom", fixture("calcom", "booking_rescheduled.json"))

    assert moved.status_code == 200
    assert moved.json_body["appointment_id"] == first["appointment_id"]
    assert moved.json_body["outcome"] == "moved"
    assert moved.json_body["start"] == "2026-12-03T20:30:00Z"
    assert texts(hooks.world)[-1] == "Riverside Family Clinic: su cita se ha movido al jue 3 de dic, 15:30."
    timers = schedules(hooks.world)
    assert timers[f"{first['appointment_id']}.reminder-24h.sms"] == "at(2026-12-02T20:30:00)"
    assert len(timers) == 2  # the 24 h and 2 h reminders, by SMS

    cancelled = hooks.post("calcom", fixture("calcom", "booking_cancelled.json"))

    assert cancelled.json_body["appointment_id"] == first["appointment_id"]
    assert cancelled.json_body["status"] == "cancelled"
    assert schedules(hooks.world) == {}
    assert texts(hooks.world)[-1] == "Riverside Family Clinic: su cita del jue 3 de dic, 15:30 queda cancelada."
    assert stored()["Appointment"] == 1


@pytest.mark.parametrize("cancel_first", [True, False])
def test_a_calendly_reschedule_is_one_moved_appointment_and_one_notice(hooks: Hooks, cancel_first: bool) -> None:
    first = hooks.post("calendly", fixture("calendly", "invitee_created.json")).json_body
    hooks.clock.advance(timedelta(minutes=5))
    cancel = fixture("calendly", "invitee_canceled_rescheduled.json")
    create = fixture("calendly", "invitee_created_rescheduled.json")

    answers = {}
    for name, payload in (
        (("cancel", cancel), ("create", create)) if cancel_first else (("create", create), ("cancel", cancel))
    ):
        answers[name] = hooks.post("calendly", payload)

    assert answers["cancel"].status_code == 202
    assert answers["cancel"].json_body["ignored"].startswith("rescheduled")
    assert answers["create"].json_body["appointment_id"] == first["appointment_id"]
    assert answers["create"].json_body["status"] == "booked"
    assert stored()["Appointment"] == 1
    # The invitee reads times in London; one confirmation, one reschedule notice, no cancellation.
    assert texts(hooks.world) == [
        "Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 3:00 PM.",
        "Riverside Family Clinic: your appointment has moved to Thu 3 Dec at 8:30 PM.",
    ]


def test_a_cancel_that_arrives_before_its_create_leaves_the_booking_cancelled_and_silent(hooks: Hooks) -> None:
    cancel = hooks.post("calendly", fixture("calendly", "invitee_canceled.json"))
    create = hooks.post("calendly", fixture("calendly", "invitee_created.json"))

    assert cancel.status_code == create.status_code == 200
    assert cancel.json_body["outcome"] == "cancelled_before_booked"
    assert create.json_body["status"] == "cancelled"
    assert create.json_body["appointment_id"] == cancel.json_body["appointment_id"]
    assert stored()["Reminder"] == 0
    assert schedules(hooks.world) == {}
    assert hooks.world.sent() == []


def test_an_older_square_update_never_overwrites_a_newer_one(hooks: Hooks) -> None:
    hooks.post("square", fixture("square", "booking_created.json"))
    hooks.post("square", fixture("square", "booking_updated_cancelled.json"))  # version 2

    late = hooks.post("square", fixture("square", "booking_updated_moved.json"))  # version 1, delivered last

    assert late.status_code == 200
    assert late.json_body["outcome"] == "stale"
    assert late.json_body["status"] == "cancelled"
    assert late.json_body["start"] == "2026-12-02T15:00:00Z"
    assert [t for t in texts(hooks.world) if "moved" in t] == []
    assert schedules(hooks.world) == {}


def test_a_square_move_delivered_before_its_create_keeps_the_newer_time(hooks: Hooks) -> None:
    moved = hooks.post("square", fixture("square", "booking_updated_moved.json"))
    created = hooks.post("square", fixture("square", "booking_created.json"))

    assert created.json_body["outcome"] == "stale"
    assert created.json_body["appointment_id"] == moved.json_body["appointment_id"]
    assert Appointment.get(hooks.clinic_id, moved.json_body["appointment_id"]).provider_sequence == 1
    assert texts(hooks.world) == ["Riverside Family Clinic: your appointment is booked for Thu 3 Dec at 3:30 PM."]


def test_a_booking_with_no_phone_or_email_is_stored_flagged_and_never_reminded(hooks: Hooks) -> None:
    payload = fixture("calcom", "booking_created.json")
    attendee = payload["payload"]["attendees"][0]
    attendee["email"] = ""
    attendee.pop("phoneNumber")
    payload["payload"]["responses"].pop("attendeePhoneNumber")

    answer = hooks.post("calcom", payload)

    assert answer.status_code == 200
    assert answer.json_body["reminders"] == "none"
    assert answer.json_body["reason"] == "no_contact"
    appointment = Appointment.get(hooks.clinic_id, answer.json_body["appointment_id"])
    assert appointment.contactless is True
    assert appointment.status == "booked"
    assert stored()["Reminder"] == 0
    assert schedules(hooks.world) == {}
    assert hooks.world.sent() == []


def test_a_booking_whose_phone_has_no_country_code_is_texted_at_it_in_the_clinics_country(hooks: Hooks) -> None:
    payload = fixture("calcom", "booking_created.json")
    payload["payload"]["attendees"][0]["phoneNumber"] = "(415) 555-0101"
    payload["payload"]["responses"]["attendeePhoneNumber"]["value"] = "(415) 555-0101"

    answer = hooks.post("calcom", payload)

    assert answer.status_code == 200
    assert answer.json_body["outcome"] == "booked"
    appointment = Appointment.get(hooks.clinic_id, answer.json_body["appointment_id"])
    assert Patient.get(hooks.clinic_id, appointment.patient_id).phone == "+14155550101"
    assert [m["to"] for m in hooks.world.sent("sms")] == ["+14155550101"]


def test_acuity_bookings_are_read_from_acuity_and_worded_in_the_patients_zone(hooks: Hooks) -> None:
    answer = hooks.post("acuity", fixture("acuity", "scheduled.txt"))

    assert answer.status_code == 200
    assert hooks.acuity.calls == [("11145481", "acuity-api-key", "400123")]
    assert answer.json_body["timezone"] == "America/Chicago"
    assert texts(hooks.world) == ["Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 9:00 AM."]
    timers = schedules(hooks.world)

    hooks.clock.advance(timedelta(minutes=1))
    retried = hooks.post("acuity", fixture("acuity", "scheduled.txt"))  # Acuity's state is read again: the same

    assert retried.json_body["outcome"] == "unchanged"
    assert retried.json_body["version"] == 1
    assert schedules(hooks.world) == timers
    assert len(texts(hooks.world)) == 1

    hooks.acuity.down = True
    unavailable = hooks.post("acuity", fixture("acuity", "canceled.txt"))

    assert unavailable.status_code == 503  # Acuity retries; nothing was changed
    assert Appointment.get(hooks.clinic_id, answer.json_body["appointment_id"]).status == "booked"


def test_a_form_posted_with_a_token_books_once_however_often_it_is_sent(hooks: Hooks) -> None:
    mapping = json.dumps(fixture("form", "mapping.json"))
    hooks.world.session.client("ssm").put_parameter(
        Name=f"/carecue/test/clinics/{hooks.clinic_id}/webhooks/form-mapping", Value=mapping, Type="String"
    )
    fields = {"submission_id": "sub-7", "full_name": "Pat Example", "phone": "+14155550107"}
    fields |= {"visit_date": "2026-12-02", "visit_time": "4:15 PM"}
    body = "".join(f'--XyZ\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items())
    multipart = {"Content-Type": "multipart/form-data; boundary=XyZ"}

    answers = [
        hooks.api.http.post(
            f"/webhooks/form/{hooks.clinic_id}?token={hooks.default_secret}",
            headers=multipart,
            body=(body + "--XyZ--\r\n").encode(),
        )
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [200, 200]
    assert stored()["Appointment"] == 1
    assert texts(hooks.world) == ["Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 4:15 PM."]


REJECTIONS = [
    ("wrong secret", 401, "does not match"),
    ("no signature", 401, "missing"),
    ("stale timestamp", 401, "outside the allowed window"),
    ("unknown tool", 404, "booking tool not found"),
    ("unknown clinic", 404, "clinic not found"),
    ("malformed body", 400, "body"),
    ("event not used", 202, "MEETING_ENDED"),
    ("over 256 KB", 413, "262144 bytes"),
    ("tool with no secret of its own", 401, "no acuity secret"),
]


def reject(hooks: Hooks, case: str) -> Any:
    created = fixture("calcom", "booking_created.json")
    json_only = {"Content-Type": "application/json"}
    if case == "wrong secret":
        return hooks.post("calcom", created, secret=hooks.default_secret + "x")
    if case == "no signature":
        return hooks.api.http.post(f"/webhooks/calcom/{hooks.clinic_id}", headers=json_only, body=body_of(created))
    if case == "stale timestamp":
        return hooks.post("calendly", fixture("calendly", "invitee_created.json"), skew=timedelta(minutes=-4))
    if case == "unknown tool":
        return hooks.api.http.post(f"/webhooks/zoho/{hooks.clinic_id}", headers=json_only, body=b"{}")
    if case == "unknown clinic":
        return hooks.post("calcom", created, clinic_id="cln_000000000000")
    if case == "malformed body":
        return hooks.post("calcom", b"{not json")
    if case == "event not used":
        return hooks.post("calcom", fixture("calcom", "meeting_ended.json"))
    if case == "over 256 KB":
        created["payload"]["description"] = "x" * 270_000
        return hooks.post("calcom", created)
    # Acuity signs with the account's API key: the clinic's default secret must not stand in for it.
    other = hooks.world.services.clinics.create("Hillside Clinic", "America/Chicago")
    return hooks.post(
        "acuity", fixture("acuity", "scheduled.txt"), secret=other.webhook_secret, clinic_id=other.clinic_id
    )


def test_rejected_deliveries_store_nothing_arm_nothing_and_say_why(hooks: Hooks) -> None:
    # One AWS for all cases (a fresh moto costs a second or more each); each case is checked on its own.
    for case, status, says in REJECTIONS:
        answer = reject(hooks, case)

        assert (case, answer.status_code) == (case, status)
        assert says in json.dumps(answer.json_body), case
        assert stored() == {"Appointment": 0, "Patient": 0, "Reminder": 0, "BookingLink": 0}, case
        assert schedules(hooks.world) == {}, case
        assert hooks.world.sent() == [], case


def test_after_a_reschedule_the_reminders_fire_for_the_new_time_only(hooks: Hooks) -> None:
    hooks.post("calcom", fixture("calcom", "booking_created.json"))
    hooks.post("calcom", fixture("calcom", "booking_rescheduled.json"))
    timers = Timers(hooks.world, hooks.clock)

    firings = timers.fire_due(datetime(2026, 12, 3, 21, 0, tzinfo=UTC), on_time=hooks.clock.set)

    assert [f.scheduled_time.isoformat() for f in firings if f.schedule_name.endswith(".sms")] == [
        "2026-12-02T20:30:00+00:00",
        "2026-12-03T18:30:00+00:00",
    ]
    sms = texts(hooks.world)
    assert sms[:2] == [
        "Riverside Family Clinic: su cita es el mié 2 de dic, 10:00.",
        "Riverside Family Clinic: su cita se ha movido al jue 3 de dic, 15:30.",
    ]
    assert len(sms) == 4
    assert all("jue 3 de dic, 15:30" in text for text in sms[2:])


def put_secret(hooks: Hooks, name: str, value: str) -> None:
    """Changes a clinic's webhook parameter in SSM directly, as an edit in the console would."""
    hooks.world.session.client("ssm").put_parameter(
        Name=f"/carecue/test/clinics/{hooks.clinic_id}/webhooks/{name}",
        Value=value,
        Type="SecureString",
        Overwrite=True,
    )


def test_a_secret_changed_in_ssm_works_on_the_very_next_delivery(hooks: Hooks) -> None:
    first = hooks.post("calcom", fixture("calcom", "booking_created.json"))  # fills the 5-minute cache
    put_secret(hooks, "calcom", "rotated-in-the-console")

    moved = hooks.post("calcom", fixture("calcom", "booking_rescheduled.json"), secret="rotated-in-the-console")
    old = hooks.post("calcom", fixture("calcom", "booking_cancelled.json"))  # the clinic's default secret

    assert first.status_code == 200
    assert (moved.status_code, moved.json_body["outcome"]) == (200, "moved")
    assert (old.status_code, old.json_body["error"]["message"]) == (401, "the signature does not match")
    assert Appointment.get(hooks.clinic_id, first.json_body["appointment_id"]).status == "booked"


def test_a_new_square_signature_key_works_on_squares_next_notification(hooks: Hooks) -> None:
    # The clinic recreates its Square subscription: a new signature key (and Square then sends a test notification).
    first = hooks.post("square", fixture("square", "booking_created.json"))
    put_secret(hooks, "square", "sq-new-signature-key")

    again = hooks.post("square", fixture("square", "booking_updated_cancelled.json"), secret="sq-new-signature-key")

    assert first.status_code == 200
    assert (again.status_code, again.json_body["status"]) == (200, "cancelled")


class CountingCredentials(WebhookCredentials):
    """The real credentials over moto, counting how often SSM is read past the cache."""

    fresh_reads = 0

    def for_tool(self, clinic_id: str, provider: str, *, fresh: bool = False) -> ProviderCredentials:
        self.fresh_reads += fresh
        return super().for_tool(clinic_id, provider, fresh=fresh)


@pytest.mark.parametrize(
    ("headers", "reason", "fresh_reads"),
    [
        ({"x-cal-signature-256": "00" * 32}, "the signature does not match", 1),
        ({}, "the signature header is missing", 0),
    ],
    ids=["mismatch: read once more", "missing header: refused at once"],
)
def test_only_a_mismatched_signature_reads_the_secret_again(
    hooks: Hooks, headers: dict[str, str], reason: str, fresh_reads: int
) -> None:
    services = hooks.world.services
    credentials = CountingCredentials(services.ssm, services.settings.parameter_path)
    intake = WebhookIntake(
        services.clock, services.appointments, credentials, services.booking_lookups, services.transport_clock
    )
    request = WebhookRequest(body_of(fixture("calcom", "booking_created.json")), headers)

    with pytest.raises(SignatureRejected, match=reason):
        intake.receive("calcom", hooks.clinic_id, request)

    assert credentials.fresh_reads == fresh_reads
    assert stored()["Appointment"] == 0


@pytest.mark.parametrize("transport_clock", [SystemClock()], ids=["real clock, as in production"])
def test_signature_freshness_follows_the_real_clock_not_the_apps_simulated_one(hooks: Hooks) -> None:
    hooks.clock.advance(timedelta(days=2))  # the local stack's `advance P2D`
    booking = fixture("calendly", "invitee_created.json")

    # The tool signs with real time (hooks.transport_clock is the system clock here).
    fresh = hooks.post("calendly", booking)
    # A signature dated by the app's clock is two days away from real time.
    skew = hooks.clock.now() - SystemClock().now()
    simulated = hooks.post("calendly", fixture("calendly", "invitee_canceled.json"), skew=skew)

    assert (fresh.status_code, fresh.json_body["outcome"]) == (200, "booked")
    assert (simulated.status_code, simulated.json_body["error"]["message"]) == (
        401,
        "the signature's timestamp is outside the allowed window",
    )
    assert Appointment.get(hooks.clinic_id, fresh.json_body["appointment_id"]).status == "booked"


def test_a_booking_tool_event_for_a_patient_the_clinic_booked_reuses_that_patient(hooks: Hooks) -> None:
    # The clinic booked the same person through the REST API first, with its phone written nationally.
    body = {"patient": {"name": "Pat Example", "phone": "(415) 555-0101"}, "start": "2026-12-09T10:00:00-05:00"}
    headers = {"Authorization": f"Bearer {hooks.clinic_key}", "Content-Type": "application/json"}
    first = hooks.api.http.post("/v1/appointments", headers=headers, body=json.dumps(body))
    assert first.status_code == 201

    answer = hooks.post("calcom", fixture("calcom", "booking_created.json"))

    assert answer.json_body["outcome"] == "booked"
    appointment = Appointment.get(hooks.clinic_id, answer.json_body["appointment_id"])
    assert (appointment.patient_id, appointment.patient_matched) == (first.json_body["patient"]["id"], "phone")
    # The patient keeps the language it had (the attendee's Spanish is for a new patient only), and gains the
    # attendee's email.
    (patient,) = Patient.scan()
    assert (patient.language, patient.email) == ("en", "pat@example.org")
    assert texts(hooks.world)[-1] == "Riverside Family Clinic: your appointment is booked for Wed 2 Dec at 10:00 AM."
