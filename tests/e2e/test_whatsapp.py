"""WhatsApp end to end on the running local stack, driven over HTTP and the admin command line only: the clinic
connects its sender and names a Spanish template; a patient who prefers WhatsApp gets the confirmation as that
template; their "C" on WhatsApp confirms and is answered there; a reminder inside the 24-hour window they opened
goes free-form. The outbox shows each WhatsApp message with its channel, the number in E.164 and its words."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import Clinic, LocalStack, day_after
from tests.whatsapp_support import SPANISH_CONFIRMATION_TEMPLATES

SENDER = "phone-number-id-e2e0000000000000000000000000000a"


def test_confirmation_as_a_spanish_template_a_c_confirms_and_a_reminder_in_the_window_goes_free_form(
    stack: LocalStack, clinic: Clinic
) -> None:
    phone = "+14155550187"  # no other e2e test uses it: the stack (and its outbox) is shared by the session
    stack.connect_whatsapp(clinic, SENDER, {"whatsapp": {"templates": SPANISH_CONFIRMATION_TEMPLATES}})
    start = day_after(stack.now(), 2, 10, 0, "America/New_York")
    patient = {"name": "Pat Example", "phone": phone, "language": "es"}
    booked = stack.book_for(
        clinic,
        {"patient": {**patient, "whatsapp_opt_in": True, "preferred_channel": "whatsapp"}, "start": start.isoformat()},
    )

    # THEN the confirmation is the clinic's template, in Spanish, and nothing went by SMS
    # WhatsApp messages keep CLDR's accents (only an SMS is folded to GSM-7, where Saturday reads "sab").
    day = {0: "lun", 1: "mar", 2: "mié", 3: "jue", 4: "vie", 5: "sáb", 6: "dom"}[start.weekday()]
    month = "ene feb mar abr may jun jul ago sept oct nov dic".split()[start.month - 1]  # CLDR's Spanish
    confirmation = f"Riverside Family Clinic: su cita es el {day} {start.day} {month} a las 10:00."
    assert [(m["channel"], m["to"], m["body"]) for m in stack.outbox(phone)] == [("whatsapp", phone, confirmation)]

    # WHEN the patient writes "C" on WhatsApp a day later
    stack.advance_to(start - timedelta(hours=25))
    status, answer = stack.local.post("/_local/whatsapp/inbound", {"from": phone, "body": "C", "to": SENDER})
    assert status == 202, answer

    # THEN the appointment is confirmed, and the answer comes by WhatsApp, in Spanish
    status, appointment = stack.api(clinic).get(f"/v1/appointments/{booked['id']}")
    assert (status, appointment["confirmed_via"]) == (200, "whatsapp")
    replies = stack.outbox(phone)[1:]
    assert [(m["channel"], m["body"]) for m in replies] == [
        (
            "whatsapp",
            f"Riverside Family Clinic: gracias, su cita del {day} {start.day} de {month}, 10:00 queda confirmada.",
        )
    ]

    # AND the 24-hour reminder, an hour later, inside the window the patient opened, goes free-form (no template)
    stack.advance_to(start - timedelta(hours=24) + timedelta(minutes=1))
    reminder = stack.outbox(phone)[2:]
    assert [m["channel"] for m in reminder] == ["whatsapp"]
    assert reminder[0]["body"].startswith(
        f"Riverside Family Clinic: le recordamos su cita del {day} {start.day} de {month}"
    )


def test_the_local_whatsapp_routes_refuse_what_no_patient_could_send(stack: LocalStack) -> None:
    status, refused = stack.local.post("/_local/whatsapp/inbound", {"from": "Pat", "body": "C", "to": SENDER})
    assert status == 400
    assert refused["error"]["fields"] == [
        {"field": "from", "problem": "is not a phone number with its country code, such as +14155550100"}
    ]
    status, marked = stack.local.post("/_local/whatsapp/not-on-whatsapp", {"phone": "+14155550188"})
    assert (status, marked) == (200, {"phone": "+14155550188", "on_whatsapp": False})


def test_a_number_not_on_whatsapp_gets_the_confirmation_by_sms_exactly_once(stack: LocalStack, clinic: Clinic) -> None:
    phone = "+14155550186"  # no other e2e test uses it
    sender = "phone-number-id-e2e0000000000000000000000000000b"  # this clinic's own sender
    stack.connect_whatsapp(clinic, sender, {"whatsapp": {"templates": SPANISH_CONFIRMATION_TEMPLATES}})
    status, marked = stack.local.post("/_local/whatsapp/not-on-whatsapp", {"phone": phone})
    assert status == 200, marked
    start = day_after(stack.now(), 2, 10, 0, "America/New_York")
    patient = {"name": "Pat Example", "phone": phone, "language": "es"}

    stack.book_for(
        clinic,
        {"patient": {**patient, "whatsapp_opt_in": True, "preferred_channel": "whatsapp"}, "start": start.isoformat()},
    )
    # WhatsApp took the template and then reported it failed (131026): the stack hands that status over after
    # the request and on each tick, so a few ticks later any second fallback would be in the outbox too.
    stack.advance_to(stack.now() + timedelta(minutes=10))
    stack.advance_to(stack.now() + timedelta(minutes=10))

    # THEN the same confirmation went once more, by SMS, in Spanish, and nothing else
    # The SMS is GSM-7 (never UCS-2 by accident): é is in that alphabet, á is not, so Saturday reads "sab".
    day = {0: "lun", 1: "mar", 2: "mié", 3: "jue", 4: "vie", 5: "sab", 6: "dom"}[start.weekday()]
    month = "ene feb mar abr may jun jul ago sept oct nov dic".split()[start.month - 1]  # CLDR's Spanish
    assert [(m["channel"], m["to"]) for m in stack.outbox(phone)] == [("whatsapp", phone), ("sms", phone)]
    assert (
        stack.outbox(phone)[1]["body"] == f"Riverside Family Clinic: su cita es el {day} {start.day} de {month}, 10:00."
    )
    status, usage = stack.api(clinic).get("/v1/usage")
    assert (status, usage["messages"]) == (200, {"sms": 1, "email": 0, "whatsapp": 1, "messenger": 0})
