"""Medication regimens through the REST API, with the local Scheduler emulator firing the timers the app
armed, across the spring-forward change in New York (14 March 2027): dose texts at 08:00 and 20:00 local,
taken by link and by reply, a missed dose's follow-up and caregiver alert, and the adherence that results."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from app import fire
from chalicelib.store.models import Dose, Patient, Regimen
from infra.local.clock import SimulatedClock
from infra.local.stack import sns_event
from tests.conftest import ClinicKeys, World
from tests.timer_support import Timers

NEW_YORK = ZoneInfo("America/New_York")
PHONE = "+14155550140"
CAREGIVER = "+14155550141"


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


class Week:
    """The patient's days: the API as the clinic uses it, and time moving with every timer firing."""

    def __init__(self, api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> None:
        self.api, self.aws, self.clinic, self.clock = api, aws, clinic, clock
        self.timers = Timers(aws, clock)
        self.results = self.timers.results

    def go_to(self, moment: datetime) -> None:
        self.timers.go_to(moment)

    def post(self, path: str, body: Any) -> Any:
        raw = body if isinstance(body, str) else json.dumps(body)
        return self.api.http.post(path, headers=self.clinic.headers, body=raw)

    def get(self, path: str) -> Any:
        return self.api.http.get(path, headers=self.clinic.headers)

    def texts(self, to: str) -> list[tuple[str, str]]:
        """(local send time, text) of every SMS to `to`."""
        return [
            (f"{datetime.fromisoformat(m['sent_at']).astimezone(NEW_YORK):%a %d %H:%M}", m["body"])
            for m in self.aws.sent("sms")
            if m["to"] == to
        ]

    def text_in(self, body: str, message_id: str) -> None:
        event = sns_event(PHONE, None, body, message_id, self.clock.now())
        self.api.lambda_.invoke("inbound_sms", event)


@pytest.fixture
def week(api: Client, aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> Week:
    clock.set(ny("2027-03-12T12:00"))
    return Week(api, aws, clinic, clock)


def twice_daily(**extra: Any) -> dict[str, Any]:
    return {
        "patient": {"name": "Pat Example", "phone": PHONE},
        "medication": "Examplamab 10 mg",
        "dose": "1 tablet",
        "timing": {
            "repeat": {
                "frequency": 2,
                "period": 1,
                "periodUnit": "d",
                "timeOfDay": ["08:00:00", "20:00:00"],
                "boundsPeriod": {"start": "2027-03-13T00:00:00-05:00", "end": "2027-03-15T23:59:00-04:00"},
            }
        },
        "caregiver": {"first_name": "Pat", "phone": CAREGIVER},
        **extra,
    }


def test_a_twice_daily_regimen_across_spring_forward_taken_by_link_and_reply_and_one_missed(week: Week) -> None:
    # GIVEN a twice-daily regimen from Saturday to Monday, the clocks going forward early on Sunday
    created = week.post("/v1/regimens", twice_daily())
    assert created.status_code == 201, created.json_body
    regimen = created.json_body
    assert regimen["instructions"][0]["schedule"] == {"cron": ["cron(0 8,20 * * ? *)"], "timezone": "America/New_York"}
    assert regimen["next_doses"] == [
        "2027-03-13T08:00:00-05:00",
        "2027-03-13T20:00:00-05:00",
        "2027-03-14T08:00:00-04:00",
        "2027-03-14T20:00:00-04:00",
        "2027-03-15T08:00:00-04:00",
    ]
    [timer] = regimen["timers"]
    stored = week.aws.services.scheduler.get_schedule(
        Name=timer["name"], GroupName=week.aws.services.settings.schedule_group
    )
    assert stored["ScheduleExpressionTimezone"] == "America/New_York"
    assert stored["EndDate"] == datetime.fromisoformat("2027-03-15T20:01:00-04:00")

    # WHEN Saturday's 08:00 dose is texted and taken by its link
    week.go_to(ny("2027-03-13T08:10"))
    [(sent_at, body)] = week.texts(PHONE)
    assert sent_at == "Sat 13 08:00"
    assert "time for your 8:00 AM medicine" in body
    assert "Examplamab" not in body  # no medication name unless the clinic opts in
    link = re.search(r"https://carecue\.example(/d/[A-Za-z0-9_-]+)", body)
    assert link is not None
    assert "I have taken it" in week.api.http.get(link[1]).body.decode()
    taken = week.api.http.post(link[1], headers={"Content-Type": "application/x-www-form-urlencoded"}, body="")
    assert taken.status_code == 200 and "8:00 AM medicine is marked as taken" in taken.body.decode()

    # AND the 20:00 dose is taken by replying "1"
    week.go_to(ny("2027-03-13T20:05"))
    week.text_in("1", "in-1")

    # AND Sunday 08:00 (now daylight time) is never acknowledged
    week.go_to(ny("2027-03-14T09:30"))

    # THEN the patient got each dose at 08:00 and 20:00 local, the reply's answer, one follow-up at 08:30
    texts = week.texts(PHONE)
    assert [t for t, _ in texts] == ["Sat 13 08:00", "Sat 13 20:00", "Sat 13 20:05", "Sun 14 08:00", "Sun 14 08:30"]
    assert "time for your 8:00 PM medicine" in texts[1][1]
    assert "your 8:00 PM medicine is marked as taken" in texts[2][1]
    assert "time for your 8:00 AM medicine" in texts[3][1]
    assert "have you taken your 8:00 AM medicine?" in texts[4][1]
    # AND the caregiver heard at 09:00, with the first name and the dose time only
    assert week.texts(CAREGIVER) == [
        ("Sun 14 09:00", "Riverside Family Clinic: Pat has not confirmed the 8:00 AM dose on Sun 14 Mar.")
    ]
    # AND no follow-up or caregiver alert went out for the doses taken
    adherence = week.get(
        f"/v1/regimens/{regimen['id']}/adherence?from=2027-03-13T00:00:00-05:00&to=2027-03-14T12:00:00-04:00"
    )
    assert adherence.status_code == 200
    assert [(d["due"], d["status"], d["taken_via"]) for d in adherence.json_body["doses"]] == [
        ("2027-03-13T08:00:00-05:00", "taken", "link"),
        ("2027-03-13T20:00:00-05:00", "taken", "sms"),
        ("2027-03-14T08:00:00-04:00", "missed", None),
    ]
    assert adherence.json_body["taken_percent"] == 66.7


def test_a_dose_timer_that_fires_twice_texts_once(week: Week) -> None:
    regimen = week.post("/v1/regimens", twice_daily(caregiver=None)).json_body
    week.go_to(ny("2027-03-13T08:01"))
    dose_firing = next(r for r in week.results if r["result"] == "sent")
    assert dose_firing == {"result": "sent", "reason": None}
    event = {
        "kind": "dose",
        "clinic_id": week.clinic.clinic_id,
        "regimen_id": regimen["id"],
        "instruction": 0,
        "version": 1,
        "scheduled_time": "2027-03-13T13:00:00Z",
    }
    assert fire(event, None)["result"] == "duplicate"
    assert len(week.texts(PHONE)) == 1
    assert sum(1 for _ in Dose.query(regimen["id"])) == 1


def test_unsupported_timing_is_400_naming_it_and_nothing_is_stored(week: Week) -> None:
    body = twice_daily()
    body["timing"]["repeat"]["boundsRange"] = {"low": {"value": 1, "unit": "d"}}
    body["timing"]["repeat"]["periodUnit"] = "mo"
    response = week.post("/v1/regimens", body)
    assert response.status_code == 400
    fields = [f["field"] for f in response.json_body["error"]["fields"]]
    assert fields == ["timing.repeat.boundsRange", "timing.repeat.periodUnit"]
    assert sum(1 for _ in Regimen.scan()) == 0
    assert sum(1 for _ in Patient.scan()) == 0
    assert (
        week.aws.services.scheduler.list_schedules(GroupName=week.aws.services.settings.schedule_group)["Schedules"]
        == []
    )


def test_a_medication_request_taper_chains_and_pause_resume_stop_move_the_timers(week: Week) -> None:
    # GIVEN a FHIR MedicationRequest: every 36 hours for 3 days, then once a day at bedtime for 2 days
    patient = week.post("/v1/regimens", twice_daily()).json_body["patient_id"]
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "medicationCodeableConcept": {"text": "Examplamab 5 mg"},
        "dosageInstruction": [
            {
                "sequence": 1,
                "text": "1 tablet every 36 hours",
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 36,
                        "periodUnit": "h",
                        "boundsPeriod": {"start": "2027-03-13T09:00:00-05:00", "end": "2027-03-16T09:00:00-04:00"},
                    }
                },
            },
            {
                "sequence": 2,
                "text": "1 tablet twice daily",  # disagrees with its timing: the timing is followed
                "timing": {"repeat": {"when": ["HS"], "boundsDuration": {"value": 2, "unit": "d"}}},
            },
        ],
    }
    created = week.post("/v1/regimens", request)
    assert created.status_code == 201, created.json_body
    taper = created.json_body
    assert taper["instructions"][0]["schedule"] == {"chained": True}
    assert taper["notes"] == [
        {
            "field": "dosageInstruction[1].text",
            "note": "says 2 doses a day; the structured timing (1 a day) is followed",
        }
    ]
    assert taper["instructions"][1]["schedule"]["cron"] == ["cron(0 22 * * ? *)"]
    assert taper["instructions"][1]["start"] == "2027-03-16T13:00:00+00:00"  # the next step starts as the first ends
    assert [t["expression"] for t in taper["timers"]] == ["at(2027-03-13T14:00:00)", "cron(0 22 * * ? *)"]
    assert taper["next_doses"][:3] == [
        "2027-03-13T09:00:00-05:00",
        "2027-03-14T22:00:00-04:00",  # 36 elapsed hours later: 22:00 after the clocks went forward
        "2027-03-16T22:00:00-04:00",  # the first step's next 36 h would pass its end: bedtime doses follow
    ]

    # WHEN the first chained dose fires, it arms the next link of the chain, 36 hours on
    week.go_to(ny("2027-03-13T09:05"))
    assert "time for your 9:00 AM medicine" in week.texts(PHONE)[-1][1]
    shown = week.get(f"/v1/regimens/{taper['id']}").json_body
    names = {t["name"] for t in shown["timers"]}
    assert names == {f"{taper['id']}.i0.202703150200", f"{taper['id']}.i1.c0"}

    # AND when it is paused, nothing stays armed; when resumed, the timers come back for the new version
    group = week.aws.services.settings.schedule_group
    paused = week.api.http.patch(
        f"/v1/regimens/{taper['id']}", headers=week.clinic.headers, body=json.dumps({"status": "paused"})
    )
    assert paused.json_body["status"] == "paused" and paused.json_body["next_doses"] == []
    listed = {s["Name"] for s in week.aws.services.scheduler.list_schedules(GroupName=group)["Schedules"]}
    assert not names & listed
    resumed = week.api.http.patch(
        f"/v1/regimens/{taper['id']}", headers=week.clinic.headers, body=json.dumps({"status": "active"})
    )
    assert resumed.json_body["version"] == 3 and len(resumed.json_body["timers"]) == 2
    stopped = week.api.http.patch(
        f"/v1/regimens/{taper['id']}", headers=week.clinic.headers, body=json.dumps({"status": "stopped"})
    )
    assert stopped.json_body["timers"] == []
    again = week.api.http.patch(
        f"/v1/regimens/{taper['id']}", headers=week.clinic.headers, body=json.dumps({"status": "active"})
    )
    assert again.status_code == 409


