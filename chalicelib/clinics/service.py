"""Clinics, the tenants: creating one with its credentials, and finding the clinic an API key belongs to."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from chalicelib.clinics.secrets import ClinicSecrets
from chalicelib.core.clock import Clock
from chalicelib.core.errors import InvalidRequest
from chalicelib.core.records import Clinic
from chalicelib.core.timezones import is_known_timezone
from chalicelib.core.words import ClinicStatus
from chalicelib.store import clinics as store

API_KEY_PREFIX = "cc_"


@dataclass(frozen=True)
class NewClinic:
    clinic_id: str
    name: str
    timezone: str
    api_key: str  # shown once, stored only as its hash
    webhook_secret: str


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class ClinicService:
    def __init__(self, clock: Clock, secrets_store: ClinicSecrets) -> None:
        self._clock = clock
        self._secrets = secrets_store

    def create(self, name: str, timezone: str) -> NewClinic:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidRequest.single("name", "must be 1 to 100 characters")
        if not is_known_timezone(timezone):
            raise InvalidRequest.single("timezone", f"{timezone!r} is not an IANA time zone such as Europe/Berlin")
        clinic_id = f"cln_{secrets.token_hex(6)}"
        api_key = f"{API_KEY_PREFIX}{secrets.token_urlsafe(32)}"
        webhook_secret = secrets.token_urlsafe(32)
        # The secret goes first and is taken back if the clinic cannot be stored: no half-made clinic remains.
        self._secrets.store_webhook_secret(clinic_id, webhook_secret)
        clinic = Clinic(
            clinic_id=clinic_id,
            name=name,
            timezone=timezone,
            status=ClinicStatus.ACTIVE,
            api_key_hash=hash_api_key(api_key),
            created_at=self._clock.now(),
        )
        try:
            store.create_clinic(clinic)
        except Exception:  # AlreadyExists, or the table refused the write: either way nothing was stored
            self._secrets.delete_webhook_secret(clinic_id)
            raise
        return NewClinic(clinic_id, name, timezone, api_key, webhook_secret)

    def authenticate(self, authorization: str | None) -> str | None:
        """The id of the active clinic whose key is in `Authorization: Bearer <key>`, else None."""
        if not authorization:
            return None
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip().startswith(API_KEY_PREFIX):
            return None
        clinic = store.clinic_with_api_key_hash(hash_api_key(key.strip()))
        return clinic.clinic_id if clinic is not None and clinic.status == ClinicStatus.ACTIVE else None
