"""Real HL7 FHIR R4 MedicationRequest examples (tests/fixtures/fhir, byte for byte) posted to POST /v1/regimens
as they are: what is stored, which timers are armed (expression and zone) and the next dose times in the
patient's local time. The examples date from 2015; where one would arm nothing because it is over or completed,
a copy built here with its dates moved next to the test clock (or its status made active) shows the timers it
arms. The clock is frozen at TEST_NOW, Monday 30 November 2026, 09:00 in New York (the clinic's zone)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store.models import Patient, Regimen
from tests.conftest import ClinicKeys, World
from tests.timer_support import armed_schedules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"
CONTACT = {"name": "Pat Example", "phone": "+14155550140"}
NEW_YORK = "America/New_York"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"medicationrequest{name}.json").read_bytes())
    return data


def with_contact(resource: dict[str, Any], **contact: Any) -> dict[str, Any]:
    """The resource as an EHR sends it to CareCue: the FHIR resource plus CareCue's `patient` contact details."""
    return {**copy.deepcopy(resource), "patient": {**CONTACT, **contact}}


class Clinic:
    def __init__(self, api: Client, aws: World, keys: ClinicKeys) -> None:
        self.api, self.aws, self.keys = api, aws, keys

    def post(self, body: Any) -> Any:
        return self.api.http.post("/v1/regimens", headers=self.keys.headers, body=json.dumps(body))

    def patch(self, regimen_id: str, status: str) -> Any:
        body = json.dumps({"status": status})
        return self.api.http.patch(f"/v1/regimens/{regimen_id}", headers=self.keys.headers, body=body)

    def schedules(self) -> dict[str, tuple[str, str]]:
        """Every armed schedule: name -> (expression, zone), as Scheduler holds it."""
        return {
            name: (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"])
            for name, schedule in armed_schedules(self.aws).items()
        }


@pytest.fixture
def clinic(api: Client, aws: World, clinic: ClinicKeys) -> Clinic:
    return Clinic(api, aws, clinic)


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.json_body
    body: dict[str, Any] = response.json_body
    return body


def fields_of(response: Any) -> list[str]:
    assert response.status_code == 400, response.json_body
    return [f["field"] for f in response.json_body["error"]["fields"]]


def notes_of(view: dict[str, Any]) -> dict[str, str]:
    return {n["field"]: n["note"] for n in view["notes"]}


def test_0301_completed_prn_is_stored_stopped_and_arms_nothing_and_say_why(clinic: Clinic) -> None:
    view = created(clinic.post(with_contact(fixture("0301"))))

    assert (view["status"], view["timers"], view["next_doses"]) == ("stopped", [], [])
    notes = notes_of(view)
    assert notes["status"] == "completed: the regimen is stored stopped and no reminder is armed"
    assert "as needed (PRN)" in notes["dosageInstruction[0].asNeededCodeableConcept"]
    assert clinic.schedules() == {}
    [regimen] = Regimen.scan()
    assert (regimen.status, regimen.medication) == ("stopped", "Oral Form Oxycodone (product)")
    # The prescribing system's patient id is kept next to CareCue's contact details
    [patient] = Patient.scan()
    assert (patient.external_ref, patient.name, patient.phone) == ("Patient/pat1", "Pat Example", "+14155550140")


def test_0301_not_as_needed_follows_the_longer_period_of_its_range_and_says_so(clinic: Clinic) -> None:
    resource = with_contact(fixture("0301"))
    resource["status"] = "active"
    del resource["dosageInstruction"][0]["asNeededCodeableConcept"]

    view = created(clinic.post(resource))

    assert notes_of(view)["dosageInstruction[0].timing.repeat.periodMax"] == (
        "every 4 to 6 h: reminders every 6 h, the fewer doses"
    )
    assert [(t["expression"], t["timezone"]) for t in view["timers"]] == [("cron(0 2,8,14,20 * * ? *)", NEW_YORK)]
    assert clinic.schedules() == {view["timers"][0]["name"]: ("cron(0 2,8,14,20 * * ? *)", NEW_YORK)}
    assert view["next_doses"] == [
        "2026-11-30T14:00:00-05:00",
        "2026-11-30T20:00:00-05:00",
        "2026-12-01T02:00:00-05:00",
        "2026-12-01T08:00:00-05:00",
        "2026-12-01T14:00:00-05:00",
    ]
    assert view["supply"] == 30  # dispenseRequest.quantity: 30 TAB


def test_0302_two_open_sequences_are_refused_naming_the_step_without_an_end(clinic: Clinic) -> None:
    response = clinic.post(with_contact(fixture("0302")))

    assert fields_of(response) == ["dosageInstruction[0].timing.repeat.boundsDuration"]
    assert "cannot tell when the next sequence starts" in response.json_body["error"]["fields"][0]["problem"]
    assert list(Regimen.scan()) == [] and list(Patient.scan()) == []
    assert clinic.schedules() == {}


def test_0302_with_its_first_day_bounded_is_a_taper_daily_then_four_a_day(clinic: Clinic) -> None:
    resource = with_contact(fixture("0302"))
    resource["dosageInstruction"][0]["timing"]["repeat"]["boundsDuration"] = {"value": 1, "unit": "d", "code": "d"}

    view = created(clinic.post(resource))

    assert [i["schedule"] for i in view["instructions"]] == [
        {"cron": ["cron(0 8 * * ? *)"], "timezone": NEW_YORK},
        {"cron": ["cron(0 8,12,16,20 * * ? *)"], "timezone": NEW_YORK},
    ]
    assert sorted(clinic.schedules().values()) == [
        ("cron(0 8 * * ? *)", NEW_YORK),
        ("cron(0 8,12,16,20 * * ? *)", NEW_YORK),
    ]
    assert view["instructions"][1]["start"] == "2026-12-01T14:00:00+00:00"  # where the first day ends
    assert view["next_doses"] == [
        "2026-12-01T08:00:00-05:00",
        "2026-12-01T12:00:00-05:00",
        "2026-12-01T16:00:00-05:00",
        "2026-12-01T20:00:00-05:00",
        "2026-12-02T08:00:00-05:00",
    ]


def test_0305_completed_prn_with_bare_dates_arms_nothing(clinic: Clinic) -> None:
    view = created(clinic.post(with_contact(fixture("0305"))))

    assert (view["status"], view["timers"]) == ("stopped", [])
    assert set(notes_of(view)) == {"status", "dosageInstruction[0].asNeededCodeableConcept"}


def test_0305_bare_dates_are_whole_days_in_the_patients_zone(clinic: Clinic) -> None:
    resource = with_contact(fixture("0305"), timezone="Europe/Berlin")
    resource["status"] = "active"
    del resource["dosageInstruction"][0]["asNeededCodeableConcept"]
    resource["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-11-30", "end": "2026-12-02"}

    view = created(clinic.post(resource))

    instruction = view["instructions"][0]
    assert (instruction["start"], instruction["end"]) == ("2026-11-29T23:00:00+00:00", "2026-12-02T23:59:00+01:00")
    # every 6 to 12 hours: every 12 (the fewer doses), from 08:00 Berlin time
    assert [(t["expression"], t["timezone"]) for t in view["timers"]] == [("cron(0 8,20 * * ? *)", "Europe/Berlin")]
    assert list(clinic.schedules().values()) == [("cron(0 8,20 * * ? *)", "Europe/Berlin")]
    assert view["next_doses"] == [
        "2026-11-30T20:00:00+01:00",
        "2026-12-01T08:00:00+01:00",
        "2026-12-01T20:00:00+01:00",
        "2026-12-02T08:00:00+01:00",
        "2026-12-02T20:00:00+01:00",
    ]


def test_0315_as_needed_every_15_minutes_arms_nothing_and_without_prn_is_refused_by_path(clinic: Clinic) -> None:
    view = created(clinic.post(with_contact(fixture("0315"))))
    assert (view["status"], view["timers"], view["next_doses"]) == ("active", [], [])
    assert list(notes_of(view)) == ["dosageInstruction[0].asNeededBoolean"]

    scheduled = with_contact(fixture("0315"), phone="+14155550141")
    scheduled["id"] = "medrx0315-scheduled"
    del scheduled["dosageInstruction"][0]["asNeededBoolean"]
    response = clinic.post(scheduled)
    assert fields_of(response) == ["dosageInstruction[0].timing.repeat.period"]
    assert "at least 60 minutes apart" in response.json_body["error"]["fields"][0]["problem"]
    assert clinic.schedules() == {}


def test_0316_sixteen_cycles_every_three_weeks_chain_one_time_timers(clinic: Clinic) -> None:
    as_is = created(clinic.post(with_contact(fixture("0316"))))
    assert (as_is["status"], as_is["timers"]) == ("stopped", [])

    resource = with_contact(fixture("0316"), phone="+14155550141")
    resource["id"], resource["status"] = "medrx0316-active", "active"
    view = created(clinic.post(resource))

    assert view["instructions"][0]["count"] == 16
    assert view["instructions"][0]["schedule"] == {"chained": True}
    assert [(t["expression"], t["timezone"]) for t in view["timers"]] == [("at(2026-12-21T13:00:00)", "UTC")]
    assert list(clinic.schedules().values()) == [("at(2026-12-21T13:00:00)", "UTC")]
    assert view["next_doses"] == [
        "2026-12-21T08:00:00-05:00",
        "2027-01-11T08:00:00-05:00",
        "2027-02-01T08:00:00-05:00",
        "2027-02-22T08:00:00-05:00",
        "2027-03-15T08:00:00-04:00",
    ]


def test_0317_three_open_sequences_are_refused_and_one_of_them_is_three_days_a_week(clinic: Clinic) -> None:
    assert fields_of(clinic.post(with_contact(fixture("0317")))) == [
        "dosageInstruction[0].timing.repeat.boundsDuration"
    ]

    resource = with_contact(fixture("0317"))
    resource["status"] = "active"
    resource["dosageInstruction"] = resource["dosageInstruction"][:1]
    view = created(clinic.post(resource))

    notes = notes_of(view)
    assert notes["dosageInstruction[0].timing.repeat.dayOfWeek"] == (
        "not given for 3 times a week: reminders on mon, wed, fri"
    )
    assert notes["dosageInstruction[0].timing.repeat.duration"] == (
        "is how long one administration lasts: it does not move the dose times"
    )
    assert list(clinic.schedules().values()) == [("cron(0 8 ? * MON,WED,FRI *)", NEW_YORK)]
    assert view["next_doses"] == [
        "2026-12-02T08:00:00-05:00",
        "2026-12-04T08:00:00-05:00",
        "2026-12-07T08:00:00-05:00",
        "2026-12-09T08:00:00-05:00",
        "2026-12-11T08:00:00-05:00",
    ]


def test_0323_event_starts_a_daily_pattern_at_its_local_time(clinic: Clinic) -> None:
    as_is = created(clinic.post(with_contact(fixture("0323"))))
    # 2015-01-15T22:00+11:00 is 06:00 in New York: the pattern runs at 06:00 from that first dose
    assert as_is["instructions"][0]["start"] == "2015-01-15T11:00:00+00:00"
    assert as_is["instructions"][0]["schedule"] == {"cron": ["cron(0 6 * * ? *)"], "timezone": NEW_YORK}
    assert (as_is["status"], as_is["timers"]) == ("stopped", [])
    # no code on the contained Medication: its ingredients name it
    assert as_is["medication"].startswith("Clinimix 4.25/10 sulfite-free")

    resource = with_contact(fixture("0323"), phone="+14155550141")
    resource["id"], resource["status"] = "medrx0323-active", "active"
    resource["dosageInstruction"][0]["timing"]["event"] = ["2026-12-01T22:00:00+11:00"]
    view = created(clinic.post(resource))

    assert list(clinic.schedules().values()) == [("cron(0 6 * * ? *)", NEW_YORK)]
    assert view["next_doses"] == [
        "2026-12-01T06:00:00-05:00",
        "2026-12-02T06:00:00-05:00",
        "2026-12-03T06:00:00-05:00",
        "2026-12-04T06:00:00-05:00",
        "2026-12-05T06:00:00-05:00",
    ]


def test_0332_a_single_dose_without_a_time_arms_nothing_and_says_so(clinic: Clinic) -> None:
    view = created(clinic.post(with_contact(fixture("0332"))))

    assert (view["status"], view["timers"], view["next_doses"]) == ("active", [], [])
    assert notes_of(view)["dosageInstruction[0].timing.repeat"].startswith("gives a count but no dose time")
    assert clinic.schedules() == {}


def test_0334_on_hold_is_created_paused_and_resuming_arms_mondays_four_times(clinic: Clinic) -> None:
    view = created(clinic.post(with_contact(fixture("0334"))))

    assert (view["status"], view["timers"], view["next_doses"]) == ("paused", [], [])
    assert view["medication"] == "Nystatin 100UNT/MG Topical Ointment"  # a coding's display: no text given
    assert view["supply"] == 6  # 30 g is not a dose count: 10 days of supply at 4 doses on each Monday
    assert clinic.schedules() == {}

    resumed = clinic.patch(view["id"], "active")

    assert resumed.status_code == 200, resumed.json_body
    assert list(clinic.schedules().values()) == [("cron(0 8,12,16,20 ? * MON *)", NEW_YORK)]
    assert resumed.json_body["next_doses"] == [
        "2026-11-30T12:00:00-05:00",
        "2026-11-30T16:00:00-05:00",
        "2026-11-30T20:00:00-05:00",
        "2026-12-07T08:00:00-05:00",
        "2026-12-07T12:00:00-05:00",
    ]


def test_0336_a_continuous_infusion_has_no_dose_times_and_says_so(clinic: Clinic) -> None:
    resource = with_contact(fixture("0336"))
    resource["status"] = "active"

    view = created(clinic.post(resource))

    assert (view["timers"], view["next_doses"]) == ([], [])
    assert view["medication"] == "Dopamine 400mg in 500mL D5W"  # medicationReference.display
    assert "how long one administration lasts" in notes_of(view)["dosageInstruction[0].timing.repeat"]
    assert clinic.schedules() == {}


def test_0339_over_in_2015_is_created_with_nothing_armed_and_a_note_per_instruction(clinic: Clinic) -> None:
    view = created(clinic.post(with_contact(fixture("0339"))))

    assert (view["status"], view["timers"], view["next_doses"]) == ("active", [], [])
    notes = notes_of(view)
    for line in (0, 1):
        assert notes[f"dosageInstruction[{line}].timing.repeat.boundsPeriod.end"] == (
            "is over (its last dose was 2015-01-18): no reminder is armed for it"
        )
    assert clinic.schedules() == {}


def test_0339_moved_to_this_week_runs_both_same_sequence_instructions_together(clinic: Clinic) -> None:
    resource = with_contact(fixture("0339"))
    for line in resource["dosageInstruction"]:
        line["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01", "end": "2026-12-03"}

    view = created(clinic.post(resource))

    assert sorted(clinic.schedules().values()) == [("cron(0 8 * * ? *)", NEW_YORK)] * 2
    assert view["next_doses"] == [
        "2026-12-01T08:00:00-05:00",
        "2026-12-01T08:00:00-05:00",
        "2026-12-02T08:00:00-05:00",
        "2026-12-02T08:00:00-05:00",
        "2026-12-03T08:00:00-05:00",
    ]
    assert view["supply"] == 6  # expectedSupplyDuration 3 days at 2 doses a day (quantity 1 has no unit)


def test_example1_timing_by_code_qd_is_once_a_day(clinic: Clinic) -> None:
    view = created(clinic.post(with_contact(fixture("example1"))))

    assert view["medication"] == "Chlorthalidone 50mg tablet (product)"
    assert list(clinic.schedules().values()) == [("cron(0 8 * * ? *)", NEW_YORK)]
    assert view["next_doses"] == [
        "2026-12-01T08:00:00-05:00",
        "2026-12-02T08:00:00-05:00",
        "2026-12-03T08:00:00-05:00",
        "2026-12-04T08:00:00-05:00",
        "2026-12-05T08:00:00-05:00",
    ]
    assert view["supply"] == 30


def test_example2_without_timing_arms_nothing_and_says_so(clinic: Clinic) -> None:
    view = created(clinic.post(with_contact(fixture("example2"))))

    assert (view["status"], view["timers"], view["medication"]) == ("active", [], "prescribed medication")
    assert notes_of(view) == {"dosageInstruction[0]": "has no timing: no reminder is armed for this instruction"}


def test_an_unknown_subject_needs_contact_details_once_then_is_found_by_its_reference(clinic: Clinic) -> None:
    refused = clinic.post(fixture("example2"))
    assert fields_of(refused) == ["subject.reference"]
    assert "send `patient`" in refused.json_body["error"]["fields"][0]["problem"]

    first = created(clinic.post(with_contact(fixture("0332"))))
    later = created(clinic.post(fixture("example2")))  # same Patient/pat1, no contact details this time

    assert later["patient_id"] == first["patient_id"]
    assert sum(1 for _ in Patient.scan()) == 1


def test_the_same_resource_posted_again_is_the_same_regimen(clinic: Clinic) -> None:
    first = created(clinic.post(with_contact(fixture("0332"))))
    again = clinic.post(with_contact(fixture("0332")))

    assert again.status_code == 200 and again.json_body["id"] == first["id"]
    assert sum(1 for _ in Regimen.scan()) == 1


def test_what_cannot_be_honoured_is_refused_by_path(clinic: Clinic) -> None:
    resource = with_contact(fixture("0316"))
    resource["status"] = "draft"
    resource["doNotPerform"] = True
    resource["dosageInstruction"][0]["timing"]["repeat"]["periodUnit"] = "mo"
    del resource["medicationReference"]

    assert fields_of(clinic.post(resource)) == [
        "doNotPerform",
        "status",
        "medicationCodeableConcept",
        "dosageInstruction[0].timing.repeat.periodUnit",
    ]


def test_the_clinics_minimum_interval_refuses_a_code_that_doses_more_often(clinic: Clinic) -> None:
    settings = clinic.api.http.put(
        "/v1/clinic", headers=clinic.keys.headers, body=json.dumps({"medication": {"min_interval_minutes": 240}})
    )
    assert settings.status_code == 200, settings.json_body
    resource = with_contact(fixture("example1"))
    resource["dosageInstruction"][0]["timing"]["code"]["coding"][0]["code"] = "Q2H"

    response = clinic.post(resource)

    assert fields_of(response) == ["dosageInstruction[0].timing.code"]
    assert response.json_body["error"]["fields"][0]["problem"] == (
        "doses must be at least 240 minutes apart, on whole minutes"
    )
    assert list(Regimen.scan()) == []
