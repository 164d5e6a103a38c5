"""The clinic admin's command line against the running stack: a clinic it creates can book at once, and a
mistake is one line on stderr and a failing exit status, as a shell script needs."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.e2e.conftest import NEW_YORK, Clinic, Http, LocalStack, day_after, parse_instant, spoken


def test_create_clinic_prints_credentials_that_work_at_once(stack: LocalStack) -> None:
    run = stack.admin("create-clinic", "--name", "Lakeside Clinic", "--timezone", "Europe/Berlin")

    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    created = json.loads(run.stdout)
    assert created["clinic_id"].startswith("cln_")
    assert created["api_key"].startswith("cc_")
    assert created["webhook_secret"]
    assert (created["name"], created["timezone"], created["stage"]) == ("Lakeside Clinic", "Europe/Berlin", "local")
    # The key printed is the one the API accepts: a clinic admin can book right after creating the clinic.
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK).isoformat()
    api = Http(stack.api_url, {"Authorization": f"Bearer {created['api_key']}"})
    status, booked = api.post(
        "/v1/appointments", {"patient": {"name": "Pat Example", "phone": "+14155550106"}, "start": start}
    )
    assert status == 201, booked


def test_create_clinic_with_an_unknown_time_zone_fails_with_one_line(stack: LocalStack) -> None:
    run = stack.admin("create-clinic", "--name", "Lakeside Clinic", "--timezone", "Mars/Olympus")

    assert run.returncode != 0
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert "Mars/Olympus" in lines[0]


def test_webhook_url_is_the_address_the_running_stack_serves(stack: LocalStack, clinic: Clinic) -> None:
    # The session's stack runs on ports the kernel chose, never the default 8000.
    run = stack.admin("webhook-url", "--clinic", clinic.clinic_id, "--provider", "calendly")

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["url"] == f"{stack.api_url}/webhooks/calendly/{clinic.clinic_id}"
    # ...and it is a route that stack answers: an unsigned delivery is refused by CareCue, not an unknown route.
    status, body = Http(stack.api_url).post(f"/webhooks/calendly/{clinic.clinic_id}", {"event": "invitee.created"})
    assert status == 401, body


def test_set_spend_cap_releases_held_reminders_on_the_stacks_clock(stack: LocalStack, clinic: Clinic) -> None:
    phone = "+14155550140"
    # GIVEN a clinic whose cap is 0, so its reminder is held when it comes due
    assert stack.admin("set-spend-cap", "--clinic", clinic.clinic_id, "--usd", "0").returncode == 0
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
    booked = stack.book_for(clinic, {"patient": {"name": "Pat Example", "phone": phone}, "start": start.isoformat()})
    stack.advance_to(start - timedelta(hours=20))  # the day-before reminder was held; 14:00 there, not quiet
    assert stack.outbox(phone) == []

    # WHEN the admin raises the cap, with the stack's clock a day and more away from the machine's
    held_at = stack.now()
    run = stack.admin("set-spend-cap", "--clinic", clinic.clinic_id, "--usd", "100")

    # THEN the reminder's release timer is a minute after the stack's now, and it goes out when the clock gets there
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["reminders_released"] == 1
    released = [p for p in stack.pending(f"{booked['id']}.") if p["schedule"].endswith(".cap")]
    assert [parse_instant(p["at"]) for p in released] == [held_at + timedelta(minutes=1)]
    stack.advance_to(held_at + timedelta(minutes=1))
    sent = stack.outbox(phone)
    assert len(sent) == 1
    assert parse_instant(sent[0]["sent_at"]) == held_at + timedelta(minutes=1)
    assert spoken(start, NEW_YORK) in sent[0]["body"]
