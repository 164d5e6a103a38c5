"""Local stand-in for Meta's Send API (there is no emulator of the Graph API): the `MessengerApi` the tests and the
local stack give the app (`Services.messenger_api`), in infra/local, never in the Lambda package. It checks each
request body as the Send API would and records each message it takes in the outbox with `"channel": "messenger"`,
`to` the PSID and the words as the patient reads them (a template filled in).

What it checks, answering a refusal as the Graph API's error codes (a permanent `ChannelError`):
- a Page access token was given, `recipient.id` is a PSID (digits) that linked this Page (CareCue's record of the
  referral stands for what Meta knows): else 551, "this person isn't available right now";
- a text (`messaging_type: RESPONSE`) only inside the 24-hour standard messaging window (the PSID wrote, linked or
  tapped in the last 24 hours, as CareCue recorded from the webhook): else 10, outside the allowed window;
- a utility template (`messaging_type: UTILITY`) exists under that name and language for the Page (the clinic's
  templates saved with `PUT /v1/clinic` stand for its approved ones), with as many body parameters as its body has
  placeholders, none empty: else 100, invalid parameter.

Each message it takes is also reported delivered, as Meta does to a Page subscribed to `message_deliveries`: a
`delivery` event naming its mid with a watermark at the send (`take_receipts`), which the local stack posts to the
app's webhook signed with the clinic's app secret (`deliver_receipts`), so the clinic's delivery window sees it
delivered. A PSID marked with `withhold_delivery` gets none (the patient never opened Messenger).
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from chalicelib.core.clock import Clock
from chalicelib.send.messenger import graph_error
from infra.local.outbox import Outbox

_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class FakeMessengerApi:
    def __init__(self, clock: Clock, outbox: Outbox) -> None:
        self._clock = clock
        self._outbox = outbox
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []  # every body sent, accepted or not, as the Send API got it
        self._receipts: list[dict[str, Any]] = []
        self._withheld: set[str] = set()

    def send(self, page_id: str, page_token: str, message: dict[str, Any]) -> str:
        with self._lock:
            self.requests.append({"page_id": page_id, **message})
        words, psid = self._check(page_id, page_token, message)
        message_id = f"m_{uuid.uuid4().hex}"
        self._outbox.record("messenger", psid, None, words, message_id)
        self._queue_delivery(page_id, psid, message_id)
        return message_id

    def withhold_delivery(self, psid: str) -> None:
        """Messages to `psid` are taken and never reported delivered."""
        with self._lock:
            self._withheld.add(psid)

    def take_receipts(self) -> list[dict[str, Any]]:
        """The `message_deliveries` webhook bodies queued since the last call, as Meta posts them."""
        with self._lock:
            receipts, self._receipts = self._receipts, []
        return receipts

    def _queue_delivery(self, page_id: str, psid: str, mid: str) -> None:
        at = int(self._clock.now().timestamp() * 1000)
        event = {"sender": {"id": psid}, "recipient": {"id": page_id}, "delivery": {"mids": [mid], "watermark": at}}
        body = {"object": "page", "entry": [{"id": page_id, "time": at, "messaging": [event]}]}
        with self._lock:
            if psid not in self._withheld:
                self._receipts.append(body)

    def _check(self, page_id: str, page_token: str, message: dict[str, Any]) -> tuple[str, str]:
        from chalicelib.patients.messenger import messenger_state

        clinic = _clinic_of(page_id)
        psid = (message.get("recipient") or {}).get("id")
        if clinic is None or not page_token:
            raise graph_error(400, {"error": {"code": 190, "message": "Invalid OAuth access token"}})
        if not isinstance(psid, str) or not psid.isdigit():
            raise graph_error(400, {"error": {"code": 100, "message": "recipient.id must be a PSID"}})
        state = messenger_state(clinic.clinic_id, psid, self._clock.now())
        if not state.opted_in:  # the PSID is linked to a patient
            raise graph_error(400, {"error": {"code": 551, "message": "This person isn't available right now"}})
        kind = message.get("messaging_type")
        content = message.get("message") or {}
        if kind == "RESPONSE":
            text = content.get("text")
            if not state.window_open:
                raise graph_error(400, {"error": {"code": 10, "message": "outside of allowed window"}})
            if not isinstance(text, str) or not text:
                raise graph_error(400, {"error": {"code": 100, "message": "message.text is required"}})
            return text, psid
        if kind != "UTILITY":
            raise graph_error(400, {"error": {"code": 100, "message": "messaging_type must be RESPONSE or UTILITY"}})
        payload = (content.get("attachment") or {}).get("payload") or {}
        body = _templates(clinic).get((str(payload.get("template_name")), str(payload.get("language"))))
        if payload.get("template_type") != "utility" or body is None:
            raise graph_error(400, {"error": {"code": 100, "message": "template does not exist in that language"}})
        parameters = [
            p.get("text") for c in payload.get("components", []) if c.get("type") == "body" for p in c["parameters"]
        ]
        wanted = len({int(n) for n in _PLACEHOLDER.findall(body)})
        if len(parameters) != wanted or not all(isinstance(p, str) and p for p in parameters):
            raise graph_error(400, {"error": {"code": 100, "message": "number of parameters does not match"}})
        return _PLACEHOLDER.sub(lambda m: str(parameters[int(m.group(1)) - 1]), body), psid


def _clinic_of(page_id: str) -> Any:
    from chalicelib.store.clinics import clinic_with_messenger_page

    return clinic_with_messenger_page(page_id)


def _templates(clinic: Any) -> dict[tuple[str, str], str]:
    from chalicelib.clinics.policy import clinic_policy

    saved = clinic_policy(clinic).messenger.templates
    return {(t.name, t.language_code): t.body for by_language in saved.values() for t in by_language.values()}


def deliver_receipts(receipts: list[dict[str, Any]], services: Any) -> int:
    """Posts each receipt (`take_receipts`) to the app's Messenger webhook, signed as Meta signs it with the app
    secret of the Page's clinic (`set-messenger`); how many went. A Page no clinic has any more is skipped."""
    import json

    from chalicelib.replies.messenger import expected_signature

    delivered = 0
    for body in receipts:
        clinic = _clinic_of(str(body["entry"][0]["id"]))
        secret = services.messenger_credentials.for_clinic(clinic.clinic_id).app_secret if clinic else None
        if not secret:
            continue
        raw = json.dumps(body).encode("utf-8")
        services.messenger_webhook.receive(raw, expected_signature(secret, raw))
        delivered += 1
    return delivered
