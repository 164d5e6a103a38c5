"""`merge-patients` gives the kept record a contact a merged record had: that is a change to the kept patient's
details, made by the clinic's admin, so it is in the patient's change history (`GET /v1/patients/{id}/changes`)
like every other change, once: a second run changes nothing and records nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from chalice.test import Client

from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_admin_merge_patients import book, forget_lookup_rows
from tests.integration.test_admin_operations import admin


def history(api: Client, clinic: ClinicKeys, patient_id: str) -> list[dict[str, object]]:
    response = api.http.get(f"/v1/patients/{patient_id}/changes", headers=clinic.headers)
    assert response.status_code == 200, response.json_body
    return list(response.json_body["changes"])


def test_a_contact_the_kept_record_gains_by_a_merge_is_in_its_history_once(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    clock: SimulatedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN two records of one person from before bookings reused patients: the older without an email
    kept = book(aws, clinic, "2026-12-02T10:00:00-05:00").patient.patient_id
    forget_lookup_rows()
    clock.advance(timedelta(minutes=1))
    book(aws, clinic, "2026-12-03T10:00:00-05:00", email="pat.merge@example.org")
    forget_lookup_rows()
    before = history(api, clinic, kept)

    # WHEN the admin merges them
    code, _, err = admin(capsys, "merge-patients", "--clinic", clinic.clinic_id, "--apply")
    assert (code, err) == (0, "")

    # THEN the kept patient has the email, and its history says who gave it and when
    shown = api.http.get(f"/v1/patients/{kept}", headers=clinic.headers).json_body
    assert shown["email"] == "pat.merge@example.org"
    (gained,) = [entry for entry in history(api, clinic, kept) if entry not in before]
    assert datetime.fromisoformat(str(gained.pop("at")))  # when the command ran (the admin's own clock)
    assert gained == {
        "field": "email",
        "old": None,
        "new": "pat.merge@example.org",
        "by": "clinic",
        "actor": "admin:merge-patients",
        "proof": None,
    }

    # WHEN it runs again THEN nothing more is recorded
    admin(capsys, "merge-patients", "--clinic", clinic.clinic_id, "--apply")
    after = history(api, clinic, kept)
    assert len(after) == len(before) + 1 and [entry for entry in after if entry not in before][0]["field"] == "email"
