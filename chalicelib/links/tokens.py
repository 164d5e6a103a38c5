"""Patient link tokens: signed, expiring and single-purpose, short enough for an SMS (44 characters).

A token is 33 bytes in URL-safe base64: the purpose (1 byte), the clinic id (6 bytes) and appointment id (10
bytes) as the hex they are made of, the expiry in Unix seconds (4 bytes), and the first 12 bytes of an
HMAC-SHA256 of all that under the stage's link-signing key. A changed byte, another purpose or a passed expiry
is refused; nothing is stored per link. Pure: the key and the time are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Purpose(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    STOP = "stop"


_CODES = {Purpose.CONFIRM: b"c", Purpose.CANCEL: b"x", Purpose.RESCHEDULE: b"r", Purpose.STOP: b"s"}
_PURPOSES = {code: purpose for purpose, code in _CODES.items()}
_CLINIC = re.compile(r"^cln_([0-9a-f]{12})$")
_APPOINTMENT = re.compile(r"^apt_([0-9a-f]{20})$")
_MAC_BYTES = 12
_TOKEN_BYTES = 1 + 6 + 10 + 4 + _MAC_BYTES


class InvalidLink(ValueError):
    """The token is malformed, tampered with, or expired."""


@dataclass(frozen=True)
class LinkClaim:
    purpose: Purpose
    clinic_id: str
    appointment_id: str
    expires_at: datetime


def can_link(clinic_id: str, appointment_id: str) -> bool:
    return bool(_CLINIC.match(clinic_id) and _APPOINTMENT.match(appointment_id))


def sign(claim: LinkClaim, key: bytes) -> str:
    clinic, appointment = _CLINIC.match(claim.clinic_id), _APPOINTMENT.match(claim.appointment_id)
    if clinic is None or appointment is None:
        raise ValueError("only CareCue's own clinic and appointment ids can be put in a link")
    body = (
        _CODES[claim.purpose]
        + bytes.fromhex(clinic[1])
        + bytes.fromhex(appointment[1])
        + struct.pack(">I", int(claim.expires_at.timestamp()))
    )
    return base64.urlsafe_b64encode(body + _mac(body, key)).decode("ascii").rstrip("=")


def verify(token: str, key: bytes, now: datetime) -> LinkClaim:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as e:
        raise InvalidLink("not a link token") from e
    if len(raw) != _TOKEN_BYTES:
        raise InvalidLink("not a link token")
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(body, key)):
        raise InvalidLink("signature does not match")
    purpose = _PURPOSES.get(body[:1])
    if purpose is None:
        raise InvalidLink("unknown purpose")
    (expiry,) = struct.unpack(">I", body[17:21])
    expires_at = datetime.fromtimestamp(expiry, UTC)
    if now >= expires_at:
        raise InvalidLink("expired")
    return LinkClaim(purpose, f"cln_{body[1:7].hex()}", f"apt_{body[7:17].hex()}", expires_at)


def _mac(body: bytes, key: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
