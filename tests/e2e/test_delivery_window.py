"""The delivery window end to end on the running local stack: a patient whose phone is off (the WhatsApp emulator
withholds delivery: `POST /_local/whatsapp/withhold-delivery`) gets the confirmation by WhatsApp, and when the
clinic's window ends without a delivery report, the same confirmation once by SMS, in Spanish, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import Clinic, LocalStack, day_after
from tests.whatsapp_support import SPANISH_CONFIRMATION_TEMPLATES

SENDER = "phone-number-id-e2e0000000000000000000000000000d"  # this test's clinic's own sender


def test_a_confirmation_whatsapp_never_reports_delivered_goes_once_by_sms_when_the_window_ends(
    stack: LocalStack, clinic: Clinic
) -> None:
    phone = "+14155550173"  # no other e2e test uses it: the stack (and its outbox) is shared by the session
    saved = stack.connect_whatsapp(
        clinic, SENDER, {"whatsapp": {"templates": SPANISH_CONFIRMATION_TEMPLATES}, "delivery_window_minutes": 20}
    )
    assert saved["delivery_window_minutes"] == 20, saved
    status, marked = stack.local.post("/_local/whatsapp/withhold-delivery", {"phone": phone})
    assert (status, marked) == (200, {"phone": phone, "delivery_reported": False})
    start = day_after(stack.now(), 2, 10, 0, "America/New_York")
    patient = {"name": "Pat Example", "phone": phone, "language": "es", "whatsapp_opt_in": True}
    booked_at = stack.now()
    booked = stack.book_for(
        clinic, {"patient": {**patient, "preferred_channel": "whatsapp"}, "start": start.isoformat()}
    )

    # WHEN 19 minutes pass, the window is still open: WhatsApp only
    stack.advance_to(booked_at + timedelta(minutes=19))
    assert [m["channel"] for m in stack.outbox(phone)] == ["whatsapp"]

    # THEN once it has ended (and well after), the same confirmation went once by SMS
    stack.advance_to(booked_at + timedelta(minutes=21))
    stack.advance_to(booked_at + timedelta(minutes=40))
    day = {0: "lun", 1: "mar", 2: "mié", 3: "jue", 4: "vie", 5: "sab", 6: "dom"}[start.weekday()]
    month = "ene feb mar abr may jun jul ago sept oct nov dic".split()[start.month - 1]  # CLDR's Spanish
    assert [(m["channel"], m["to"]) for m in stack.outbox(phone)] == [("whatsapp", phone), ("sms", phone)]
    assert (
        stack.outbox(phone)[1]["body"] == f"Riverside Family Clinic: su cita es el {day} {start.day} de {month}, 10:00."
    )
    status, shown = stack.api(clinic).get(f"/v1/appointments/{booked['id']}")
    assert status == 200, shown
    delivery = next(r for r in shown["reminders"] if r["id"] == "confirmation.sms")["delivery"]
    assert (delivery["channel"], delivery["receipt"]) == ("whatsapp", "sent")
    assert (delivery["fallback"]["channel"], delivery["fallback"]["reason"]) == ("sms", "whatsapp_not_delivered")
