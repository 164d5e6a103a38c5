"""Patient link tokens: signed, expiring and single-purpose, short enough for an SMS (44 characters).

A token is 33 bytes in URL-safe base64: the purpose (1 byte), the clinic id (6 bytes) and the owner's id (10
bytes: an appointment's, or a regimen's for a dose link, `chalicelib.regimens.dose_links`) as the hex they are
made of, a time in Unix seconds (4 bytes: the expiry, or a dose's due time), and the first 12 bytes of an
HMAC-SHA256 of all that under the stage's link-signing key. A changed byte, another purpose or a passed expiry
is refused; nothing is stored per link. Pure: the key and the time are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from datetime import UTC, datetime
from enum import StrEnum

from msgspec import Struct


class Purpose(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    STOP = "stop"
    CHECK_IN = "check_in"  # "I'm here", offered on the patient's confirm page on the day
    FORM = "form"  # the appointment's pre-visit form (`/f/{token}`, chalicelib.links.form_page)
    DETAILS = "details"  # the patient's "update my details" (`/u/{token}`, chalicelib.links.details_page)


_CODES = {
    Purpose.CONFIRM: b"c",
    Purpose.CANCEL: b"x",
    Purpose.RESCHEDULE: b"r",
    Purpose.STOP: b"s",
    Purpose.CHECK_IN: b"h",
    Purpose.FORM: b"f",
    Purpose.DETAILS: b"u",
}
_PURPOSES = {code: purpose for purpose, code in _CODES.items()}
_CLINIC = re.compile(r"^cln_([0-9a-f]{12})$")
_APPOINTMENT = re.compile(r"^apt_([0-9a-f]{20})$")
_MAC_BYTES = 12
_TOKEN_BYTES = 1 + 6 + 10 + 4 + _MAC_BYTES


class InvalidLink(ValueError):
    """The token is malformed, tampered with, or expired."""


class LinkClaim(Struct, frozen=True):
    purpose: Purpose
    clinic_id: str
    appointment_id: str
    expires_at: datetime


class Sealed(Struct, frozen=True):
    """What a token carries, as `seal` was given it: the purpose byte, the clinic id's and the owner id's hex
    (without their `cln_`/`apt_`/`rgm_` prefix) and the time."""

    code: bytes
    clinic_hex: str
    owner_hex: str
    at: datetime


def can_link(clinic_id: str, appointment_id: str) -> bool:
    return bool(_CLINIC.match(clinic_id) and _APPOINTMENT.match(appointment_id))


def sign(claim: LinkClaim, key: bytes) -> str:
    clinic, appointment = _CLINIC.match(claim.clinic_id), _APPOINTMENT.match(claim.appointment_id)
    if clinic is None or appointment is None:
        raise ValueError("only CareCue's own clinic and appointment ids can be put in a link")
    return seal(_CODES[claim.purpose], clinic[1], appointment[1], claim.expires_at, key)


def verify(token: str, key: bytes, now: datetime) -> LinkClaim:
    sealed = unseal(token, key)
    purpose = _PURPOSES.get(sealed.code)
    if purpose is None:
        raise InvalidLink("unknown purpose")
    if now >= sealed.at:
        raise InvalidLink("expired")
    return LinkClaim(purpose, f"cln_{sealed.clinic_hex}", f"apt_{sealed.owner_hex}", sealed.at)


def seal(code: bytes, clinic_hex: str, owner_hex: str, at: datetime, key: bytes) -> str:
    """The token for one purpose byte, a 12-hex clinic id, a 20-hex owner id and a time (whole seconds)."""
    body = code + bytes.fromhex(clinic_hex) + bytes.fromhex(owner_hex) + struct.pack(">I", int(at.timestamp()))
    return base64.urlsafe_b64encode(body + _mac(body, key)).decode("ascii").rstrip("=")


def unseal(token: str, key: bytes) -> Sealed:
    """What a token signed under `key` carries; InvalidLink if it is not one. The caller checks purpose and time."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as e:
        raise InvalidLink("not a link token") from e
    if len(raw) != _TOKEN_BYTES:
        raise InvalidLink("not a link token")
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(body, key)):
        raise InvalidLink("signature does not match")
    (seconds,) = struct.unpack(">I", body[17:21])
    return Sealed(body[:1], body[1:7].hex(), body[7:17].hex(), datetime.fromtimestamp(seconds, UTC))


def clinic_of(token: str) -> str | None:
    """The clinic id a token names, read without checking its signature: for the audit trail of a request the
    link's own check has already let through (`chalicelib.audit`), never to decide anything."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    return f"cln_{raw[1:7].hex()}" if len(raw) == _TOKEN_BYTES else None


def _mac(body: bytes, key: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
