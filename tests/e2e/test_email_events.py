"""SES's configuration-set events end to end on a local stack that sends with a configuration set
(`CARECUE_SES_CONFIGURATION_SET`, as the AWS stage does; infra/local/ses_events.py publishes the events SES would):
an email confirmation shows delivered in the appointment; one to the SES mailbox simulator's bounce address bounces
for good, stops email to it, and goes once by SMS instead."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.local.ports import free_ports
from tests.e2e.conftest import (
    CLOCK_START,
    READY_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    Clinic,
    LocalStack,
    StackProcess,
    address,
    day_after,
)
from tests.whatsapp_support import ENGLISH_CONFIRMATION_TEMPLATES


@pytest.fixture(scope="module")
def ses_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of this module's own, sending email with the configuration set `carecue-local`."""
    api_port, aws_port = free_ports(2)
    data = tmp_path_factory.mktemp("ses-stack") / "data"
    command = ["env", "CARECUE_SES_CONFIGURATION_SET=carecue-local", sys.executable, "-m", "infra.local"]
    command += ["--port", str(api_port), "--aws-port", str(aws_port), "--frozen-clock", "--clock-start", CLOCK_START]
    process = StackProcess(command=[*command, "--data", str(Path(data))])
    process.start()
    try:
        process.wait_ready(READY_TIMEOUT_SECONDS)
        yield LocalStack(address(process.output, "CareCue API:"), address(process.output, "Local AWS:"), process)
    finally:
        process.terminate(STOP_TIMEOUT_SECONDS)
        process.kill()


def delivery_of(stack: LocalStack, clinic: Clinic, appointment_id: str, reminder_id: str) -> dict[str, Any]:
    status, shown = stack.api(clinic).get(f"/v1/appointments/{appointment_id}")
    assert status == 200, shown
    return dict(next(r for r in shown["reminders"] if r["id"] == reminder_id)["delivery"])


def test_an_email_confirmation_shows_delivered_from_ses_events(ses_stack: LocalStack) -> None:
    clinic = ses_stack.create_clinic()
    email = "pat165@example.com"
    start = day_after(ses_stack.now(), 2, 10, 0, "America/New_York")
    patient = {"name": "Pat Example", "email": email}

    booked = ses_stack.book_for(clinic, {"patient": patient, "start": start.isoformat()})

    assert [m["channel"] for m in ses_stack.outbox(email)] == ["email"]
    delivery = delivery_of(ses_stack, clinic, booked["id"], "confirmation.email")
    assert (delivery["channel"], delivery["receipt"], delivery["delivery_seconds"]) == ("email", "delivered", 0.0)
    # The window ends with the message delivered: nothing more goes.
    ses_stack.advance_to(ses_stack.now() + timedelta(minutes=20))
    assert [m["channel"] for m in ses_stack.outbox(email)] == ["email"]


def test_an_email_to_the_simulators_bounce_address_goes_once_by_sms(ses_stack: LocalStack) -> None:
    clinic = ses_stack.create_clinic()
    email, phone = "bounce@simulator.amazonses.com", "+14155550165"
    start = day_after(ses_stack.now(), 2, 10, 0, "America/New_York")
    patient = {"name": "Pat Example", "email": email, "phone": phone, "preferred_channel": "email"}

    booked = ses_stack.book_for(clinic, {"patient": patient, "start": start.isoformat()})
    ses_stack.advance_to(ses_stack.now() + timedelta(minutes=20))

    assert [m["channel"] for m in ses_stack.outbox(email)] == ["email"]
    assert [m["channel"] for m in ses_stack.outbox(phone)] == ["sms"]
    delivery = delivery_of(ses_stack, clinic, booked["id"], "confirmation.email")
    assert (delivery["receipt"], delivery["failure"]) == ("failed", "email_bounce_general")
    assert delivery["fallback"] == {
        "channel": "sms",
        "status": "sent",
        "reason": "email_bounce_general",
        "sent_at": delivery["sent_at"],
    }


SENDER = "phone-number-id-e2e0000000000000000000000000000e"  # this module's WhatsApp clinic's own sender


def test_a_confirmation_whatsapp_reports_failed_goes_once_by_email_and_ses_reports_that_fallback_delivered(
    ses_stack: LocalStack,
) -> None:
    clinic = ses_stack.create_clinic()
    phone, email = "+14155550166", "pat166@example.com"
    order = ["whatsapp", "email", "sms"]
    ses_stack.connect_whatsapp(
        clinic, SENDER, {"whatsapp": {"templates": ENGLISH_CONFIRMATION_TEMPLATES}, "channel_order": order}
    )
    status, marked = ses_stack.local.post("/_local/whatsapp/not-on-whatsapp", {"phone": phone})
    assert status == 200, marked
    start = day_after(ses_stack.now(), 2, 10, 0, "America/New_York")
    patient = {"name": "Pat Example", "phone": phone, "email": email, "whatsapp_opt_in": True}

    booked = ses_stack.book_for(
        clinic, {"patient": {**patient, "preferred_channel": "whatsapp"}, "start": start.isoformat()}
    )

    # THEN WhatsApp took it and reported it failed; it went once by email, which SES reported delivered
    assert [m["channel"] for m in ses_stack.outbox(phone)] == ["whatsapp"]
    assert [m["channel"] for m in ses_stack.outbox(email)] == ["email"]
    delivery = delivery_of(ses_stack, clinic, booked["id"], "confirmation.sms")
    assert (delivery["channel"], delivery["receipt"], delivery["failure"]) == ("whatsapp", "failed", "whatsapp_131026")
    fallback = delivery["fallback"]
    assert (fallback["channel"], fallback["status"], fallback["receipt"]) == ("email", "sent", "delivered")
    assert fallback["delivered_at"] == fallback["sent_at"]
