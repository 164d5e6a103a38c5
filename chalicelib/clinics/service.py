"""Clinics, the tenants: creating one with its credentials, and finding the clinic an API key belongs to.

An API key is `cc_{clinic_id}.{secret}` (`new_api_key`): 32 random bytes, and the clinic's id, which is no secret
(it is in every answer), so that the authorizer reads the clinic by its key and checks the key's hash in one
`GetItem`. Keys made before ids were put in keys (`cc_{secret}`, no dot) are still found through the
`by-api-key-hash` index, a query and a `GetItem`; `rotate-api-key` gives a clinic a key of the new form."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from msgspec import Struct

from chalicelib.clinics.secrets import ClinicSecrets
from chalicelib.core.clock import Clock
from chalicelib.core.errors import InvalidRequest
from chalicelib.core.records import Clinic
from chalicelib.core.timezones import is_known_timezone
from chalicelib.core.words import ClinicStatus
from chalicelib.store import clinics as store

API_KEY_PREFIX = "cc_"
CLINIC_ID = re.compile(r"cln_[0-9a-f]{12}")  # as `ClinicService.create` makes them


class NewClinic(Struct, frozen=True):
    clinic_id: str
    name: str
    timezone: str
    api_key: str  # shown once, stored only as its hash
    webhook_secret: str


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_api_key(clinic_id: str) -> str:
    """A new key for the clinic, shown once and stored only as its hash. The dot is in neither a clinic id nor
    `token_urlsafe`'s alphabet, so the key splits back into the two unambiguously."""
    return f"{API_KEY_PREFIX}{clinic_id}.{secrets.token_urlsafe(32)}"


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
        api_key = new_api_key(clinic_id)
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
        key = key.strip()
        if scheme.lower() != "bearer" or not key.startswith(API_KEY_PREFIX):
            return None
        clinic = _clinic_of(key)
        return clinic.clinic_id if clinic is not None and clinic.status == ClinicStatus.ACTIVE else None


def _clinic_of(key: str) -> Clinic | None:
    """The clinic whose key this is: read by the id in the key and its stored hash compared in constant time, or,
    for a key of the old form, found by its hash. A key naming a clinic that does not exist, or another clinic's
    id with this clinic's secret, finds none; a key whose id is malformed is refused without a read."""
    digest = hash_api_key(key)
    named, dot, _ = key.removeprefix(API_KEY_PREFIX).partition(".")
    if not dot:
        return store.clinic_with_api_key_hash(digest)
    if not CLINIC_ID.fullmatch(named):
        return None
    clinic = store.find_clinic(named)
    if clinic is None or not hmac.compare_digest(clinic.api_key_hash.encode(), digest.encode()):
        return None
    return clinic
