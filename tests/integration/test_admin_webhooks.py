"""The admin commands that connect a booking tool, against moto: what the admin sees and what is stored where
the webhook route reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.admin.cli import main
from tests.conftest import ClinicKeys, World
from tests.webhook_support import FIXTURES, body_of, fixture, signature_headers


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object] | None, str]:
    code = main(["--stage", "test", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def test_set_webhook_secret_generates_one_shows_it_once_and_the_route_reads_it(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, _ = run(capsys, "set-webhook-secret", "--clinic", clinic.clinic_id, "--provider", "calcom")

    assert code == 0 and printed is not None
    secret = printed["secret"]
    assert isinstance(secret, str) and len(secret) >= 40
    name = f"/carecue/test/clinics/{clinic.clinic_id}/webhooks/calcom"
    stored = aws.session.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert (stored["Value"], stored["Type"]) == (secret, "SecureString")
    assert aws.services.intake.credentials.for_tool(clinic.clinic_id, "calcom").secret == secret

    code, again, _ = run(
        capsys, "set-webhook-secret", "--clinic", clinic.clinic_id, "--provider", "calcom", "--secret", "chosen-one"
    )
    assert code == 0 and again is not None and "secret" not in again  # a given secret is never echoed


def test_square_needs_its_own_key_and_takes_the_notification_url(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "set-webhook-secret", "--clinic", clinic.clinic_id, "--provider", "square")
    assert code != 0 and "--secret" in err and err.count("\n") == 1

    code, printed, _ = run(
        capsys,
        "set-webhook-secret",
        "--clinic",
        clinic.clinic_id,
        "--provider",
        "square",
        "--secret",
        "sq-key",
        "--notification-url",
        "https://api.example.org/webhooks/square/x",
    )
    assert code == 0 and printed is not None
    credentials = aws.services.intake.credentials.for_tool(clinic.clinic_id, "square")
    assert credentials.secret == "sq-key"
    assert credentials.settings["notification-url"] == "https://api.example.org/webhooks/square/x"


def test_square_without_a_notification_url_stores_carecues_own_webhook_url(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--clinic", clinic.clinic_id, "--provider", "square", "--base-url", "https://api.example.org/"]

    code, printed, _ = run(capsys, "set-webhook-secret", *base, "--secret", "sq-key")
    _, url, _ = run(capsys, "webhook-url", *base)

    assert code == 0 and printed is not None and url is not None
    assert printed["notification_url"] == url["url"] == f"https://api.example.org/webhooks/square/{clinic.clinic_id}"
    name = f"/carecue/test/clinics/{clinic.clinic_id}/webhooks/square-notification-url"
    stored = aws.session.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    assert stored == url["url"]
    # Square signs over the URL it posts to, the one printed: that notification is accepted.
    body = body_of(fixture("square", "booking_created.json"))
    headers = signature_headers("square", "sq-key", body, 0, square_url=url["url"])
    with Client(app, stage_name="local") as client:
        answer = client.http.post(f"/webhooks/square/{clinic.clinic_id}", headers=headers, body=body)
    assert (answer.status_code, answer.json_body["outcome"]) == (200, "booked")


def test_square_with_neither_url_nor_base_url_is_refused_and_stores_nothing(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "set-webhook-secret", "--clinic", clinic.clinic_id, "--provider", "square", "--secret", "sq-key"
    )

    assert (code != 0, out) == (True, None)
    assert "--base-url" in err and "--notification-url" in err
    path = f"/carecue/test/clinics/{clinic.clinic_id}/webhooks"
    assert aws.session.client("ssm").get_parameters_by_path(Path=path, Recursive=True)["Parameters"] == []


def test_an_unknown_clinic_is_refused(aws: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "set-webhook-secret", "--clinic", "cln_nobody", "--provider", "calcom")

    assert (code != 0, out) == (True, None)
    assert "cln_nobody" in err


def test_webhook_url_is_the_route_for_that_clinic_and_tool(capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, _ = run(
        capsys, "webhook-url", "--clinic", "cln_1", "--provider", "calendly", "--base-url", "https://api.example.org/"
    )
    assert code == 0
    assert printed == {
        "clinic_id": "cln_1",
        "provider": "calendly",
        "url": "https://api.example.org/webhooks/calendly/cln_1",
    }
    code, _, err = run(capsys, "webhook-url", "--clinic", "cln_1", "--provider", "calendly")
    assert code != 0 and "--base-url" in err


def test_set_form_mapping_validates_the_file_and_stores_it(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "full_name"}')
    code, _, err = run(capsys, "set-form-mapping", "--clinic", clinic.clinic_id, "--file", str(bad))
    assert code != 0 and "start" in err and "phone" in err

    good = FIXTURES / "form" / "mapping.json"
    code, printed, _ = run(capsys, "set-form-mapping", "--clinic", clinic.clinic_id, "--file", str(good))

    assert code == 0 and printed is not None
    settings = aws.services.intake.credentials.for_tool(clinic.clinic_id, "form").settings
    assert json.loads(settings["mapping"])["date"] == "visit_date"
