"""Local stand-in for AWS End User Messaging Social (moto has no `socialmessaging`): answers the one call CareCue
makes, `SendWhatsAppMessage`, as AWS and Meta's Cloud API would, and produces the events AWS would publish on the
WABA's SNS event destination. Lives in infra/local, never in the Lambda package.

It hooks the boto3 session the app's clients are made from (botocore's `before-call` event answers the call in
place of the HTTP request), so the production adapter (`chalicelib.send.whatsapp`) runs unchanged. What it checks
of the message JSON, as the Cloud API does:
- `messaging_product` is `whatsapp`, `to` is digits, `type` is `template` or `text`;
- a template exists under that name and language code (the clinic's own templates, as saved in `PUT /v1/clinic`,
  stand for Meta's approved ones), with as many body parameters as its body has placeholders, none empty;
- a free-form text goes only inside the customer-service window: the recipient wrote in the last 24 hours
  (what it saw through `inbound`);
- the recipient opted in (CareCue's own record of it: Meta does not check this, the business must).
A refusal is AWS's `ValidationException`. An accepted message gets a message id, and its statuses are queued:
`sent`, `delivered`, `read`; for a number marked not on WhatsApp (`not_on_whatsapp`), `failed` with Meta's error
131026 ("Message undeliverable"); for a number whose phone is off (`withhold_delivery`), `sent` only (Meta has
taken the message and reports nothing more until the phone is back, which the emulator never makes it).
`take_events` hands out the queued events as AWS's SNS message shape:
`{"context": {...}, "whatsAppWebhookEntry": "<Meta's webhook entry as JSON text>", ...}`.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from chalicelib.core.clock import Clock
from infra.local.sns_events import sns_lambda_event

WINDOW = timedelta(hours=24)
_OPERATION = "socialmessaging.SendWhatsAppMessage"
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
NOT_ON_WHATSAPP = {"code": 131026, "title": "Message undeliverable"}

# phone number id -> {(template name, Meta language code): template body}
Templates = Callable[[str], Mapping[tuple[str, str], str]]
# (phone number id, E.164 phone) -> opted in
OptedIn = Callable[[str, str], bool]


@dataclass(frozen=True)
class Refused(Exception):
    reason: str


class WhatsAppEmulator:
    def __init__(self, clock: Clock, templates: Templates, opted_in: OptedIn, waba_id: str = "waba-local") -> None:
        self._clock = clock
        self._templates = templates
        self._opted_in = opted_in
        self._waba_id = waba_id
        self._lock = threading.Lock()
        self._last_inbound: dict[str, datetime] = {}  # E.164 -> when they last wrote
        self._not_on_whatsapp: set[str] = set()
        self._withheld: set[str] = set()
        self._events: list[dict[str, Any]] = []

    def attach(self, session: Any) -> None:
        session.events.register(f"before-parameter-build.{_OPERATION}", self._remember)
        session.events.register(f"before-call.{_OPERATION}", self._answer)

    # --- what a test or the local routes do ------------------------------------------------------------------

    def not_on_whatsapp(self, phone: str) -> None:
        """Marks a number as having no WhatsApp account: messages to it fail (status `failed`, 131026)."""
        with self._lock:
            self._not_on_whatsapp.add(phone)

    def withhold_delivery(self, phone: str) -> None:
        """Marks a number's phone as off: messages to it are `sent` and never reported delivered or read."""
        with self._lock:
            self._withheld.add(phone)

    def inbound(self, phone_number_id: str, sender: str, body: str) -> str:
        """A patient writes: opens their window and queues the `messages[]` event AWS would publish."""
        now = self._clock.now()
        message_id = f"wamid.{uuid.uuid4().hex}"
        with self._lock:
            self._last_inbound[sender] = now
        message = {
            "from": sender.removeprefix("+"),
            "id": message_id,
            "timestamp": str(int(now.timestamp())),
            "type": "text",
            "text": {"body": body},
        }
        contact = {"profile": {"name": "WhatsApp user"}, "wa_id": sender.removeprefix("+")}
        self._queue(phone_number_id, {"contacts": [contact], "messages": [message]})
        return message_id

    def take_events(self) -> list[dict[str, Any]]:
        """The events queued since the last call, each an SNS message's JSON (what AWS publishes)."""
        with self._lock:
            events, self._events = self._events, []
        return events

    # --- the API call ----------------------------------------------------------------------------------------

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["carecue_whatsapp_request"] = dict(params)

    def _answer(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = context["carecue_whatsapp_request"]
        try:
            rendered, to = self._check(request["originationPhoneNumberId"], json.loads(request["message"]))
        except Refused as refused:
            error = {"Error": {"Code": "ValidationException", "Message": refused.reason}}
            return AWSResponse("https://social-messaging.local", 400, HTTPHeaders(), None), error
        message_id = str(uuid.uuid4())
        context["carecue_whatsapp_sent"] = {"to": to, "body": rendered}  # for the outbox
        message = json.loads(request["message"])
        self._queue_statuses(request["originationPhoneNumberId"], to, message_id, message)
        return AWSResponse("https://social-messaging.local", 200, HTTPHeaders(), None), {"messageId": message_id}

    def _check(self, phone_number_id: str, message: Any) -> tuple[str, str]:
        if not isinstance(message, dict) or message.get("messaging_product") != "whatsapp":
            raise Refused("messaging_product must be whatsapp")
        to = message.get("to")
        if not isinstance(to, str) or not to.isdigit():
            raise Refused("to must be the recipient's number in digits")
        phone = f"+{to}"
        if not self._opted_in(phone_number_id, phone):
            raise Refused("the recipient has not opted in")
        if message.get("type") == "text":
            with self._lock:
                last = self._last_inbound.get(phone)
            if last is None or self._clock.now() - last >= WINDOW:
                raise Refused("re-engagement message: more than 24 hours since the customer last replied")
            return str(message["text"]["body"]), phone
        if message.get("type") != "template":
            raise Refused("type must be template or text")
        template = message.get("template", {})
        key = (template.get("name"), template.get("language", {}).get("code"))
        body = self._templates(phone_number_id).get(key)
        if body is None:
            raise Refused(f"template {key[0]} does not exist in {key[1]}")
        parameters = [
            p.get("text") for c in template.get("components", []) if c.get("type") == "body" for p in c["parameters"]
        ]
        wanted = len({int(n) for n in _PLACEHOLDER.findall(body)})
        if len(parameters) != wanted or not all(isinstance(p, str) and p for p in parameters):
            raise Refused(f"number of parameters does not match: expected {wanted}, got {len(parameters)}")
        return _PLACEHOLDER.sub(lambda m: str(parameters[int(m.group(1)) - 1]), body), phone

    # --- events ----------------------------------------------------------------------------------------------

    def _queue_statuses(self, phone_number_id: str, to: str, message_id: str, message: dict[str, Any]) -> None:
        with self._lock:
            absent, withheld = to in self._not_on_whatsapp, to in self._withheld
        steps = ["failed"] if absent else ["sent"] if withheld else ["sent", "delivered", "read"]
        for step in steps:
            status: dict[str, Any] = {
                "id": message_id,
                "status": step,
                "timestamp": str(int(self._clock.now().timestamp())),
                "recipient_id": to.removeprefix("+"),
            }
            if "biz_opaque_callback_data" in message:
                status["biz_opaque_callback_data"] = message["biz_opaque_callback_data"]
            if step == "failed":
                status["errors"] = [NOT_ON_WHATSAPP]
            self._queue(phone_number_id, {"statuses": [status]})

    def _queue(self, phone_number_id: str, value: dict[str, Any]) -> None:
        entry = {
            "id": self._waba_id,
            "changes": [
                {
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "15550100000", "phone_number_id": "100000000000001"},
                        **value,
                    },
                }
            ],
        }
        event = {
            "context": {
                "MetaWabaIds": [
                    {
                        "wabaId": self._waba_id,
                        "arn": f"arn:aws:social-messaging:us-east-1:123456789012:waba/{self._waba_id}",
                    }
                ],
                "MetaPhoneNumberIds": [
                    {
                        "arn": "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/"
                        + phone_number_id.removeprefix("phone-number-id-"),
                        "metaPhoneNumberId": "100000000000001",
                    }
                ],
            },
            "whatsAppWebhookEntry": json.dumps(entry),
            "aws_account_id": "123456789012",
            "message_timestamp": self._clock.now().isoformat(),
            "messageId": str(uuid.uuid4()),
        }
        with self._lock:
            self._events.append(event)


