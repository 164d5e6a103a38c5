"""A dose reminder by WhatsApp end to end on the running local stack, driven over HTTP and the admin command line
only: the clinic connects its sender and names a Spanish `dose` template; a patient who prefers WhatsApp gets the
dose as that template, filled in Spanish with the dose time and the taken link; their "1" on WhatsApp marks it
taken and is answered there; nothing goes by SMS, and usage counts both on WhatsApp.

The stack's clock is shared by the session and only moves forwards: the dose is the first 08:00 in New York a
day or more after the stack's `now`."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.e2e.conftest import Clinic, LocalStack, day_after, iso_z

PHONE = "+14155550163"  # no other e2e test uses it: the stack (and its outbox) is shared by the session
SENDER = "phone-number-id-e2e0000000000000000000000000000c"  # this clinic's own sender
NEW_YORK = "America/New_York"
TEMPLATES = {
    "dose": {
        "es": {
            "name": "carecue_dose",
            "body": "{{1}}: es hora de su medicamento de las {{2}}. Tomado: {{3}}",
            "parameters": ["clinic", "time", "link"],
        }
    }
}


def test_a_dose_goes_as_the_spanish_whatsapp_template_and_a_1_there_marks_it_taken(
    stack: LocalStack, clinic: Clinic
) -> None:
    stack.connect_whatsapp(clinic, SENDER, {"whatsapp": {"templates": TEMPLATES}})
    api = stack.api(clinic)
    dose = day_after(stack.now(), 1, 8, 0, NEW_YORK)
    patient = {"name": "Pat Example", "phone": PHONE, "language": "es"}
    status, regimen = api.post(
        "/v1/regimens",
        {
            "patient": {**patient, "whatsapp_opt_in": True, "preferred_channel": "whatsapp"},
            "medication": "Examplamab 10 mg",
            "timing": {
                "repeat": {
                    "frequency": 1,
                    "period": 1,
                    "periodUnit": "d",
                    "timeOfDay": ["08:00:00"],
                    "boundsPeriod": {
                        "start": iso_z(dose - timedelta(hours=1)),
                        "end": iso_z(dose + timedelta(hours=1)),
                    },
                }
            },
        },
    )
    assert status == 201, regimen

    # WHEN the dose falls due (the patient has not written: the 24-hour window is closed)
    stack.advance_to(dose + timedelta(minutes=1))

    # THEN it came by WhatsApp as the clinic's template, in Spanish, with the dose's taken link; nothing by SMS
    messages = stack.outbox(PHONE)
    assert [m["channel"] for m in messages] == ["whatsapp"]
    assert re.fullmatch(
        r"Riverside Family Clinic: es hora de su medicamento de las 8:00\. Tomado: https?://\S+/d/[A-Za-z0-9_-]{44}",
        messages[0]["body"],
    ), messages[0]["body"]

    # WHEN the patient answers "1" on WhatsApp
    status, answer = stack.local.post("/_local/whatsapp/inbound", {"from": PHONE, "body": "1", "to": SENDER})
    assert status == 202, answer

    # THEN the dose is taken, the answer comes by WhatsApp in Spanish, and no follow-up follows half an hour later
    stack.advance_to(dose + timedelta(minutes=45))
    assert [(m["channel"], m["body"]) for m in stack.outbox(PHONE)[1:]] == [
        ("whatsapp", "Riverside Family Clinic: gracias, su medicamento de las 8:00 queda marcado como tomado.")
    ]
    window = f"from={iso_z(dose - timedelta(hours=1))}&to={iso_z(dose + timedelta(hours=1))}"
    status, adherence = api.get(f"/v1/regimens/{regimen['id']}/adherence?{window}")
    assert status == 200, adherence
    assert [(d["status"], d["taken_via"]) for d in adherence["doses"]] == [("taken", "whatsapp")]
    status, usage = api.get("/v1/usage")
    assert (status, usage["messages"]) == (200, {"sms": 0, "email": 0, "whatsapp": 2, "messenger": 0})
