"""Messenger end to end on the running local stack, over HTTP and the admin command line only: the clinic connects
its Page (`set-messenger`, the secrets from the environment) and names an English utility template; Meta's
subscription check gets its challenge back; a patient who prefers Messenger opens the m.me link of their SMS
confirmation, and Meta's referral event (signed with the app secret) links them; a forged signature is a 401; the
24-hour reminder then goes by Messenger, outside the window as the clinic's template, to the patient's PSID in
the outbox; usage counts it as Messenger."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import timedelta

from tests.e2e.conftest import Clinic, LocalStack, day_after
from tests.messenger_support import TEMPLATES

PAGE_ID = "000000000000188"  # no other e2e test uses it: the stack is shared by the session
PSID = "0000000000000188"
PHONE = "+14155550178"
APP_SECRET = "e2e-app-secret-not-a-real-one"


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_a_patient_links_messenger_through_the_referral_and_then_gets_the_reminder_there(
    stack: LocalStack, clinic: Clinic
) -> None:
    secrets = {
        "CARECUE_MESSENGER_PAGE_TOKEN": "e2e-page-token-not-a-real-one",
        "CARECUE_MESSENGER_APP_SECRET": APP_SECRET,
    }
    connected = stack.admin("set-messenger", "--clinic", clinic.clinic_id, "--page-id", PAGE_ID, env=secrets)
    assert connected.returncode == 0, connected.stderr
    printed = json.loads(connected.stdout)
    assert printed["webhook_url"] == f"{stack.api_url}/webhooks/messenger"
    assert APP_SECRET not in connected.stdout
    status, settings = stack.api(clinic).request("PUT", "/v1/clinic", {"messenger": {"templates": TEMPLATES}})
    assert status == 200, settings

    # Meta's subscription check, as the app's dashboard makes it when the callback URL is saved
    query = f"hub.mode=subscribe&hub.verify_token={printed['verify_token']}&hub.challenge=1158201444"
    status, content_type, challenge = stack.local.raw("GET", f"/webhooks/messenger?{query}")
    assert (status, challenge) == (200, "1158201444"), challenge
    status, refused = stack.local.get("/webhooks/messenger?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")
    assert (status, refused["error"]["code"]) == (403, "forbidden")

    # GIVEN a patient who prefers Messenger books: the SMS confirmation offers the clinic's m.me link
    # Three days ahead: the 24-hour reminder is then at least a day after the referral, its window closed.
    start = day_after(stack.now(), 3, 10, 0, "America/New_York")
    patient = {"name": "Pat Example", "phone": PHONE, "preferred_channel": "messenger"}
    booked = stack.book_for(clinic, {"patient": patient, "start": start.isoformat()})
    [confirmation] = stack.outbox(PHONE)
    assert confirmation["channel"] == "sms"
    found = re.search(
        rf"Get your reminders on Messenger: https://m\.me/{PAGE_ID}\?ref=([A-Za-z0-9_-]+)", confirmation["body"]
    )
    assert found is not None, confirmation["body"]

    # WHEN Meta delivers the referral of the patient opening it, but forged: refused, nothing linked
    now_ms = int(stack.now().timestamp() * 1000)
    event = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": now_ms,
        "referral": {"ref": found.group(1), "source": "SHORTLINK", "type": "OPEN_THREAD"},
    }
    body = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": now_ms, "messaging": [event]}]}).encode()
    status, forged = stack.local.request("POST", "/webhooks/messenger", body, signed(body, "not-the-app-secret"))
    assert (status, forged["error"]["code"]) == (401, "unauthorized")
    status, view = stack.api(clinic).get(f"/v1/patients/{booked['patient']['id']}")
    assert (status, view["messenger"]) == (200, None)

    # AND signed with the app secret: the PSID is linked to the patient
    status, received = stack.local.request("POST", "/webhooks/messenger", body, signed(body))
    assert (status, received["linked"]) == (200, 1), received
    status, view = stack.api(clinic).get(f"/v1/patients/{booked['patient']['id']}")
    assert view["messenger"]["source"] == "messenger_referral"

    # THEN the 24-hour reminder, more than a day later (the window closed), goes by Messenger as the template
    stack.advance_to(start - timedelta(hours=24) + timedelta(minutes=1))
    assert [m["channel"] for m in stack.outbox(PHONE)] == ["sms"]  # nothing more by SMS
    [reminder] = stack.outbox(PSID)
    assert reminder["channel"] == "messenger"
    weekday = start.strftime("%a")
    assert reminder["body"].startswith(
        f"Riverside Family Clinic: your appointment is on {weekday} {start.day} {start.strftime('%b')} at 10:00 AM. "
        "Confirm: "
    )
    status, usage = stack.api(clinic).get("/v1/usage?month=" + f"{reminder['sent_at'][:7]}")
    assert status == 200
    assert usage["messages"]["messenger"] == 1

    # AND Meta reported it delivered (the fake's message_deliveries, posted signed to the webhook): when the
    # clinic's delivery window ends, nothing more goes by SMS, and the reminder shows delivered
    stack.advance_to(start - timedelta(hours=24) + timedelta(minutes=30))
    assert [m["channel"] for m in stack.outbox(PHONE)] == ["sms"]
    status, shown = stack.api(clinic).get(f"/v1/appointments/{booked['id']}")
    assert status == 200, shown
    delivery = next(r for r in shown["reminders"] if r["id"] == "reminder-24h.sms")["delivery"]
    assert (delivery["channel"], delivery["receipt"]) == ("messenger", "delivered")
