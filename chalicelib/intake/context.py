"""What an adapter may use besides the request: the clinic's zone, the tool's credentials, the time, and the
tools' own APIs for those whose webhooks carry ids only.

There are two times. `now` is the application's clock: what the booking's order and reminders go by, and what
the local stack simulates (`advance P2D`). `transport_now` is the real clock: a signature's freshness window is
a transport check (did the tool sign this a moment ago?), and a tool signs with real time whatever the local
stack's clock says. Both are the system clock in production; tests may pass their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from msgspec import Struct, field

from chalicelib.core.timezones import phone_region
from chalicelib.intake.lookups import BookingLookups


class ProviderCredentials(Struct, frozen=True):
    secret: str | None
    settings: Mapping[str, str] = field(default_factory=dict)  # e.g. Square's notification URL, a form mapping


class ProviderContext(Struct, frozen=True):
    clinic_id: str
    clinic_timezone: str
    credentials: ProviderCredentials
    now: datetime  # the application's clock
    transport_now: datetime  # the real clock, for signature freshness
    lookups: BookingLookups

    @property
    def phone_region(self) -> str | None:
        """The clinic's country, where a booker's phone written without a country code is read."""
        return phone_region(self.clinic_timezone)

    @property
    def secret(self) -> str:
        assert self.credentials.secret is not None  # the intake service refuses a tool with no secret first
        return self.credentials.secret
