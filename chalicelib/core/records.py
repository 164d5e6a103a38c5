"""The stored records as the domain sees them: plain, frozen dataclasses, one per DynamoDB item type, with the
same field names (and defaults) as the attributes of `chalicelib.store.models`, so that code reading
`clinic.timezone` reads the same whichever it holds.

The store converts at its boundary (`chalicelib.store.convert`): a repository returns these and takes these, and
no code above the store builds or receives a PynamoDB model (the `records` contract in `.importlinter`). A change
is a new record (`dataclasses.replace`), written by a repository. A number is a `float` as DynamoDB's are read
(`int()` where a whole number is meant, as before); an attribute that may be absent is `None` when it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.core.words import ClinicStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Clinic:
    """A clinic: the tenant. Its API key is stored only as a SHA-256 hash."""

    clinic_id: str
    name: str
    timezone: str
    status: str = ClinicStatus.ACTIVE
    api_key_hash: str
    created_at: datetime
    board_token_hash: str | None = None  # SHA-256 of the waiting-room board link; none: no board
    policy: str | None = None  # JSON; validated on read (chalicelib.clinics.policy), absent = defaults
    monthly_spend_cap_usd: float | None = None  # none: the stage's default cap
    settings_version: float | None = None
    replan_status: str | None = None  # a ReplanStatus
    replan_settings_version: float | None = None
    replan_requested_at: datetime | None = None
    replan_finished_at: datetime | None = None
    replan_appointments: float | None = None
    replan_reason: str | None = None
    whatsapp_phone_number_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClinicSummary:
    """A clinic as the stage's list of clinics shows it (the attributes the listing reads, and no more)."""

    clinic_id: str
    name: str
    timezone: str
    status: str
    created_at: datetime
