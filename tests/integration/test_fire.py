"""The fire function as EventBridge Scheduler invokes it: with the timer's Input, the scheduled time filled in.
Each test books through the service, takes the Input Scheduler stored on moto, and fires it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.appointments.request import parse_new_appointment
from chalicelib.fire.dispatch import CLAIM_LEASE, ClaimHeld
from chalicelib.store.models import Delivery, Reminder
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import fire, timer_event


def book(world: World, clinic: ClinicKeys, **patient: Any) -> str:
    body = {
        "patient": {"name": "Pat Example", "phone": "+14155550100", **patient},
        "start": "2026-12-02T10:00:00-05:00",
    }
    request = parse_new_appointment(json.dumps(body).encode(), world.services.clock.now())
    return world.services.appointments.book(clinic.clinic_id, request).appointment.appointment_id


def hold_claim(event: dict[str, Any], now: datetime) -> None:
    """A claim as an invocation that is still running (or died) leaves it: lease running from `now`."""
    Delivery(
        f"{event['owner_id']}/{event['reminder_id']}",
        event["scheduled_time"],
        clinic_id=event["clinic_id"],
        channel="sms",
        status="claimed",
        claimed_at=now,
        lease_until=now + CLAIM_LEASE,
    ).save()


def reminder_status(appointment_id: str, reminder_id: str) -> tuple[str, str | None]:
    reminder = Reminder.get(appointment_id, reminder_id)
    return reminder.status, reminder.reason


def test_a_due_reminder_is_sent_with_the_local_time_and_recorded(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    clock.set(datetime.fromisoformat("2026-12-01T15:00:40Z"))  # Scheduler fires within its minute

    result = fire(event)

    assert result == {"result": "sent", "reason": None}
    # The reminder now ends with the patient's confirm link (a signed token of 44 characters).
    assert re.fullmatch(
        r"Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00 AM\. "
        r"Confirm: https://carecue\.example/p/[A-Za-z0-9_-]{44}",
        aws.sent("sms")[-1]["body"],
    )
    assert aws.sent("sms")[-1]["sent_at"] == "2026-12-01T15:00:40Z"
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("sent", None)
    delivery = Delivery.get(f"{appointment_id}/reminder-24h.sms", "2026-12-01T15:00:00Z")
    assert delivery.status == "sent"
    assert delivery.lateness_seconds == 40
    assert delivery.message_id == aws.sent("sms")[-1]["message_id"]
    assert delivery.expires_at is not None


def test_a_second_invocation_of_the_same_timer_sends_nothing(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-2h.sms")
    clock.set(datetime.fromisoformat("2026-12-02T13:00:00Z"))

    first, second = fire(event), fire(event)

    assert first["result"] == "sent"
    assert second["result"] == "duplicate"
    reminder_text = "Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00 AM."
    assert [m["body"].startswith(reminder_text) for m in aws.sent("sms")].count(True) == 1


def test_a_claim_held_by_a_running_invocation_blocks_a_concurrent_one(aws: World, clinic: ClinicKeys) -> None:
    # GIVEN an invocation that claimed the occurrence and has not finished (its lease still runs)
    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    hold_claim(event, aws.services.clock.now())

    # WHEN Scheduler delivers the same event again
    # THEN it sends nothing, and fails so that Scheduler tries again (the holder may die before it sends)
    with pytest.raises(ClaimHeld):
        fire(event)
    assert len(aws.sent("sms")) == 1  # the confirmation only


def test_a_claim_whose_lease_ran_out_is_taken_over(aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
    # GIVEN an invocation that claimed the occurrence and died before sending
    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    hold_claim(event, clock.now())

    # WHEN Scheduler retries after the lease
    clock.advance(CLAIM_LEASE * 2)
    result = fire(event)

    # THEN the reminder goes out once
    assert result["result"] == "sent"
    assert Delivery.get(f"{appointment_id}/reminder-24h.sms", event["scheduled_time"]).attempts == 2


def test_a_timer_armed_before_a_reschedule_sends_nothing(aws: World, clinic: ClinicKeys) -> None:
    from chalicelib.appointments.request import parse_appointment_change

    appointment_id = book(aws, clinic)
    stale_event = timer_event(aws, appointment_id, "reminder-24h.sms")
    change = parse_appointment_change(b'{"start": "2026-12-09T10:00:00-05:00"}', aws.services.clock.now())
    aws.services.appointments.change(clinic.clinic_id, appointment_id, change)
    sent_before = len(aws.sent("sms"))

    result = fire(stale_event)

    assert result == {"result": "stale", "reason": "appointment_changed"}
    assert len(aws.sent("sms")) == sent_before
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("scheduled", None)


def test_a_timer_for_a_cancelled_appointment_sends_nothing(aws: World, clinic: ClinicKeys) -> None:
    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    aws.services.appointments.cancel(clinic.clinic_id, appointment_id)
    sent_before = len(aws.sent("sms"))

    # Even a timer that escaped the disarm, for the cancelled version, must not send.
    result = fire({**event, "version": 2})

    assert result["result"] != "sent"
    assert len(aws.sent("sms")) == sent_before
    assert reminder_status(appointment_id, "reminder-24h.sms")[0] == "cancelled"


def test_a_suspended_clinic_sends_nothing(aws: World, clinic: ClinicKeys) -> None:
    from chalicelib.store.models import Clinic

    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    Clinic.get(clinic.clinic_id).update(actions=[Clinic.status.set("suspended")])

    assert fire(event) == {"result": "skipped", "reason": "clinic_suspended"}
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("skipped", "clinic_suspended")


def test_a_throttled_send_releases_the_claim_so_the_retry_sends(aws: World, clinic: ClinicKeys) -> None:
    from chalicelib.fire.dispatch import DeliveryRequest, TransientSendError

    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")
    request = DeliveryRequest(
        clinic.clinic_id, appointment_id, "reminder-24h.sms", 1, datetime.fromisoformat(event["scheduled_time"])
    )
    dispatcher = aws.services.dispatcher

    with Stubber(aws.services.sns) as sns:
        sns.add_client_error("publish", service_error_code="Throttling", http_status_code=400)
        with pytest.raises(TransientSendError):
            dispatcher.deliver(request)
    assert Delivery.get(request.reminder_key, event["scheduled_time"]).status == "retrying"

    assert dispatcher.deliver(request).result == "sent"
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("sent", None)


def test_a_rejected_number_fails_the_reminder_for_good(aws: World, clinic: ClinicKeys) -> None:
    appointment_id = book(aws, clinic)
    event = timer_event(aws, appointment_id, "reminder-24h.sms")

    with Stubber(aws.services.sns) as sns:
        sns.add_client_error("publish", service_error_code="InvalidParameter", http_status_code=400)
        result = fire(event)
    again = fire(event)

    assert result == {"result": "failed", "reason": "sms_InvalidParameter"}
    assert again["result"] == "stale"
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("failed", "sms_InvalidParameter")


def test_a_malformed_event_is_rejected_without_sending(aws: World, clinic: ClinicKeys) -> None:
    assert fire({"owner_id": "apt_x"}) == {"result": "rejected"}
    assert aws.sent() == []


def test_a_reminder_timer_armed_before_the_envelope_still_fires(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(aws, clinic)
    new = timer_event(aws, appointment_id, "reminder-24h.sms")
    # What reminder timers carried before the envelope (no kind, no owner type), read for one release.
    old = {
        "clinic_id": clinic.clinic_id,
        "owner_id": appointment_id,
        "reminder_id": "reminder-24h.sms",
        "version": 1,
        "patient_id": new["patient_id"],
        "scheduled_time": "2026-12-01T15:00:00Z",
    }
    # Today's also carry the planned address's contact key, a hint for the first round trip (arm/envelope.py).
    assert {**old, "kind": "reminder", "owner_type": "appointment", "contact": "+14155550100"} == new
    clock.set(datetime.fromisoformat("2026-12-01T15:00:40Z"))

    assert fire(old) == {"result": "sent", "reason": None}
    assert aws.sent("sms")[-1]["body"].startswith(
        "Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00 AM. Confirm: "
    )
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("sent", None)


def test_a_timer_naming_another_owner_type_than_its_reminder_sends_nothing(aws: World, clinic: ClinicKeys) -> None:
    appointment_id = book(aws, clinic)
    event = {**timer_event(aws, appointment_id, "reminder-24h.sms"), "owner_type": "regimen"}
    before = len(aws.sent())

    assert fire(event) == {"result": "stale", "reason": "owner_mismatch"}
    assert len(aws.sent()) == before
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("scheduled", None)


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "reminder", "owner_type": "appointment", "clinic_id": "cln_1", "owner_id": "apt_x", "version": 1},
        {"clinic_id": "cln_1", "owner_id": "apt_x", "reminder_id": "reminder-2h.sms", "version": "1"},
        {"kind": "dose", "owner_type": "regimen", "clinic_id": "cln_1", "owner_id": "rgm_x", "instruction": "0"},
        {"kind": "dose", "clinic_id": "cln_1", "regimen_id": "rgm_x", "instruction": 0, "version": None},
        {"kind": "watch", "owner_type": "appointment", "clinic_id": "cln_1", "owner_id": "Dr. Rivera"},
        {"kind": "wait-watch", "clinic_id": "cln_1", "provider": 3, "scheduled_time": "2026-12-01T15:00:00Z"},
        {"kind": "page", "owner_type": "appointment", "clinic_id": "cln_1"},
    ],
    ids=["reminder", "old-reminder", "dose", "old-dose", "watch", "old-watch", "unknown-kind"],
)
def test_a_malformed_event_of_any_kind_is_rejected_and_logged_without_its_contents(
    aws: World, clinic: ClinicKeys, event: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # A patient's number where the time should be: a corrupt event may hold anything, and none of it is logged.
    event = {"scheduled_time": "+14155550100", **event, "patient_id": "pat_5f2c9e01"}

    assert fire(event) == {"result": "rejected"}
    assert aws.sent() == []
    (record,) = [r for r in caplog.records if r.getMessage() == "timer event rejected"]
    assert record.levelname == "ERROR" and record.__dict__["problem"]  # it says what is wrong
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "+14155550100" not in logged and "pat_5f2c9e01" not in logged and "Rivera" not in logged
