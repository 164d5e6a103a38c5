"""One-time codes that prove a new phone or email (pure): 6 digits, good for 10 minutes and 5 tries, at most 3
sent an hour for each of a patient's phone and email (so at most 6 an hour a patient, each metered like every
message).

Only an HMAC-SHA256 of the code is stored, under the stage's link-signing key, and the address it was sent to is
part of what is signed: a code proves only that address, for that patient, for that field. A wrong code and a
right one cost the same time to check (`hmac.compare_digest`). The tries are counted before the code is compared
(`chalicelib.store.patient_changes.count_try`), so parallel guesses cannot exceed 5.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from chalicelib.core.records import ContactProof

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5
SENDS_PER_WINDOW = 3
SEND_WINDOW = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)  # the proof item's TTL: longer than the send window it counts sends in


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: bytes, clinic_id: str, patient_id: str, field: str, address: str, code: str) -> str:
    message = "\x1f".join((clinic_id, patient_id, field, address, code)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def matches(proof: ContactProof, key: bytes, code: str) -> bool:
    if proof.code_hash is None or proof.address is None:
        return False
    expected = code_hash(key, proof.clinic_id, proof.patient_id, proof.field, proof.address, code)
    return hmac.compare_digest(expected, proof.code_hash)


def read_code(text: str) -> str | None:
    """The code as typed ("123 456", "123-456" too), or None when it is not 6 digits."""
    digits = "".join(text.split()).replace("-", "")
    return digits if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit() else None


def recent_sends(proof: ContactProof | None, now: datetime) -> list[datetime]:
    return [at for at in (proof.sent_at or []) if now - at < SEND_WINDOW] if proof is not None else []


def next_send_at(proof: ContactProof | None, now: datetime) -> datetime | None:
    """When another code may be sent, if not now (the rate limit); None when one may be sent now."""
    recent = sorted(recent_sends(proof, now))
    return recent[-SENDS_PER_WINDOW] + SEND_WINDOW if len(recent) >= SENDS_PER_WINDOW else None


def expired(proof: ContactProof, now: datetime) -> bool:
    return proof.expires_at is None or now >= proof.expires_at


def tries_left(proof: ContactProof) -> int:
    return max(MAX_TRIES - int(proof.tries), 0)