def test_names_when_the_clinic_opts_in_snooze_re_reminds_and_a_small_supply_asks_for_a_refill(week: Week) -> None:
    # GIVEN a clinic that puts medication names in texts and a regimen with 5 doses on hand
    settings = week.api.http.put(
        "/v1/clinic",
        headers=week.clinic.headers,
        body=json.dumps({"medication": {"names_in_sms": True, "snooze_minutes": 20}}),
    )
    assert settings.status_code == 200, settings.json_body
    regimen = week.post("/v1/regimens", twice_daily(caregiver=None, supply=5))
    assert regimen.status_code == 201, regimen.json_body

    # WHEN the first dose is texted and the patient replies SNOOZE
    week.go_to(ny("2027-03-13T08:02"))
    week.text_in("snooze", "in-2")
    week.go_to(ny("2027-03-13T08:25"))

    # THEN the dose text names the medication, the refill reminder follows (4 left, 6 due in 3 days),
    # and the snoozed dose comes back 20 minutes after the reply, before the 08:30 follow-up
    texts = week.texts(PHONE)
    assert [t for t, _ in texts] == ["Sat 13 08:00", "Sat 13 08:00", "Sat 13 08:02", "Sat 13 08:22"]
    assert "time for your 8:00 AM Examplamab 10 mg (1 tablet)" in texts[0][1]
    assert "runs out in about 3 days. Please ask for a refill." in texts[1][1]
    assert "we will remind you again at 8:22 AM" in texts[2][1]
    assert "time for your 8:00 AM Examplamab 10 mg" in texts[3][1]


