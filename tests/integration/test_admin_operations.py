"""The admin commands an operator runs against a stage (here moto): clinics, their keys and status, and the
redrive of timers Scheduler dead-lettered. What the terminal shows, what is stored, what patients receive."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from moto.sns.models import sns_backends

from chalicelib.admin.cli import build_parser, main
from chalicelib.store.models import Clinic
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World
from tests.integration.test_fire import book, reminder_status
from tests.timer_support import timer_event

# Reminders end with a confirm link; what identifies the 24 h one is its text before it.
REMINDER_24H = "Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00 AM."


def reminders_24h(bodies: list[str]) -> int:
    return sum(1 for body in bodies if body.startswith(REMINDER_24H))


def admin(capsys: pytest.CaptureFixture[str], *argv: str, clock: SimulatedClock | None = None) -> tuple[int, Any, str]:
    capsys.readouterr()  # what the test's own set-up printed
    code = main(["--stage", "test", *argv], clock=clock)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def sms_bodies(world: World) -> list[str]:
    """Every SMS moto's SNS accepted, from any client (the CLI makes its own)."""
    backend = sns_backends["123456789012"][world.services.settings.region]
    return [message for _, message in backend.sms_messages.values()]


def dead_letter(world: World, body: str) -> None:
    """What Scheduler does with an event it could not deliver after its retries."""
    sqs = world.session.client("sqs")
    url = sqs.get_queue_url(QueueName="carecue-test-reminders-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=body)


def queue_depth(world: World) -> int:
    sqs = world.session.client("sqs")
    url = sqs.get_queue_url(QueueName="carecue-test-reminders-dlq")["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_list_clinics_shows_every_clinic_by_name_with_its_status(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    other = aws.services.clinics.create("Alder Street Dental", "America/Chicago")
    Clinic.get(other.clinic_id).update(actions=[Clinic.status.set("suspended")])

    code, printed, _ = admin(capsys, "list-clinics")

    assert code == 0
    assert [(c["name"], c["status"], c["timezone"]) for c in printed["clinics"]] == [
        ("Alder Street Dental", "suspended", "America/Chicago"),
        ("Riverside Family Clinic", "active", "America/New_York"),
    ]
    assert all("api_key" not in c and "api_key_hash" not in c for c in printed["clinics"])


def test_a_rotated_api_key_works_at_once_and_the_old_one_stops(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, _ = admin(capsys, "rotate-api-key", "--clinic", clinic.clinic_id)

    assert code == 0
    assert printed["api_key"].startswith("cc_") and printed["api_key"] != clinic.api_key
    assert aws.services.clinics.authenticate(f"Bearer {printed['api_key']}") == clinic.clinic_id
    assert aws.services.clinics.authenticate(f"Bearer {clinic.api_key}") is None


def test_a_suspended_clinic_is_refused_until_it_is_resumed(
    aws: World, clinic: ClinicKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    assert admin(capsys, "suspend-clinic", "--clinic", clinic.clinic_id)[1]["status"] == "suspended"
    assert aws.services.clinics.authenticate(f"Bearer {clinic.api_key}") is None

    assert admin(capsys, "resume-clinic", "--clinic", clinic.clinic_id)[1]["status"] == "active"
    assert aws.services.clinics.authenticate(f"Bearer {clinic.api_key}") == clinic.clinic_id


@pytest.mark.parametrize("command", ["rotate-api-key", "suspend-clinic", "resume-clinic"])
def test_an_unknown_clinic_is_one_line_and_a_non_zero_exit_and_creates_nothing(
    aws: World, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, printed, err = admin(capsys, command, "--clinic", "cln_nosuch")

    assert code != 0 and printed is None
    assert err == "error: clinic cln_nosuch not found\n"
    assert sum(1 for _ in Clinic.scan()) == 0


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {
        "create-clinic",
        "list-clinics",
        "rotate-api-key",
        "suspend-clinic",
        "resume-clinic",
        "redrive-dlq",
        "reconcile",
    } <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        assert f"usage: python -m chalicelib.admin {command}" in capsys.readouterr().out


def test_redrive_sends_a_dead_lettered_reminder_once_however_often_it_is_redriven(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN Scheduler dead-lettered the 24 h reminder's event (twice: it may deliver an event more than once)
    appointment_id = book(aws, clinic)
    body = json.dumps(timer_event(aws, appointment_id, "reminder-24h.sms"))
    dead_letter(aws, body)
    dead_letter(aws, body)
    clock.set(datetime.fromisoformat("2026-12-01T16:10:00Z"))

    # WHEN the admin redrives the queue, and once more
    code, printed, _ = admin(capsys, "redrive-dlq", clock=clock)
    again = admin(capsys, "redrive-dlq", clock=clock)[1]

    # THEN the reminder went out once, and the queue is empty
    assert code == 0
    assert printed["outcomes"] == {"sent": 1, "duplicate": 1}
    assert again["outcomes"] == {}
    assert reminders_24h(sms_bodies(aws)) == 1
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("sent", None)
    assert queue_depth(aws) == 0


def test_redrive_marks_a_reminder_too_late_to_help_missed_and_keeps_what_it_cannot_read(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    appointment_id = book(aws, clinic)
    dead_letter(aws, json.dumps(timer_event(aws, appointment_id, "reminder-24h.sms")))
    dead_letter(aws, "not a timer event")
    clock.set(datetime.fromisoformat("2026-12-02T09:00:00Z"))  # 18 h after the reminder was due

    code, printed, _ = admin(capsys, "redrive-dlq", "--max-late-hours", "6", clock=clock)

    assert code == 0
    assert printed["outcomes"] == {"missed": 1, "unreadable": 1}
    assert reminder_status(appointment_id, "reminder-24h.sms") == ("missed", "dead_lettered")
    assert reminders_24h(sms_bodies(aws)) == 0
    assert queue_depth(aws) == 1  # the unreadable event stays for a person to look at


def test_redrive_rejects_a_lateness_that_is_not_positive(aws: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, err = admin(capsys, "redrive-dlq", "--max-late-hours", "0")

    assert code != 0 and printed is None
    assert err.count("\n") == 1 and "--max-late-hours" in err


def test_reconcile_rearms_a_timer_deleted_by_hand_at_once_and_a_second_run_finds_nothing(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an admin deleted the 24 h reminder's timer in the Scheduler console
    appointment_id = book(aws, clinic)
    group = aws.services.settings.schedule_group
    name = f"{appointment_id}.reminder-24h.sms"
    aws.services.scheduler.delete_schedule(Name=name, GroupName=group)

    # WHEN the operator runs the reconciler now instead of waiting for the hour, twice
    code, printed, _ = admin(capsys, "reconcile", clock=clock)
    again = admin(capsys, "reconcile", clock=clock)[1]

    # THEN the timer is back as it was, the second run repairs nothing, and the output holds counts only
    assert code == 0
    assert (printed["rearmed"], again["rearmed"]) == (1, 0)
    assert printed["stage"] == "test"
    assert aws.services.scheduler.get_schedule(Name=name, GroupName=group)["ScheduleExpression"] == (
        "at(2026-12-01T15:00:00)"
    )
    assert appointment_id not in json.dumps(printed)