def store_lookups() -> tuple[Templates, OptedIn]:
    """The emulator's two look-ups answered from CareCue's own tables (the local stack's stand-in for what Meta
    knows): a clinic's saved templates are its approved ones, and CareCue's record of an opt-in is the opt-in."""
    from chalicelib.clinics.policy import clinic_policy
    from chalicelib.core.words import Channel
    from chalicelib.patients.contacts import find_contact
    from chalicelib.store.clinics import clinic_with_whatsapp_sender as clinic_of

    def templates(phone_number_id: str) -> dict[tuple[str, str], str]:
        clinic = clinic_of(phone_number_id)
        if clinic is None:
            return {}
        saved = clinic_policy(clinic).whatsapp.templates
        return {(t.name, t.language_code): t.body for by_language in saved.values() for t in by_language.values()}

    def opted_in(phone_number_id: str, phone: str) -> bool:
        clinic = clinic_of(phone_number_id)
        contact = find_contact(clinic.clinic_id, Channel.WHATSAPP, phone) if clinic is not None else None
        return contact is not None and contact.opted_in_at is not None

    return templates, opted_in


def lambda_event(message: dict[str, Any], topic_arn: str, published: datetime) -> dict[str, Any]:
    """The Lambda event SNS delivers for one published WhatsApp event (`take_events`' items)."""
    message_id = message.get("messageId")
    return sns_lambda_event(message, topic_arn, published, message_id=str(message_id) if message_id else None)
