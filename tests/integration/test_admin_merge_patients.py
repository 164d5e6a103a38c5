"""`merge-patients`: the duplicate patients a clinic has from before bookings reused patients, merged by the
admin, a dry run first. What the terminal shows (ids and counts, no patient data), what is stored, and that a
second run changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.appointments.request import parse_new_appointment
from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.words import Channel
from chalicelib.patients.contacts import is_opted_out, opt_out
from chalicelib.regimens.request import parse_new_regimen
from chalicelib.store.models import Appointment, Clinic, Contact, Dose, Patient, PatientKey, Regimen, Reminder
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_admin_operations import admin

PHONE = "+14155550102"


def book(world: World, clinic: ClinicKeys, start: str, **patient: Any) -> Any:
    body = {"patient": {"name": "Pat Example", "phone": PHONE, **patient}, "start": start}
    request = parse_new_appointment(json.dumps(body).encode(), world.services.clock.now())
    return world.services.appointments.book(clinic.clinic_id, request)


def prescribe(world: World, clinic: ClinicKeys, **patient: Any) -> str:
    body = {
        "patient": {"name": "Pat Example", "phone": PHONE, **patient},
        "medication": "Examplamab 10 mg",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00"]}},
    }
    when_times = clinic_policy(Clinic.get(clinic.clinic_id)).medication.when_times
    created, _ = world.services.regimens.create(
        clinic.clinic_id, parse_new_regimen(json.dumps(body).encode(), when_times)
    )
    return str(created["patient_id"])


def forget_lookup_rows() -> None:
    """What a clinic's patients were before lookup rows were kept: every booking made its own patient."""
    for row in PatientKey.scan():
        row.delete()


def everything() -> dict[str, list[str]]:
    """Every stored item that a merge could touch, as sorted JSON lines per table."""
    models = (Patient, PatientKey, Appointment, Reminder, Regimen, Dose, Contact)
    return {m.__name__: sorted(json.dumps(i.to_simple_dict(), sort_keys=True) for i in m.scan()) for m in models}


@pytest.fixture
def duplicates(aws: World, clinic: ClinicKeys, clock: SimulatedClock) -> dict[str, str]:
    """Three records of one person, a minute apart (the last with a regimen and its own email, opted out of
    email), and a family member on the same phone, all stored without lookup rows."""
    first = book(aws, clinic, "2026-12-02T10:00:00-05:00", email="pat@example.org").patient.patient_id
    forget_lookup_rows()
    clock.advance(timedelta(minutes=1))
    second = book(aws, clinic, "2026-12-03T10:00:00-05:00", name="pat  EXAMPLE").patient.patient_id
    forget_lookup_rows()
    clock.advance(timedelta(minutes=1))
    third = prescribe(aws, clinic, email="pat.work@example.org")
    opt_out(clinic.clinic_id, Channel.EMAIL, "pat.work@example.org", "link", aws.services.clock.now())
    forget_lookup_rows()
    family = book(aws, clinic, "2026-12-04T10:00:00-05:00", name="Sam Example").patient.patient_id
    forget_lookup_rows()
    assert len({first, second, third, family}) == 4
    return {"first": first, "second": second, "third": third, "family": family}


def test_a_dry_run_prints_ids_and_counts_and_changes_nothing(
    aws: World, clinic: ClinicKeys, duplicates: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = everything()

    code, out, err = admin(capsys, "merge-patients", "--clinic", clinic.clinic_id)

    assert (code, err) == (0, "")
    assert out == {
        "clinic_id": clinic.clinic_id,
        "applied": False,
        "merges": [
            {
                "keep": duplicates["first"],
                "merge": [duplicates["second"], duplicates["third"]],
                "appointments": 1,
                "reminders": 3,
                "regimens": 1,
                "doses": 0,
            }
        ],
        "lookup_rows": 4,
        "shared_contact_only": [
            {"patients": sorted([duplicates["first"], duplicates["family"]]), "shared": ["phone"]},
        ],
    }
    printed = json.dumps(out)
    # No name, email or phone: the phone's last seven digits (ids are random hex, so "555" alone can occur in one)
    assert "example" not in printed.lower() and PHONE[-7:] not in printed
    assert everything() == before


def test_apply_merges_into_the_oldest_keeps_the_stricter_opt_outs_and_a_second_apply_changes_nothing(
    aws: World, clinic: ClinicKeys, duplicates: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, planned, _ = admin(capsys, "merge-patients", "--clinic", clinic.clinic_id)

    code, out, err = admin(capsys, "merge-patients", "--clinic", clinic.clinic_id, "--apply")

    assert (code, err) == (0, "")
    assert out == {**planned, "applied": True}
    kept = duplicates["first"]
    assert {a.patient_id for a in Appointment.scan()} == {kept, duplicates["family"]}
    assert {r.patient_id for r in Regimen.scan()} == {kept}
    family_appointments = {a.appointment_id for a in Appointment.scan() if a.patient_id == duplicates["family"]}
    assert {r.patient_id for r in Reminder.scan() if r.owner_id not in family_appointments and r.patient_id} == {kept}
    merged = {p.patient_id: p.merged_into for p in Patient.scan()}
    assert merged == {kept: None, duplicates["second"]: kept, duplicates["third"]: kept, duplicates["family"]: None}
    # One record's email opted out: the kept record's email is opted out too.
    assert is_opted_out(clinic.clinic_id, Channel.EMAIL, "pat@example.org")
    assert not is_opted_out(clinic.clinic_id, Channel.SMS, PHONE)
    # The next booking finds the kept record, and the family member stays apart.
    assert book(aws, clinic, "2026-12-09T10:00:00-05:00").patient.patient_id == kept
    assert book(aws, clinic, "2026-12-10T10:00:00-05:00", name="Sam Example").patient.patient_id == duplicates["family"]

    after = everything()
    code, again, _ = admin(capsys, "merge-patients", "--clinic", clinic.clinic_id, "--apply")

    assert code == 0
    assert (again["merges"], again["lookup_rows"]) == ([], 0)
    assert everything() == after


def test_an_unknown_clinic_is_an_error_naming_it(aws: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = admin(capsys, "merge-patients", "--clinic", "cln_unknown")

    assert (code, out) == (1, None)
    assert "cln_unknown" in err
