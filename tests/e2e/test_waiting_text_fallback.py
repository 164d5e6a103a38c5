"""A waiting-room text's fallback end to end on the running local stack: a patient whose phone is off (the WhatsApp
emulator withholds delivery: `POST /_local/whatsapp/withhold-delivery`) is checked in by the front desk and gets
the wait-time text by WhatsApp, as the clinic's Spanish template; when the clinic's delivery window ends without a
delivery report, the same text goes once by SMS, its wait counted from then to the call time it promised.

Its own clinic, sender and phone number (no other e2e test uses them: the stack and its outbox are shared)."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import Clinic, LocalStack, day_after

SENDER = "phone-number-id-e2eWaitingTextFallback0001"  # this test's clinic's own sender
PHONE = "+14155550157"
TEMPLATES = {
    "wait-time": {
        "es": {
            "name": "carecue_wait_time",
            "body": "{{1}}: ya está registrado. Su espera es de unos {{2}} min.",
            "parameters": ["clinic", "minutes"],
        }
    }
}


def test_a_wait_text_whatsapp_never_reports_delivered_goes_once_by_sms_when_the_window_ends(
    stack: LocalStack, clinic: Clinic
) -> None:
    settings = {"whatsapp": {"templates": TEMPLATES}, "delivery_window_minutes": 10}
    assert stack.connect_whatsapp(clinic, SENDER, settings)["delivery_window_minutes"] == 10
    status, marked = stack.local.post("/_local/whatsapp/withhold-delivery", {"phone": PHONE})
    assert (status, marked) == (200, {"phone": PHONE, "delivery_reported": False})
    start = day_after(stack.now(), 1, 10, 0, "America/New_York")
    patient = {"name": "Pat Example", "phone": PHONE, "language": "es", "whatsapp_opt_in": True}
    body = {"patient": {**patient, "preferred_channel": "whatsapp"}, "start": start.isoformat(), "provider": "Dr. Ruiz"}
    booked = stack.book_for(clinic, body)

    # WHEN the front desk checks the patient in at 9:15, the provider free until the 10:00 visit
    stack.advance_to(start - timedelta(minutes=45))
    status, moved = stack.api(clinic).post(f"/v1/appointments/{booked['id']}/check-in", None)
    assert (status, moved["status"]) == (200, "arrived"), moved

    # THEN the wait text goes by WhatsApp; at 9:24 (the window still open) nothing else
    stack.advance_to(start - timedelta(minutes=36))
    name = clinic.name
    assert wait_texts(stack) == [("whatsapp", f"{name}: ya está registrado. Su espera es de unos 45 min.")]

    # WHEN the window has ended (9:25) and time goes on to 9:40
    stack.advance_to(start - timedelta(minutes=20))

    # THEN the same text went once by SMS, promising the same 10:00 call: 35 minutes from when it went
    assert wait_texts(stack) == [
        ("whatsapp", f"{name}: ya está registrado. Su espera es de unos 45 min."),
        ("sms", f"{name}: you are checked in. Your wait is about 35 min."),
    ]


def wait_texts(stack: LocalStack) -> list[tuple[str, str]]:
    return [
        (m["channel"], m["body"])
        for m in stack.outbox(PHONE)
        if any(words in m["body"] for words in ("checked in", "registrado"))
    ]
