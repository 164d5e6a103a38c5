"""`set-messenger` against moto: the Page id on the clinic, the Page token and app secret as SSM SecureStrings
under the stage's prefix (never in DynamoDB, never printed), the verify token printed once and kept."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.admin.cli import main
from chalicelib.admin.messenger import APP_SECRET_ENV, PAGE_TOKEN_ENV
from chalicelib.store.models import Clinic
from tests.conftest import ClinicKeys, World
from tests.messenger_support import APP_SECRET, PAGE_ID, PAGE_TOKEN


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object], str]:
    capsys.readouterr()
    code = main(["--stage", "test", *args])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"clinic_id"')]
    return code, (lines[-1] if lines else {}), out + err


def test_set_messenger_stores_the_secrets_in_ssm_only_and_prints_the_verify_token_once(
    aws: World, clinic: ClinicKeys, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PAGE_TOKEN_ENV, PAGE_TOKEN)
    monkeypatch.setenv(APP_SECRET_ENV, APP_SECRET)

    code, printed, text = run(capsys, "set-messenger", "--clinic", clinic.clinic_id, "--page-id", PAGE_ID)

    assert code == 0
    assert printed["messenger_page_id"] == PAGE_ID
    verify_token = str(printed["verify_token"])
    assert verify_token.startswith(f"{clinic.clinic_id}.")
    assert PAGE_TOKEN not in text and APP_SECRET not in text
    ssm = boto3.client("ssm", region_name="us-east-1")
    path = f"/carecue/test/clinics/{clinic.clinic_id}/messenger"
    stored = {p["Name"]: p for p in ssm.get_parameters_by_path(Path=path, WithDecryption=True)["Parameters"]}
    assert {name: (p["Type"], p["Value"]) for name, p in stored.items()} == {
        f"{path}/page-token": ("SecureString", PAGE_TOKEN),
        f"{path}/app-secret": ("SecureString", APP_SECRET),
        f"{path}/verify-token": ("SecureString", verify_token),
    }
    item = json.dumps(Clinic.get(clinic.clinic_id).attribute_values, default=str)
    assert PAGE_ID in item and PAGE_TOKEN not in item and APP_SECRET not in item

    monkeypatch.setenv(PAGE_TOKEN_ENV, "test-page-token-rotated")
    code, again, _ = run(capsys, "set-messenger", "--clinic", clinic.clinic_id, "--page-id", PAGE_ID)
    assert code == 0 and "verify_token" not in again  # kept: the app's dashboard need not change
    value = ssm.get_parameter(Name=f"{path}/page-token", WithDecryption=True)["Parameter"]["Value"]
    assert value == "test-page-token-rotated"


def test_without_the_secrets_in_the_environment_nothing_is_stored(
    aws: World, clinic: ClinicKeys, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(PAGE_TOKEN_ENV, raising=False)
    monkeypatch.setenv(APP_SECRET_ENV, APP_SECRET)

    code, _, text = run(capsys, "set-messenger", "--clinic", clinic.clinic_id, "--page-id", PAGE_ID)

    assert code != 0
    assert PAGE_TOKEN_ENV in text
    assert Clinic.get(clinic.clinic_id).messenger_page_id is None
    path = f"/carecue/test/clinics/{clinic.clinic_id}/messenger"
    assert boto3.client("ssm", region_name="us-east-1").get_parameters_by_path(Path=path)["Parameters"] == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--clinic", "cln_000000000000", "--page-id", PAGE_ID], "cln_000000000000"),
        (["--page-id", "my-page"], "--page-id"),
    ],
    ids=["no such clinic", "not a page id"],
)
def test_a_wrong_clinic_or_page_id_is_refused_and_stores_nothing(
    aws: World,
    clinic: ClinicKeys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    named: str,
) -> None:
    monkeypatch.setenv(PAGE_TOKEN_ENV, PAGE_TOKEN)
    monkeypatch.setenv(APP_SECRET_ENV, APP_SECRET)
    if "--clinic" not in args:
        args = ["--clinic", clinic.clinic_id, *args]

    code, _, text = run(capsys, "set-messenger", *args)

    assert code != 0 and named in text
    ssm = boto3.client("ssm", region_name="us-east-1")
    for clinic_id in (clinic.clinic_id, "cln_000000000000"):
        path = f"/carecue/test/clinics/{clinic_id}/messenger"
        assert ssm.get_parameters_by_path(Path=path)["Parameters"] == []
