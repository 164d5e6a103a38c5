"""Each booking tool's signature check against a known answer from that tool's own material, not from CareCue's
signing helper (tests/webhook_support.py signs the way CareCue reads the documentation, so a misreading would
pass there).

Where each known answer comes from:

- Square: the official Square Python SDK's own test of `is_valid_webhook_event_signature`, repository
  square/square-python-sdk, file tests/utilities/test_webhooks_helper.py (signature key, notification URL, body
  and expected `x-square-hmacsha256-signature`, with its negative cases: another URL, key or body).
- Calendly, Cal.com, Acuity and Typeform publish the scheme and sample verification code but, as far as could be
  found, no example with a known answer (a secret, a body and the signature it gives):
  Calendly https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures,
  Cal.com https://cal.com/docs/developing/guides/automation/webhooks,
  Acuity https://developers.acuityscheduling.com/docs/webhooks,
  Typeform https://www.typeform.com/developers/webhooks/secure-your-webhooks/.
  None is invented here: their checks are covered by tests/unit/test_webhook_adapters.py against CareCue's
  reading of those pages. Calendly's freshness window is tested there too, with an injected "now", and against
  the real clock in tests/api/test_webhooks.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.core.errors import SignatureMismatch
from chalicelib.intake.context import ProviderContext, ProviderCredentials
from chalicelib.intake.events import WebhookRequest
from chalicelib.intake.providers import ADAPTERS
from tests.webhook_support import fake_lookups

# square/square-python-sdk, tests/utilities/test_webhooks_helper.py (TestWebhooksHelper).
SQUARE_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-'
    b'18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-'
    b'407e-b46e-3231809b1129"}}'
)
SQUARE_SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
SQUARE_KEY = "Ibxx_5AKakO-3qeNVR61Dw"
SQUARE_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
NOW = datetime(2022, 7, 13, 20, 31, tzinfo=UTC)


def square_context(key: str = SQUARE_KEY, url: str = SQUARE_URL) -> ProviderContext:
    lookups, _, _ = fake_lookups()
    credentials = ProviderCredentials(key, {"notification-url": url})
    return ProviderContext("cln_test", "UTC", credentials, NOW, NOW, lookups)


def square_request(body: bytes = SQUARE_BODY) -> WebhookRequest:
    return WebhookRequest(body, {"x-square-hmacsha256-signature": SQUARE_SIGNATURE})


def test_square_accepts_the_sdks_documented_notification() -> None:
    ADAPTERS["square"].verify(square_request(), square_context())


@pytest.mark.parametrize(
    ("request_", "context"),
    [
        # The SDK's own negative cases: another URL (one character gone), another key, another body.
        (square_request(), square_context(url="https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9")),
        (square_request(), square_context(key="MCmhFRxGX82xMwg5FsaoQA")),
        (square_request(SQUARE_BODY.replace(b"2022-07-13", b"2022-06-13")), square_context()),
    ],
    ids=["other notification URL", "other signature key", "other body"],
)
def test_square_refuses_the_sdks_documented_mismatches(request_: WebhookRequest, context: ProviderContext) -> None:
    with pytest.raises(SignatureMismatch, match="does not match"):
        ADAPTERS["square"].verify(request_, context)
