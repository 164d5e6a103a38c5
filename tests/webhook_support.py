"""What the webhook tests share: the documented-shape fixtures by name, each tool's signature made the way that
tool makes it, and in-memory fakes of the two booking-tool APIs that have no emulator (Acuity, Square)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.core.errors import NotFound, UpstreamUnavailable
from chalicelib.intake.lookups import BookingLookups
from chalicelib.intake.signatures import sign_timestamped

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
SQUARE_URL = "https://api.carecue.example/webhooks/square/cln_test"


def fixture(provider: str, name: str) -> Any:
    path = FIXTURES / provider / name
    return json.loads(path.read_text()) if path.suffix == ".json" else path.read_bytes()


def body_of(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def signature_headers(
    provider: str, secret: str, body: bytes, timestamp: int, square_url: str = SQUARE_URL
) -> dict[str, str]:
    """The headers each tool sends with `body`, signed with `secret` as its documentation describes."""
    if provider == "calcom":
        return {"X-Cal-Signature-256": _mac(secret, body).hex()}
    if provider == "calendly":
        return {"Calendly-Webhook-Signature": sign_timestamped(secret, body, timestamp)}
    if provider == "square":
        return {"x-square-hmacsha256-signature": base64.b64encode(_mac(secret, square_url.encode() + body)).decode()}
    if provider == "acuity":
        return {"X-Acuity-Signature": base64.b64encode(_mac(secret, body)).decode()}
    if provider == "typeform":
        return {"Typeform-Signature": "sha256=" + base64.b64encode(_mac(secret, body)).decode()}
    if provider == "form":
        return {"X-CareCue-Signature": sign_timestamped(secret, body, timestamp)}
    raise ValueError(provider)


CONTENT_TYPES = {"acuity": "application/x-www-form-urlencoded"}


@dataclass
class FakeAcuity:
    """Acuity's `GET /appointments/{id}`: answers from `appointments`, and records who asked."""

    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    down: bool = False

    def appointment(self, user_id: str, api_key: str, appointment_id: str) -> dict[str, Any]:
        self.calls.append((user_id, api_key, appointment_id))
        if self.down:
            raise UpstreamUnavailable("the booking tool's API answered 503")
        if appointment_id not in self.appointments:
            raise NotFound("the booking tool's appointment")  # Acuity's 404, as HttpAcuityClient reports it
        return self.appointments[appointment_id]


@dataclass
class FakeSquareCustomers:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def customer(self, access_token: str, customer_id: str) -> dict[str, Any]:
        return self.customers.get(customer_id, {})


def fake_lookups() -> tuple[BookingLookups, FakeAcuity, FakeSquareCustomers]:
    acuity = FakeAcuity({"400123": fixture("acuity", "appointment.json")})
    square_customer = fixture("square", "customer.json")["customer"]
    square = FakeSquareCustomers({square_customer["id"]: square_customer})
    return BookingLookups(acuity, square), acuity, square
