"""WhatsApp through AWS End User Messaging Social (boto3's `socialmessaging` client): the one call CareCue makes,
`SendWhatsAppMessage`, with a Meta Cloud API message object as its body.

Two kinds of message (Meta's rules, not ours):
- a **template** message (`"type": "template"`): a template the clinic had Meta approve, named with its language
  code and filled with body parameters in order (`{{1}}`, `{{2}}`, …). The only kind allowed outside the 24-hour
  customer-service window;
- a **text** message (`"type": "text"`): free-form words, only inside the window (the patient wrote in the last
  24 hours).

Every message carries `biz_opaque_callback_data`: Meta echoes it in the status webhooks (`statuses[]`), so a
status finds its delivery by CareCue's own key instead of by matching message ids across AWS and Meta.

The recipient is the E.164 number without its `+` (the Cloud API's `to` is digits, as `wa_id` is).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import ClientError
from msgspec import Struct

from chalicelib.core.errors import ChannelError

# The Graph API version the message objects are written for; AWS passes it to Meta with the message.
META_API_VERSION = "v20.0"

# Codes after which sending the same message again cannot succeed (a throttle, a dependency or AWS's own
# internal error may pass).
_PERMANENT = {"ValidationException", "AccessDeniedException", "InvalidParametersException", "ResourceNotFoundException"}


class SocialMessagingClient(Protocol):
    def send_whatsapp_message(self, **kwargs: Any) -> dict[str, Any]: ...


class WhatsAppTemplate(Struct, frozen=True):
    """An approved template, by name and language code, with its body parameters in order."""

    name: str
    language: str  # Meta's code, e.g. "es", "en_US"
    parameters: tuple[str, ...]


def template_message(to: str, template: WhatsAppTemplate, callback: str | None = None) -> dict[str, Any]:
    """Meta's message object for a template message."""
    body: dict[str, Any] = {"type": "body", "parameters": [{"type": "text", "text": p} for p in template.parameters]}
    message: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.removeprefix("+"),
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"policy": "deterministic", "code": template.language},
            "components": [body] if template.parameters else [],
        },
    }
    if callback is not None:
        message["biz_opaque_callback_data"] = callback
    return message


def text_message(to: str, body: str, callback: str | None = None) -> dict[str, Any]:
    """Meta's message object for a free-form text (inside the customer-service window only)."""
    message: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.removeprefix("+"),
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }
    if callback is not None:
        message["biz_opaque_callback_data"] = callback
    return message


class WhatsAppChannel:
    def __init__(self, client: Callable[[], SocialMessagingClient]) -> None:
        """`client` makes the boto3 client on the first send: a cold start that sends no WhatsApp pays nothing."""
        self._make_client = client
        self._client: SocialMessagingClient | None = None

    def send_template(
        self, phone_number_id: str, to: str, template: WhatsAppTemplate, callback: str | None = None
    ) -> str:
        return self._send(phone_number_id, template_message(to, template, callback))

    def send_text(self, phone_number_id: str, to: str, body: str, callback: str | None = None) -> str:
        return self._send(phone_number_id, text_message(to, body, callback))

    def _send(self, phone_number_id: str, message: dict[str, Any]) -> str:
        """Sends one message object and returns the message id AWS answers with."""
        if self._client is None:
            self._client = self._make_client()
        try:
            response = self._client.send_whatsapp_message(
                originationPhoneNumberId=phone_number_id,
                message=json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode(),
                metaApiVersion=META_API_VERSION,
            )
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "Unknown")
            raise ChannelError(code, permanent=code in _PERMANENT) from e
        return str(response["messageId"])
