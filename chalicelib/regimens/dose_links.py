"""The "taken" link of a dose message (`/d/{token}`): signed with the stage's link key like the appointment
links, as short (44 characters), and single-purpose. The token holds the clinic, the regimen and the dose's due
time; it expires a day after the dose. Nothing is stored per link. Pure: the key and the time are passed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.links.tokens import InvalidLink

TAKEN_LINK_LIFETIME = timedelta(days=1)
_PURPOSE = b"t"  # never one of the appointment links' purpose bytes, so neither kind opens the other
_CLINIC = re.compile(r"^cln_([0-9a-f]{12})$")
_REGIMEN = re.compile(r"^rgm_([0-9a-f]{20})$")
_MAC_BYTES = 12
_TOKEN_BYTES = 1 + 6 + 10 + 4 + _MAC_BYTES


@dataclass(frozen=True)
class DoseClaim:
    clinic_id: str
    regimen_id: str
    due_at: datetime


def can_link(clinic_id: str, regimen_id: str) -> bool:
    return bool(_CLINIC.match(clinic_id) and _REGIMEN.match(regimen_id))


def sign_dose(claim: DoseClaim, key: bytes) -> str:
    clinic, regimen = _CLINIC.match(claim.clinic_id), _REGIMEN.match(claim.regimen_id)
    if clinic is None or regimen is None:
        raise ValueError("only CareCue's own clinic and regimen ids can be put in a link")
    body = (
        _PURPOSE
        + bytes.fromhex(clinic[1])
        + bytes.fromhex(regimen[1])
        + struct.pack(">I", int(claim.due_at.timestamp()))
    )
    return base64.urlsafe_b64encode(body + _mac(body, key)).decode("ascii").rstrip("=")


def verify_dose(token: str, key: bytes, now: datetime) -> DoseClaim:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as e:
        raise InvalidLink("not a link token") from e
    if len(raw) != _TOKEN_BYTES or raw[:1] != _PURPOSE:
        raise InvalidLink("not a dose link")
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(body, key)):
        raise InvalidLink("signature does not match")
    (due,) = struct.unpack(">I", body[17:21])
    due_at = datetime.fromtimestamp(due, UTC)
    if now >= due_at + TAKEN_LINK_LIFETIME:
        raise InvalidLink("expired")
    return DoseClaim(f"cln_{body[1:7].hex()}", f"rgm_{body[7:17].hex()}", due_at)


def _mac(body: bytes, key: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
