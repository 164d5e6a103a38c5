"""Messenger through Meta's Send API (`POST /{page-id}/messages` on the Graph API), behind the `MessengerApi`
interface: `GraphApi` is the real one (plain `urllib`, the Page access token in the Authorization header, never
in the URL or a log line); the tests and the local stack use `infra.local.messenger_fake`, which records each
message in the outbox.

Two kinds of message (Meta's rules, not ours):
- a **text** (`messaging_type: RESPONSE`): free-form words, only inside the 24-hour standard messaging window (the
  patient wrote, opened a referral or tapped a postback in the last 24 hours);
- a **utility template** (`messaging_type: UTILITY`): a template the Page had approved, named with its language
  and filled with body parameters in order (`{{1}}`, `{{2}}`, …), the way outside the window now that Meta is
  retiring message tags.

A Graph API error is a `ChannelError` named by Meta's code (recorded as `messenger_551`, the person is not
available; `messenger_10`, outside the window): permanent for a 4xx other than Meta's rate limits, so the
dispatcher sends the message on its planned channel instead; transient for a rate limit, a 5xx or no answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from msgspec import Struct

from chalicelib.core.errors import ChannelError

if TYPE_CHECKING:
    import urllib.error

GRAPH_URL = "https://graph.facebook.com"
GRAPH_API_VERSION = "v20.0"
SEND_TIMEOUT_SECONDS = 5.0
# Graph API error codes that say "later": throttled (4, 17, 32, 613) or temporarily unavailable (2).
_TRANSIENT_CODES = frozenset({2, 4, 17, 32, 613})


class MessengerApi(Protocol):
    def send(self, page_id: str, page_token: str, message: dict[str, Any]) -> str:
        """Sends one Send API request body as the Page and returns Meta's `message_id`; ChannelError if refused."""
        ...


class MessengerTemplate(Struct, frozen=True):
    """An approved utility template, by name and language code, with its body parameters in order."""

    name: str
    language: str  # Meta's code, e.g. "en_US"
    parameters: tuple[str, ...]


def text_message(psid: str, body: str) -> dict[str, Any]:
    """The Send API body of a free-form text (inside the standard messaging window only)."""
    return {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": body}}


def template_message(psid: str, template: MessengerTemplate) -> dict[str, Any]:
    """The Send API body of a utility template message."""
    payload: dict[str, Any] = {
        "template_type": "utility",
        "template_name": template.name,
        "language": template.language,
    }
    if template.parameters:
        payload["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": value} for value in template.parameters]}
        ]
    return {
        "recipient": {"id": psid},
        "messaging_type": "UTILITY",
        "message": {"attachment": {"type": "template", "payload": payload}},
    }


class GraphApi:
    """The Send API over HTTPS. No network in tests: they use the fake."""

    def __init__(self, base_url: str = GRAPH_URL, version: str = GRAPH_API_VERSION) -> None:
        self._base = base_url.rstrip("/")
        self._version = version

    def send(self, page_id: str, page_token: str, message: dict[str, Any]) -> str:
        # urllib (http.client, email…) is imported by a send, not by every fire that never messages on Messenger.
        import urllib.error
        import urllib.parse
        import urllib.request

        url = f"{self._base}/{self._version}/{urllib.parse.quote(page_id, safe='')}/messages"
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {page_token}"}
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - fixed https
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as response:  # noqa: S310 - fixed https
                body = json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise graph_error(e.code, _read_error(e)) from e
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as e:
            raise ChannelError("unreachable", permanent=False) from e
        message_id = body.get("message_id") if isinstance(body, dict) else None
        if not isinstance(message_id, str):
            raise ChannelError("no_message_id", permanent=False)
        return message_id


def graph_error(status: int, body: Any) -> ChannelError:
    """A Graph API error answer as CareCue's ChannelError."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    name = str(code) if isinstance(code, int) else f"http_{status}"  # the dispatcher records messenger_<name>
    transient = status >= 500 or status == 429 or code in _TRANSIENT_CODES
    return ChannelError(name, permanent=not transient)


def _read_error(error: urllib.error.HTTPError) -> Any:
    try:
        return json.loads(error.read())
    except (ValueError, OSError):
        return None


class MessengerChannel:
    def __init__(self, api: Callable[[], MessengerApi], page_token: Callable[[str], str]) -> None:
        """`api` gives the Send API client when a message goes (the tests and the local stack swap in the fake);
        `page_token(clinic_id)` reads the clinic's Page access token (SSM, cached)."""
        self._api = api
        self._page_token = page_token

    def send_text(self, clinic_id: str, page_id: str, psid: str, body: str) -> str:
        return self._send(clinic_id, page_id, text_message(psid, body))

    def send_template(self, clinic_id: str, page_id: str, psid: str, template: MessengerTemplate) -> str:
        return self._send(clinic_id, page_id, template_message(psid, template))

    def _send(self, clinic_id: str, page_id: str, message: dict[str, Any]) -> str:
        token = self._page_token(clinic_id)
        if not token:
            raise ChannelError("not_connected", permanent=True)  # no Page token stored: set-messenger
        return self._api().send(page_id, token, message)
