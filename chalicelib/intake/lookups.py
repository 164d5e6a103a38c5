"""The booking tools' own REST APIs, for webhooks that carry ids only: Acuity sends an appointment id, Square a
customer id. Interfaces here, with plain `urllib` implementations; tests use in-memory fakes. No emulator exists
for either API, so the local stack runs with these pointed at the real services (and so, offline, with Acuity
and Square lookups failing with 503 and the tool retrying)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from msgspec import Struct

from chalicelib.core.errors import NotFound, UpstreamUnavailable

# Booking tools wait about 10 s for an answer; the lookup must fit inside it with room for DynamoDB.
LOOKUP_TIMEOUT_SECONDS = 4.0


class AcuityClient(Protocol):
    def appointment(self, user_id: str, api_key: str, appointment_id: str) -> dict[str, Any]:
        """GET /api/v1/appointments/{id}: the appointment as Acuity documents it; NotFound if Acuity has none."""
        ...


class SquareCustomers(Protocol):
    def customer(self, access_token: str, customer_id: str) -> dict[str, Any]:
        """GET /v2/customers/{id}: the `customer` object."""
        ...


class BookingLookups(Struct):
    acuity: AcuityClient
    square: SquareCustomers


def _get_json(url: str, authorization: str) -> dict[str, Any]:
    headers = {"Authorization": authorization, "Accept": "application/json"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the callers' fixed https base URLs
    try:
        with urllib.request.urlopen(request, timeout=LOOKUP_TIMEOUT_SECONDS) as response:  # noqa: S310 - fixed https
            body = json.loads(response.read())
    except urllib.error.HTTPError as e:
        if e.code == 404:
            # The id the tool sent is not known to its own API (deleted, or never its own): no retry will find it,
            # so the tool is answered 404, not a 5xx that it would retry for days.
            raise NotFound("the booking tool's appointment") from e
        raise UpstreamUnavailable(f"the booking tool's API answered {e.code}") from e
    except (urllib.error.URLError, TimeoutError, ValueError) as e:
        raise UpstreamUnavailable(f"the booking tool's API could not be read ({type(e).__name__})") from e
    if not isinstance(body, dict):
        raise UpstreamUnavailable("the booking tool's API answered something other than a JSON object")
    return body


class HttpAcuityClient:
    base_url = "https://acuityscheduling.com/api/v1"

    def appointment(self, user_id: str, api_key: str, appointment_id: str) -> dict[str, Any]:
        token = base64.b64encode(f"{user_id}:{api_key}".encode()).decode("ascii")
        return _get_json(f"{self.base_url}/appointments/{int(appointment_id)}", f"Basic {token}")


class HttpSquareCustomers:
    base_url = "https://connect.squareup.com/v2"

    def customer(self, access_token: str, customer_id: str) -> dict[str, Any]:
        safe_id = urllib.parse.quote(customer_id, safe="")
        customer = _get_json(f"{self.base_url}/customers/{safe_id}", f"Bearer {access_token}").get("customer")
        return customer if isinstance(customer, dict) else {}
