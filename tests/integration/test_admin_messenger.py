"""`set-messenger` against moto: the Page id on the clinic, the Page token and app secret as SSM SecureStrings
under the stage's prefix (never in DynamoDB, never printed), the verify token printed once and kept; the secrets
from the environment (through `chalicelib.settings`) or, in a terminal without them, typed at a prompt."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import time

import boto3
import pytest

from chalicelib.admin.cli import main
from chalicelib.settings import MESSENGER_APP_SECRET_ENV as APP_SECRET_ENV
from chalicelib.settings import MESSENGER_PAGE_TOKEN_ENV as PAGE_TOKEN_ENV
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


def test_in_a_terminal_without_the_variables_it_asks_for_the_secrets_without_echo(served_aws: World) -> None:
    """The prompt path, as an admin meets it: the command runs in its own process on a pseudo-terminal against the
    served moto, the variables unset; what is typed at each prompt is stored and never shown."""
    created = served_aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    environ = {k: v for k, v in os.environ.items() if k not in (PAGE_TOKEN_ENV, APP_SECRET_ENV)}
    argv = [sys.executable, "-m", "chalicelib.admin", "--endpoint-url", os.environ["AWS_ENDPOINT_URL"]]
    argv += ["--stage", "test", "set-messenger", "--clinic", created.clinic_id, "--page-id", PAGE_ID]

    code, screen = in_terminal(argv, environ, answers={b"Page access token: ": PAGE_TOKEN, b"app secret: ": APP_SECRET})

    assert code == 0, screen
    assert "Page access token: " in screen and "Meta app secret: " in screen
    assert PAGE_TOKEN not in screen and APP_SECRET not in screen  # no echo, and not printed
    ssm = served_aws.session.client("ssm")
    path = f"/carecue/test/clinics/{created.clinic_id}/messenger"
    stored = {p["Name"]: p["Value"] for p in ssm.get_parameters_by_path(Path=path, WithDecryption=True)["Parameters"]}
    assert (stored[f"{path}/page-token"], stored[f"{path}/app-secret"]) == (PAGE_TOKEN, APP_SECRET)


def in_terminal(argv: list[str], environ: dict[str, str], answers: dict[bytes, str]) -> tuple[int, str]:
    """Runs `argv` with a pseudo-terminal as its controlling terminal, typing each answer when its prompt shows;
    its exit code and everything the terminal showed. Bounded: a command that hangs is killed after 60 s."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the command (nothing of the test runs here)
        os.execve(argv[0], argv, environ)  # noqa: S606 - our own command, by its full path, no shell
    shown, pending = b"", dict(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal: it has ended
            break
        if not chunk:
            break
        shown += chunk
        for prompt in [p for p in pending if p in shown]:
            os.write(fd, pending.pop(prompt).encode() + b"\n")
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")
