"""Clinic settings, patient preferences, the fire-time checks they add, and two-way SMS, through the API, the
fire function and the inbound-SMS handler as Lambda runs them, on an in-process moto AWS."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.store.models import Clinic, Delivery, Reminder
from infra.local.clock import SimulatedClock
from infra.local.stack import sns_event
from tests.conftest import ClinicKeys, World
from tests.replan_support import run_replan_jobs
from tests.timer_support import armed_expressions as armed
from tests.timer_support import fire_stored as fire

PHONE = "+14155550101"
EMAIL = "pat@example.org"


def book(api: Client, clinic: ClinicKeys, start: str = "2026-12-02T10:00:00-05:00", **patient: Any) -> dict[str, Any]:
    body = {"patient": {"name": "Pat Example", "phone": PHONE, "email": EMAIL, **patient}, "start": start}
    response = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(body))
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def put(api: Client, clinic: ClinicKeys, path: str, body: Any) -> Any:
    return api.http.put(path, headers=clinic.headers, body=json.dumps(body))


def reminders(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, dict[str, Any]]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return {r["id"]: r for r in body["reminders"]}


def text_in(world: World, body: str, message_id: str, sender: str = PHONE) -> None:
    event = sns_event(sender, None, body, message_id, world.services.clock.now())
    with Client(app, stage_name="local") as client:
        client.lambda_.invoke("inbound_sms", event)


# --- clinic settings ---------------------------------------------------------------------------------------


def test_a_new_clinic_reads_the_default_policy(api: Client, clinic: ClinicKeys) -> None:
    response = api.http.get("/v1/clinic", headers=clinic.headers)

    assert response.status_code == 200
    body = response.json_body
    assert body["timezone"] == "America/New_York"
    assert body["reminders"] == [{"before": "P1D", "channel": "order"}, {"before": "PT2H", "channel": "order"}]
    assert body["channel_order"] == ["sms", "whatsapp", "messenger", "email"]
    assert body["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert body["frequency_caps"] is False
    assert body["sms_segment_limit"] == 2


def test_invalid_settings_are_a_400_naming_each_field_and_nothing_is_stored(api: Client, clinic: ClinicKeys) -> None:
    response = put(api, clinic, "/v1/clinic", {"timezone": "Mars/Base", "reminders": [{"before": "soon"}]})

    assert response.status_code == 400
    fields = [f["field"] for f in response.json_body["error"]["fields"]]
    assert fields == ["timezone", "reminders[0].before"]
    assert Clinic.get(clinic.clinic_id).policy is None


def test_a_put_names_every_wrong_field_at_once(api: Client, clinic: ClinicKeys) -> None:
    response = put(
        api,
        clinic,
        "/v1/clinic",
        {
            "timezone": "Mars/Base",
            "reminders": [{"before": "soon", "channel": "pigeon"}, {"days_before": -1, "at": "25:99"}],
            "quiet_hours": {"start": "21:00"},
            "frequency_caps": "yes",
            "sms_segment_limit": 0,
            "reply_to": "desk@",
            "contact_phone": "garbage",
            "booking_url": "http://example.org/book",
            "medication": {"refill_days": 0},
            "colour": "blue",
        },
    )

    assert response.status_code == 400
    fields = [f["field"] for f in response.json_body["error"]["fields"]]
    assert fields == [
        "timezone",
        "colour",
        "reminders[0].channel",
        "reminders[0].before",
        "reminders[1].days_before",
        "reminders[1].at",
        "quiet_hours",
        "frequency_caps",
        "sms_segment_limit",
        "reply_to",
        "contact_phone",
        "booking_url",
        "medication.refill_days",
    ]
    assert Clinic.get(clinic.clinic_id).policy is None


def test_the_clinic_contact_phone_is_read_in_its_country_and_stored_in_e164(api: Client, clinic: ClinicKeys) -> None:
    accepted = put(api, clinic, "/v1/clinic", {"contact_phone": "(415) 555-0199"})
    assert accepted.status_code == 200, accepted.json_body
    assert accepted.json_body["contact_phone"] == "+14155550199"

    moved = put(api, clinic, "/v1/clinic", {"timezone": "Europe/Berlin", "contact_phone": "030 1234567"})
    assert moved.status_code == 200, moved.json_body
    assert moved.json_body["contact_phone"] == "+49301234567"


def test_the_clinic_contact_is_read_as_a_patient_contact_is(api: Client, clinic: ClinicKeys) -> None:
    # A number that only looks like E.164 (no such country code) and an address without a domain are refused,
    # as they are for a patient: one reading of a phone number and an email address, not a regex each.
    response = put(api, clinic, "/v1/clinic", {"contact_phone": "+99912345678", "reply_to": "desk@"})

    assert response.status_code == 400
    assert response.json_body["error"]["fields"] == [
        {"field": "reply_to", "problem": "is not a valid email address"},
        {"field": "contact_phone", "problem": "is not a valid phone number"},
    ]
    assert Clinic.get(clinic.clinic_id).policy is None

    accepted = put(api, clinic, "/v1/clinic", {"contact_phone": "+14155550199", "reply_to": "Desk@Example.org"})
    assert accepted.status_code == 200, accepted.json_body
    assert accepted.json_body["contact_phone"] == "+14155550199"
    assert accepted.json_body["reply_to"] == "Desk@example.org"


def test_changing_the_schedule_replans_upcoming_reminders_and_their_timers(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    # GIVEN an appointment on Wed 2 Dec at 10:00 New York with the default 24 h and 2 h reminders
    appointment_id = book(api, clinic)["id"]

    # WHEN the clinic switches to one SMS the day before at 18:00 local, and an email 2 hours before
    rules = [{"days_before": 1, "at": "18:00", "channel": "sms"}, {"before": "PT2H", "channel": "email"}]
    response = put(api, clinic, "/v1/clinic", {"reminders": rules})

    # THEN once the queued re-plan has run, the appointment's reminders follow the new schedule, and only their
    # timers are armed
    assert response.status_code == 200, response.json_body
    assert response.json_body["replanned_appointments"] == 1
    run_replan_jobs(aws)
    planned = reminders(api, clinic, appointment_id)
    assert planned["reminder-d1-1800.sms"]["send_at"] == "2026-12-01T23:00:00Z"  # 18:00 EST
    assert planned["reminder-d1-1800.sms"]["status"] == "scheduled"
    assert planned["reminder-2h.email"]["status"] == "scheduled"
    assert (planned["reminder-24h.sms"]["status"], planned["reminder-24h.sms"]["reason"]) == (
        "cancelled",
        "no_longer_planned",
    )
    assert planned["reminder-2h.sms"]["status"] == "cancelled"
    assert armed(aws) == {
        f"{appointment_id}.reminder-d1-1800.sms": "at(2026-12-01T23:00:00)",
        f"{appointment_id}.reminder-2h.email": "at(2026-12-02T13:00:00)",
    }
    assert api.http.get("/v1/clinic", headers=clinic.headers).json_body["reminders"] == [
        {"days_before": 1, "at": "18:00", "channel": "sms"},
        {"before": "PT2H", "channel": "email"},
    ]


def test_a_bad_hand_edit_in_the_console_is_logged_and_the_defaults_apply(
    api: Client, aws: World, clinic: ClinicKeys, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an admin typed broken JSON into the clinic's policy, straight into the table
    table = f"{aws.services.settings.resource_prefix}-clinics"
    dynamodb = aws.session.client("dynamodb")
    for bad in ({"S": '{"reminders": [{"before": "PT2H"'}, {"M": {"quiet_hours": {"S": "never"}}}):
        dynamodb.update_item(
            TableName=table,
            Key={"clinic_id": {"S": clinic.clinic_id}},
            UpdateExpression="SET #p = :p",
            ExpressionAttributeNames={"#p": "policy"},
            ExpressionAttributeValues={":p": bad},
        )
        caplog.clear()

        # WHEN the clinic is read and an appointment is booked
        settings = api.http.get("/v1/clinic", headers=clinic.headers)
        booked = book(api, clinic)

        # THEN the defaults apply, nothing crashes, and the log names the item but not its content
        assert settings.status_code == 200
        assert settings.json_body["reminders"][0] == {"before": "P1D", "channel": "order"}
        assert {r["id"] for r in booked["reminders"]} >= {"reminder-24h.sms", "reminder-2h.sms"}
        invalid = [r for r in caplog.records if r.getMessage() == "clinic policy invalid, using defaults"]
        assert invalid, "the bad edit was not logged"
        assert (getattr(invalid[0], "clinic_id", None), getattr(invalid[0], "table", None)) == (
            clinic.clinic_id,
            "clinics",
        )
        assert "never" not in caplog.text and "PT2H" not in caplog.text


def test_a_template_over_the_segment_limit_is_rejected_when_saved(api: Client, clinic: ClinicKeys) -> None:
    template = "{clinic}: " + "do not forget your appointment " * 10 + "{when}"
    response = put(api, clinic, "/v1/clinic", {"templates": {"en": {"reminder": template}}})

    assert response.status_code == 400
    (problem,) = response.json_body["error"]["fields"]
    assert problem["field"] == "templates.en.reminder"
    assert "limit is 2" in problem["problem"]


# --- patients and fire-time checks -------------------------------------------------------------------------


def test_patient_preferences_and_opt_outs_are_read_and_written(api: Client, clinic: ClinicKeys) -> None:
    patient_id = book(api, clinic)["patient"]["id"]

    response = put(
        api,
        clinic,
        f"/v1/patients/{patient_id}",
        {"preferred_channel": "email", "language": "es", "timezone": "Europe/Madrid", "opt_out": {"sms": True}},
    )

    assert response.status_code == 200, response.json_body
    body = api.http.get(f"/v1/patients/{patient_id}", headers=clinic.headers).json_body
    assert (body["preferred_channel"], body["language"], body["timezone"]) == ("email", "es", "Europe/Madrid")
    assert body["opt_out"] == {
        "sms": {"at": "2026-11-30T14:00:00Z", "source": "api"},
        "email": None,
        "whatsapp": None,
        "messenger": None,
    }
    bad = put(api, clinic, f"/v1/patients/{patient_id}", {"preferred_channel": "fax", "language": "Spanish!"})
    assert [f["field"] for f in bad.json_body["error"]["fields"]] == ["preferred_channel", "language"]
    assert api.http.get("/v1/patients/pat_nobody", headers=clinic.headers).status_code == 404


def test_opted_out_of_sms_gets_the_reminder_by_email_instead(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # The reminder was planned for SMS, the first channel of the order; the opt-out re-plans it on the next one.
    booked = book(api, clinic)
    put(api, clinic, f"/v1/patients/{booked['patient']['id']}", {"opt_out": {"sms": True}})
    clock.set(datetime.fromisoformat("2026-12-01T15:00:20Z"))

    planned = reminders(api, clinic, booked["id"])
    assert (planned["reminder-24h.sms"]["status"], planned["reminder-24h.email"]["status"]) == (
        "cancelled",
        "scheduled",
    )
    assert fire(aws, f"{booked['id']}.reminder-24h.email")["result"] == "sent"
    assert fire(aws, f"{booked['id']}.reminder-24h.email")["result"] == "duplicate"
    sent = [m for m in aws.sent() if m["sent_at"] >= "2026-12-01"]
    assert [(m["channel"], m["to"]) for m in sent] == [("email", EMAIL)]
    assert "Wed 2 Dec at 10:00 AM" in sent[0]["subject"]


def test_opted_out_of_both_channels_gets_nothing(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book(api, clinic)
    put(api, clinic, f"/v1/patients/{booked['patient']['id']}", {"opt_out": {"sms": True, "email": True}})
    clock.set(datetime.fromisoformat("2026-12-01T15:00:20Z"))

    assert fire(aws, f"{booked['id']}.reminder-24h.sms") == {"result": "skipped", "reason": "opted_out_sms"}
    assert "reminder-24h.email" not in reminders(api, clinic, booked["id"])
    assert [m for m in aws.sent() if m["sent_at"] >= "2026-12-01"] == []


def test_a_late_timer_in_quiet_hours_is_deferred_to_their_end(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # GIVEN the 24 h reminder of a Wed 10:00 appointment was due Tue 10:00, and its timer only fires at 21:30
    booked = book(api, clinic)
    clock.set(datetime.fromisoformat("2026-12-02T02:30:00Z"))  # Tue 21:30 New York

    # WHEN it fires
    result = fire(aws, f"{booked['id']}.reminder-24h.sms")

    # THEN nothing is sent now; it waits for 08:00 under a timer of its own
    assert result == {"result": "deferred", "reason": "quiet_hours"}
    assert reminders(api, clinic, booked["id"])["reminder-24h.sms"]["send_at"] == "2026-12-02T13:00:00Z"
    assert armed(aws)[f"{booked['id']}.reminder-24h.sms.quiet"] == "at(2026-12-02T13:00:00)"
    assert len(aws.sent("sms")) == 1  # the confirmation only
    clock.set(datetime.fromisoformat("2026-12-02T13:00:10Z"))
    assert fire(aws, f"{booked['id']}.reminder-24h.sms.quiet")["result"] == "sent"
    assert aws.sent("sms")[-1]["sent_at"] == "2026-12-02T13:00:10Z"


def test_the_frequency_caps_skip_a_second_sms_within_a_day(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    # "both": every reminder also by email, which the caps do not hold back
    put(api, clinic, "/v1/clinic", {"frequency_caps": True, "reminders": [{"before": "P1D", "channel": "both"}]})
    # Booked Monday 09:00 for Tuesday 10:00: the confirmation SMS and the 24 h reminder are an hour apart.
    booked = book(api, clinic, start="2026-12-01T10:00:00-05:00")
    clock.set(datetime.fromisoformat("2026-11-30T15:00:05Z"))

    assert fire(aws, f"{booked['id']}.reminder-24h.sms") == {"result": "skipped", "reason": "cap_daily"}
    assert fire(aws, f"{booked['id']}.reminder-24h.email")["result"] == "sent"  # the caps are for SMS


def test_each_sms_records_its_encoding_cost_in_segments(api: Client, clinic: ClinicKeys) -> None:
    booked = book(api, clinic)

    (delivery,) = list(Delivery.query(f"{booked['id']}/confirmation.sms"))
    assert delivery.sms_segments == 1


# --- two-way SMS -------------------------------------------------------------------------------------------


def test_stop_opts_out_with_one_reply_and_then_the_reminder_goes_by_email(
    api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    booked = book(api, clinic)

    text_in(aws, " Stop. ", "in-1")
    text_in(aws, " Stop. ", "in-1")  # SNS delivered it twice

    replies = [m for m in aws.sent("sms") if "no more texts" in m["body"]]
    assert [m["body"] for m in replies] == [
        "Riverside Family Clinic: you will get no more texts. Reply START to get them again."
    ]
    patient = api.http.get(f"/v1/patients/{booked['patient']['id']}", headers=clinic.headers).json_body
    assert patient["opt_out"]["sms"]["source"] == "sms_reply"
    clock.set(datetime.fromisoformat("2026-12-01T15:00:20Z"))
    assert fire(aws, f"{booked['id']}.reminder-24h.sms")["result"] == "sent"
    assert aws.sent()[-1]["channel"] == "email"  # the next channel of the order, once

    text_in(aws, "start", "in-2")
    assert "texts again" in aws.sent("sms")[-1]["body"]
    assert (
        api.http.get(f"/v1/patients/{booked['patient']['id']}", headers=clinic.headers).json_body["opt_out"]["sms"]
        is None
    )


def test_help_answers_with_the_clinic_and_its_contact(api: Client, aws: World, clinic: ClinicKeys) -> None:
    put(api, clinic, "/v1/clinic", {"contact_phone": "+14155550199"})
    book(api, clinic)

    text_in(aws, "HELP", "in-3")

    assert aws.sent("sms")[-1]["body"] == (
        "Riverside Family Clinic appointment reminders. Call +14155550199. Reply C to confirm, STOP to stop texts."
    )


def test_c_confirms_the_next_appointment_and_the_api_shows_it(api: Client, aws: World, clinic: ClinicKeys) -> None:
    later = book(api, clinic, start="2026-12-09T10:00:00-05:00")
    sooner = book(api, clinic, start="2026-12-02T10:00:00-05:00")

    text_in(aws, "c", "in-4")

    assert aws.sent("sms")[-1]["body"] == (
        "Riverside Family Clinic: thank you, your appointment on Wed 2 Dec at 10:00 AM is confirmed."
    )
    confirmed = api.http.get(f"/v1/appointments/{sooner['id']}", headers=clinic.headers).json_body
    assert (confirmed["confirmed_at"], confirmed["confirmed_via"]) == ("2026-11-30T14:00:00Z", "sms")
    assert api.http.get(f"/v1/appointments/{later['id']}", headers=clinic.headers).json_body["confirmed_at"] is None


def test_anything_else_goes_to_the_inbox_and_is_answered_once_a_day(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    book(api, clinic)
    before = len(aws.sent("sms"))

    text_in(aws, "Can I come at 3?", "in-5")
    text_in(aws, "Hello??", "in-6")

    answers = aws.sent("sms")[before:]
    assert [a["body"] for a in answers] == [
        "Riverside Family Clinic: thank you, the clinic has your message and replies during its hours: 8:00 AM to "
        "6:00 PM. If it is urgent, call emergency services."
    ]
    (thread,) = api.http.get("/v1/conversations", headers=clinic.headers).json_body["conversations"]
    assert thread["unread"] == 2


def test_a_reminder_status_is_unchanged_by_an_unrelated_reply(api: Client, aws: World, clinic: ClinicKeys) -> None:
    booked = book(api, clinic)
    text_in(aws, "thanks", "in-7")

    assert Reminder.get(booked["id"], "reminder-24h.sms").status == "scheduled"


def test_a_patients_new_time_zone_moves_local_clock_reminders_and_the_local_time(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    put(api, clinic, "/v1/clinic", {"reminders": [{"days_before": 1, "at": "18:00", "channel": "sms"}]})
    booked = book(api, clinic)

    put(api, clinic, f"/v1/patients/{booked['patient']['id']}", {"timezone": "America/Los_Angeles"})

    shown = api.http.get(f"/v1/appointments/{booked['id']}", headers=clinic.headers).json_body
    assert (shown["timezone"], shown["start_local"]) == ("America/Los_Angeles", "2026-12-02T07:00:00-08:00")
    assert {r["id"]: r["send_at"] for r in shown["reminders"] if r["status"] == "scheduled"} == {
        "reminder-d1-1800.sms": "2026-12-02T02:00:00Z"  # 18:00 in Los Angeles on Tue 1 Dec
    }
