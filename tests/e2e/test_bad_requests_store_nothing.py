"""Requests the running stack must refuse: each is answered with the status and the field a clinic's developer
needs to fix it, and none of them stores a booking, arms a timer or messages the patient."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.e2e.conftest import NEW_YORK, Clinic, LocalStack, day_after, iso_z

PHONE = "+14155550105"
EMAIL = "pat.refused@example.org"


def booking(start: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"patient": {"name": "Pat Example", "phone": PHONE, "email": EMAIL}, "start": start}
    body.update(overrides)
    return body


def test_bad_requests_are_refused_naming_the_problem_and_store_nothing(stack: LocalStack, clinic: Clinic) -> None:
    # GIVEN another clinic with an appointment of its own
    now = stack.now()
    start = day_after(now, 2, 10, 0, NEW_YORK).isoformat()
    other_clinic = stack.create_clinic("Hillside Clinic", "America/Chicago")
    theirs = stack.book_for(other_clinic, {"patient": {"name": "Sam Example", "phone": "+14155550150"}, "start": start})
    pending_before = stack.pending()
    api = stack.api(clinic)
    past = (now - timedelta(hours=1)).isoformat()
    invalid: list[tuple[str, Any, str, str]] = [
        ("malformed JSON", b'{"patient": {', "body", "not valid JSON"),
        (
            "phone that is no number",
            booking(start, patient={"name": "Pat Example", "phone": "call the desk"}),
            "patient.phone",
            "not a valid phone number",
        ),
        (
            "bad email",
            booking(start, patient={"name": "Pat Example", "email": "pat.at.example.org"}),
            "patient.email",
            "email",
        ),
        ("start in the past", booking(past), "start", "in the past"),
        (
            "unknown time zone",
            booking(start, patient={"name": "Pat Example", "phone": PHONE, "timezone": "Mars/Olympus"}),
            "patient.timezone",
            "IANA",
        ),
        ("no patient", {"start": start}, "patient", "required"),
    ]

    # WHEN each is sent, THEN each is refused with 400 naming its field
    for case, body, field, words in invalid:
        status, answer = api.post("/v1/appointments", body)
        assert status == 400, (case, answer)
        problems = {p["field"]: p["problem"] for p in answer["error"]["fields"]}
        assert field in problems, (case, problems)
        assert words in problems[field], (case, problems)

    status, answer = api.post("/v1/appointments", booking(start, location="x" * 70_000))
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")
    status, answer = stack.api().post("/v1/appointments", booking(start))
    assert status == 401, answer
    wrong_key = Clinic(clinic.clinic_id, clinic.name, clinic.timezone, "cc_not-the-clinics-key", "")
    status, answer = stack.api(wrong_key).post("/v1/appointments", booking(start))
    assert status == 403, answer
    status, answer = api.get(f"/v1/appointments/{theirs['id']}")
    assert (status, answer["error"]["code"]) == (404, "not_found")
    status, answer = api.delete(f"/v1/appointments/{theirs['id']}")
    assert (status, answer["error"]["code"]) == (404, "not_found")

    # THEN the clinic has no appointment, no timer was armed, the patient got nothing, the other clinic's stands
    window = f"from={iso_z(now - timedelta(days=1))}&to={iso_z(now + timedelta(days=30))}"
    status, listed = api.get(f"/v1/appointments?{window}")
    assert (status, listed) == (200, {"appointments": [], "next": None})
    assert stack.outbox(PHONE, EMAIL) == []
    assert stack.pending() == pending_before
    status, still_theirs = stack.api(other_clinic).get(f"/v1/appointments/{theirs['id']}")
    assert (status, still_theirs["status"]) == (200, "booked")
