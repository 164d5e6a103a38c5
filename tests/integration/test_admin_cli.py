"""`python -m chalicelib.admin` against moto: what an admin sees on the terminal, and what is stored."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.admin.cli import main
from chalicelib.clinics.service import hash_api_key
from chalicelib.store.models import Clinic
from tests.conftest import World


def test_create_clinic_prints_its_credentials_once_and_stores_only_the_key_hash(
    aws: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--stage", "test", "create-clinic", "--name", "Riverside Family Clinic", "--timezone", "America/Chicago"]
    )

    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["clinic_id"].startswith("cln_")
    assert printed["timezone"] == "America/Chicago"
    stored = Clinic.get(printed["clinic_id"])
    assert stored.api_key_hash == hash_api_key(printed["api_key"])
    assert printed["api_key"] not in json.dumps(stored.attribute_values, default=str)
    secret = boto3.client("ssm", region_name="us-east-1").get_parameter(
        Name=f"/carecue/test/clinics/{printed['clinic_id']}/webhook-secret", WithDecryption=True
    )
    assert secret["Parameter"]["Value"] == printed["webhook_secret"]
    assert secret["Parameter"]["Type"] == "SecureString"


def test_an_unknown_time_zone_is_one_line_and_a_non_zero_exit(aws: World, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--stage", "test", "create-clinic", "--name", "Riverside", "--timezone", "America/Atlantis"])

    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1
    assert "America/Atlantis" in err
    assert sum(1 for _ in Clinic.scan()) == 0


def test_a_stage_without_tables_is_a_clear_error(aws: World, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--stage", "nosuchstage", "create-clinic", "--name", "Riverside", "--timezone", "UTC"])

    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1
    assert "nosuchstage" in err
    ssm = boto3.client("ssm", region_name="us-east-1")
    assert ssm.get_parameters_by_path(Path="/carecue/nosuchstage", Recursive=True)["Parameters"] == []


def test_show_opt_outs_tells_when_and_how_a_patient_opted_out_without_printing_contacts(
    aws: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from chalicelib.appointments.request import parse_new_appointment
    from chalicelib.core.words import Channel
    from chalicelib.patients.contacts import opt_out

    clinic = aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    body = b'{"patient": {"name": "Pat Example", "phone": "+14155550100", "email": "pat@example.org"},'
    body += b' "start": "2026-12-02T10:00:00-05:00"}'
    booked = aws.services.appointments.book(clinic.clinic_id, parse_new_appointment(body, aws.services.clock.now()))
    patient_id = booked.patient.patient_id
    opt_out(clinic.clinic_id, Channel.SMS, "+14155550100", "sms_reply", datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    capsys.readouterr()  # the booking's own log lines

    code = main(["--stage", "test", "show-opt-outs", "--clinic", clinic.clinic_id, "--patient", patient_id])

    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out) == {
        "clinic_id": clinic.clinic_id,
        "patient_id": patient_id,
        "opt_out": {
            "sms": {"at": "2026-11-30T15:00:00Z", "source": "sms_reply"},
            "email": None,
            "whatsapp": None,
            "messenger": None,
        },
    }
    assert "+14155550100" not in out and "example.org" not in out and "Pat" not in out

    missing = main(["--stage", "test", "show-opt-outs", "--clinic", clinic.clinic_id, "--patient", "pat_nobody"])
    assert missing != 0
    assert "pat_nobody" in capsys.readouterr().err
