"""The clinic admin's command line against the running stack: a clinic it creates can book at once, and a
mistake is one line on stderr and a failing exit status, as a shell script needs."""

from __future__ import annotations

import json

from tests.e2e.conftest import NEW_YORK, Http, LocalStack, day_after


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
