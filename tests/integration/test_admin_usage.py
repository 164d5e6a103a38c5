"""`python -m chalicelib.admin usage` and `set-spend-cap` against moto: what billing and an admin see."""

from __future__ import annotations

import csv
import io
import json

import pytest

from chalicelib.admin.cli import main
from chalicelib.core.words import Channel
from chalicelib.store.models import Clinic
from tests.conftest import ClinicKeys, World


def test_usage_lists_every_clinic_for_the_month_as_json_and_csv(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = aws.services.clinics.create("Quiet Clinic", "Europe/Berlin")
    meter = aws.services.usage
    now = aws.services.clock.now()
    meter.record(clinic.clinic_id, now, meter.charge(Channel.SMS, "+14155550100", "x" * 200))  # 2 segments
    meter.record(clinic.clinic_id, now, meter.charge(Channel.EMAIL, "pat@example.org", "Hello"))

    assert main(["--stage", "test", "usage", "--month", "2026-11"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert main(["--stage", "test", "usage", "--month", "2026-11", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))

    by_clinic = {row["clinic_id"]: row for row in report["clinics"]}
    assert by_clinic[clinic.clinic_id]["sms_messages"] == 1
    assert by_clinic[clinic.clinic_id]["sms_segments"] == 2
    assert by_clinic[clinic.clinic_id]["emails"] == 1
    assert by_clinic[clinic.clinic_id]["estimated_cost_usd"] == pytest.approx(2 * 0.00831 + 0.0001)
    assert by_clinic[quiet.clinic_id]["estimated_cost_usd"] == 0
    assert report["estimated_cost_usd"] == pytest.approx(2 * 0.00831 + 0.0001)
    assert {row["clinic_id"]: row["sms_segments"] for row in rows} == {clinic.clinic_id: "2", quiet.clinic_id: "0"}
    assert rows[0].keys() >= {"month", "estimated_cost_usd", "spend_cap_usd", "spend_cap_reached"}
    assert {row["spend_cap_reached"] for row in rows} == {"false"}


def test_set_spend_cap_stores_it_and_default_removes_it(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stage", "test", "set-spend-cap", "--clinic", clinic.clinic_id, "--usd", "40"]) == 0
    printed = json.loads(capsys.readouterr().out)
    stored = Clinic.get(clinic.clinic_id).monthly_spend_cap_usd
    assert main(["--stage", "test", "set-spend-cap", "--clinic", clinic.clinic_id, "--default"]) == 0

    assert printed["spend_cap_usd"] == 40.0
    assert stored == 40
    assert Clinic.get(clinic.clinic_id).monthly_spend_cap_usd is None
    assert json.loads(capsys.readouterr().out)["spend_cap_usd"] == 100.0


def test_bad_spend_cap_input_is_one_line_and_stores_nothing(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_amount = main(["--stage", "test", "set-spend-cap", "--clinic", clinic.clinic_id, "--usd", "-3"])
    bad_amount_err = capsys.readouterr().err
    unknown = main(["--stage", "test", "set-spend-cap", "--clinic", "cln_000000000000", "--usd", "3"])
    unknown_err = capsys.readouterr().err

    assert bad_amount != 0 and unknown != 0
    assert bad_amount_err.count("\n") == 1 and "--usd" in bad_amount_err
    assert unknown_err.count("\n") == 1 and "cln_000000000000 not found" in unknown_err
    assert Clinic.get(clinic.clinic_id).monthly_spend_cap_usd is None
    assert [c.clinic_id for c in Clinic.scan()] == [clinic.clinic_id]  # the update made no clinic
