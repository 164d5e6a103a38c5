"""What the chaos run on the local stack (docs/reliability.md) found, each pinned by a deterministic test: one AWS
call refused at the worst moment, as AWS refuses it (a 503 answered in the service's place by a botocore
`before-call` handler on the app's own client, so the call never reaches moto; everything above the wire is the
app's code), then time passing as Scheduler passes it (the local stack's emulator, retries included). Each test
checks what the patient gets: every message once, none lost, none twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.awsrequest import AWSResponse
from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.timer_support import Timers

PHONE = "+14155550143"


class RefusedOnce:
    """`client`'s `operation` answered once with AWS's 503, for the first call whose parameters `matches`."""

    def __init__(self, client: Any, operation: str, matches: Any = lambda params: True) -> None:
        self.refused: list[dict[str, Any]] = []
        self._matches = matches
        self._event = f"before-call.{client.meta.service_model.service_name}.{operation}"
        self._events = client.meta.events
        self._id = f"test-refused-once-{id(self)}"  # one per refusal: botocore keeps one handler per unique id
        self._events.register(self._event, self._answer, unique_id=self._id)

    def _answer(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.refused or not self._matches(params):
            return None
        self.refused.append(params)
        error = {"Code": "ServiceUnavailableException", "Message": "Service Unavailable"}
        return AWSResponse("", 503, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 503}}

    def end(self) -> None:
        self._events.unregister(self._event, unique_id=self._id)


def test_a_follow_up_timer_scheduler_refuses_after_the_dose_went_is_armed_by_the_retry_and_sent_once(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # GIVEN a daily 09:00 dose on Tuesday 1 December (New York), never acknowledged
    body = {
        "patient": {"name": "Pat Example", "phone": PHONE},
        "medication": "Examplamab 10 mg",
        "timing": {
            "repeat": {
                "frequency": 1,
                "period": 1,
                "periodUnit": "d",
                "timeOfDay": ["09:00:00"],
                "boundsPeriod": {"start": "2026-12-01T00:00:00-05:00", "end": "2026-12-01T23:00:00-05:00"},
            }
        },
    }
    created = api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(body))
    assert created.status_code == 201, created.json_body
    timers = Timers(aws, clock)
    dose = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    # AND Scheduler refuses the follow-up's timer once, after the dose reminder went
    refused = RefusedOnce(
        aws.services.scheduler, "CreateSchedule", lambda params: ".follow-" in str(params.get("url_path"))
    )

    # WHEN the dose fires (and fails), and Scheduler retries it a minute later
    firings = timers.go_to(dose + timedelta(minutes=2))
    refused.end()
    # AND the follow-up's time comes
    firings += timers.go_to(dose + timedelta(minutes=40))

    # THEN the dose's first fire failed and its retry succeeded; the patient got the reminder once and the follow-up
    assert len(refused.refused) == 1
    assert [
        (f.attempt, f.error is None) for f in firings if f.schedule_name.endswith(".i0.c0") and f.scheduled_time == dose
    ] == [
        (1, False),
        (2, True),
    ]
    sms = [m for m in aws.sent("sms") if m["to"] == PHONE]
    assert [m["sent_at"] for m in sms] == ["2026-12-01T14:00:00Z", "2026-12-01T14:30:00Z"]
    assert sms[1]["body"] != sms[0]["body"]  # the follow-up's words, not the reminder again


START = "2026-12-02T10:00:00-05:00"  # Wednesday 10:00 in New York: the 24 h reminder is due Tuesday 15:00 UTC
DUE = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
REMINDER = "reminder-24h.sms"


def book(api: Client, clinic: ClinicKeys) -> str:
    body = {"patient": {"name": "Pat Example", "phone": PHONE}, "start": START}
    booked = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert booked.status_code == 201, booked.json_body
    return str(booked.json_body["id"])


def dynamodb(aws: World) -> Any:
    from chalicelib.store import models

    assert models._shared_connection is not None
    return models._shared_connection.client


def writes(table: str, value: str) -> Any:
    """An UpdateItem on the `table` table that writes `value` (a status), not the claim (whose condition names
    every claimable status)."""

    def matches(params: dict[str, Any]) -> bool:
        body = str(params.get("body"))
        return f'-{table}"' in body and f'"{value}"' in body and '"claimed"' not in body

    return matches


def reminder_sms(aws: World) -> list[dict[str, Any]]:
    return [m for m in aws.sent("sms") if m["to"] == PHONE and "reminder of your appointment" in m["body"]]


def status(api: Client, clinic: ClinicKeys, appointment_id: str) -> str:
    shown = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return str({r["id"]: r for r in shown["reminders"]}[REMINDER]["status"])


def test_a_claim_left_by_a_fire_that_failed_before_sending_is_taken_over_after_its_lease_and_sent_once(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(api, clinic)
    timers = Timers(aws, clock)
    timers.go_to(DUE - timedelta(minutes=1))
    # GIVEN SNS refuses the reminder's publish once, and DynamoDB then refuses the write that releases its claim
    publish = RefusedOnce(aws.services.sns, "Publish")
    release = RefusedOnce(dynamodb(aws), "UpdateItem", writes("deliveries", "retrying"))

    # WHEN the reminder fires, fails holding its claim, and Scheduler retries it
    firings = timers.go_to(DUE + timedelta(minutes=40))
    publish.end()
    release.end()

    # THEN the retries while the claim's lease runs fail too (sending nothing), and the first after it sends, once
    assert (len(publish.refused), len(release.refused)) == (1, 1)
    mine = [(f.attempt, f.error) for f in firings if f.schedule_name == f"{appointment_id}.{REMINDER}"]
    assert mine == [(1, "UpdateError"), (2, "ClaimHeld"), (3, "ClaimHeld"), (4, None)]
    assert [m["sent_at"] for m in reminder_sms(aws)] == ["2026-12-01T15:07:00Z"]
    assert status(api, clinic, appointment_id) == "sent"


def test_a_send_whose_record_dynamodb_refuses_is_not_sent_again(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(api, clinic)
    timers = Timers(aws, clock)
    timers.go_to(DUE - timedelta(minutes=1))
    # GIVEN DynamoDB refuses the delivery's "sent" record, after SNS took the message: the send's one recording
    # transaction (delivery, reminder mark, caps note), then the record alone, which the dispatcher falls back to
    together = RefusedOnce(dynamodb(aws), "TransactWriteItems", writes("deliveries", "sent"))
    record = RefusedOnce(dynamodb(aws), "UpdateItem", writes("deliveries", "sent"))

    # WHEN the reminder fires, and the next hour passes
    firings = timers.go_to(DUE + timedelta(hours=1))
    together.end()
    record.end()

    # THEN the patient got it once, nothing was retried, and the clinic sees it sent
    assert (len(together.refused), len(record.refused)) == (1, 1)
    assert [(f.attempt, f.error) for f in firings if f.schedule_name == f"{appointment_id}.{REMINDER}"] == [(1, None)]
    assert [m["sent_at"] for m in reminder_sms(aws)] == ["2026-12-01T15:00:00Z"]
    assert status(api, clinic, appointment_id) == "sent"


def test_a_sent_mark_dynamodb_refuses_is_made_good_by_the_retry_without_a_second_message(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    appointment_id = book(api, clinic)
    timers = Timers(aws, clock)
    timers.go_to(DUE - timedelta(minutes=1))
    # GIVEN DynamoDB refuses the send's recording transaction once, and then the reminder's "sent" mark once,
    # after the delivery's record was written on its own
    together = RefusedOnce(dynamodb(aws), "TransactWriteItems", writes("reminders", "sent"))
    mark = RefusedOnce(dynamodb(aws), "UpdateItem", writes("reminders", "sent"))

    # WHEN the reminder fires (and fails), and Scheduler retries it
    firings = timers.go_to(DUE + timedelta(minutes=10))
    together.end()
    mark.end()

    # THEN the retry finds the message sent and marks the reminder so: one message, shown as sent
    assert (len(together.refused), len(mark.refused)) == (1, 1)
    mine = [(f.attempt, f.error) for f in firings if f.schedule_name == f"{appointment_id}.{REMINDER}"]
    assert mine == [(1, "UpdateError"), (2, None)]
    assert [m["sent_at"] for m in reminder_sms(aws)] == ["2026-12-01T15:00:00Z"]
    assert status(api, clinic, appointment_id) == "sent"


def test_a_confirmation_whose_claim_dynamodb_refuses_still_goes_once_and_the_booking_stands(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # GIVEN DynamoDB refuses the confirmation's claim (past botocore's retries): the claim with its usage count in
    # one transaction, then the claim alone, which the dispatcher falls back to (a transaction too, with the guards
    # of the booking's records in hand that the confirmation was checked on: `store.reads.in_hand`)
    together = RefusedOnce(dynamodb(aws), "TransactWriteItems", lambda p: '"claimed"' in str(p.get("body")))
    claim = RefusedOnce(dynamodb(aws), "TransactWriteItems", lambda p: '-deliveries"' in str(p.get("body")))
    timers = Timers(aws, clock)

    # WHEN the booking is made
    body = {"external_id": "ext-claim-1", "patient": {"name": "Pat Example", "phone": PHONE}, "start": START}
    booked = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    together.end()
    claim.end()

    # THEN it stands (201, not a 5xx that a client would repeat and that would send nothing), and the confirmation
    # goes a minute later by the notice's retry timer, once
    assert (len(together.refused), len(claim.refused)) == (1, 1)
    assert booked.status_code == 201, booked.json_body
    assert aws.sent("sms") == []
    timers.go_to(clock.now() + timedelta(minutes=30))
    confirmations = [m for m in aws.sent("sms") if m["to"] == PHONE]
    assert [m["sent_at"] for m in confirmations] == ["2026-11-30T14:01:00Z"]
    assert "reminder of your appointment" not in confirmations[0]["body"]
    again = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert again.status_code in (200, 201) and again.json_body["id"] == booked.json_body["id"]
    assert len([m for m in aws.sent("sms") if m["to"] == PHONE]) == 1
