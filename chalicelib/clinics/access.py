"""Who may use CareCue for a clinic: listing clinics, replacing a clinic's API key, suspending and resuming it.
A suspended clinic's API key is refused and its reminders are skipped (the fire-time re-check reads the status)."""

from __future__ import annotations

from chalicelib.clinics.service import hash_api_key, new_api_key
from chalicelib.core.clock import Clock
from chalicelib.core.errors import InvalidRequest
from chalicelib.core.records import ClinicSummary
from chalicelib.core.words import ClinicStatus
from chalicelib.store import clinics as store

STATUSES = tuple(ClinicStatus)


class ClinicAccess:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def list(self) -> list[ClinicSummary]:
        """Every clinic of the stage, by name. A scan: clinics are few, and this is an admin's command."""
        clinics = store.all_clinics()
        return sorted(clinics, key=lambda c: (c.name.casefold(), c.clinic_id))

    def rotate_api_key(self, clinic_id: str) -> str:
        """A new API key, returned once; the old one stops working at once (the authorizer's cache aside)."""
        api_key = new_api_key(clinic_id)
        store.set_api_key_hash(clinic_id, hash_api_key(api_key))
        return api_key

    def set_status(self, clinic_id: str, status: str) -> None:
        if status not in STATUSES:
            raise InvalidRequest.single("status", f"must be one of {', '.join(STATUSES)}")
        store.set_status(clinic_id, status)