def test_a_bad_medication_setting_is_named(week: Week) -> None:
    response = week.api.http.put(
        "/v1/clinic", headers=week.clinic.headers, body=json.dumps({"medication": {"when_times": {"MORN": "8am"}}})
    )
    assert response.status_code == 400
    assert [f["field"] for f in response.json_body["error"]["fields"]] == ["medication.when_times.MORN"]


def test_the_same_regimen_sent_twice_with_its_own_id_is_created_once(week: Week) -> None:
    first = week.post("/v1/regimens", twice_daily(external_id="ehr-rx-1001"))
    again = week.post("/v1/regimens", twice_daily(external_id="ehr-rx-1001"))
    other = week.post("/v1/regimens", twice_daily(external_id="ehr-rx-1002"))

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json_body["id"] == first.json_body["id"] != other.json_body["id"]
    assert sum(1 for _ in Regimen.scan()) == 2
    group = week.aws.services.settings.schedule_group
    armed = [s["Name"] for s in week.aws.services.scheduler.list_schedules(GroupName=group)["Schedules"]]
    assert sorted(t["name"] for t in first.json_body["timers"] + other.json_body["timers"]) == sorted(armed)


def test_a_follow_up_timer_armed_before_the_envelope_still_names_its_dose(week: Week) -> None:
    regimen = week.post("/v1/regimens", twice_daily(caregiver=None)).json_body
    week.go_to(ny("2027-03-13T08:01"))
    name, group = f"{regimen['id']}.follow-202703131300.sms", week.aws.services.settings.schedule_group
    armed = json.loads(week.aws.services.scheduler.get_schedule(Name=name, GroupName=group)["Target"]["Input"])
    assert (armed["kind"], armed["owner_type"], armed["dose_time"]) == ("reminder", "regimen", "2027-03-13T13:00:00Z")
    week.aws.services.scheduler.delete_schedule(Name=name, GroupName=group)
    # What the follow-up's timer carried before the envelope: the dose's time only inside its reminder id.
    old = {
        "clinic_id": week.clinic.clinic_id,
        "owner_id": regimen["id"],
        "reminder_id": "follow-202703131300.sms",
        "version": 1,
        "scheduled_time": "2027-03-13T13:30:00Z",
    }
    week.clock.set(ny("2027-03-13T08:30"))

    assert fire(old, None) == {"result": "sent", "reason": None}
    assert "have you taken your 8:00 AM medicine?" in week.texts(PHONE)[-1][1]


def test_a_regimens_national_phones_are_read_in_the_clinics_country_and_stored_in_e164(week: Week) -> None:
    body = twice_daily()
    body["patient"]["phone"] = "(415) 555-0170"
    body["caregiver"]["phone"] = "415.555.0171"

    created = week.post("/v1/regimens", body)

    assert created.status_code == 201, created.json_body
    assert [p.phone for p in Patient.scan()] == ["+14155550170"]
    assert [r.caregiver_phone for r in Regimen.scan()] == ["+14155550171"]
    week.go_to(ny("2027-03-13T08:10"))
    assert [t for t, _ in week.texts("+14155550170")] == ["Sat 13 08:00"]
