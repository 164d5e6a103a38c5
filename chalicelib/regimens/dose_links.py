"""The "taken" link of a dose message (`/d/{token}`): signed with the stage's link key by the appointment
links' codec (`chalicelib.links.tokens`), as short (44 characters), and single-purpose. The token holds the
clinic, the regimen and the dose's due time; it expires a day after the dose. Nothing is stored per link. Pure:
the key and the time are passed in."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from msgspec import Struct

from chalicelib.links.tokens import InvalidLink, seal, unseal

TAKEN_LINK_LIFETIME = timedelta(days=1)
_PURPOSE = b"t"  # never one of the appointment links' purpose bytes, so neither kind opens the other
_CLINIC = re.compile(r"^cln_([0-9a-f]{12})$")
_REGIMEN = re.compile(r"^rgm_([0-9a-f]{20})$")


class DoseClaim(Struct, frozen=True):
    clinic_id: str
    regimen_id: str
    due_at: datetime


def can_link(clinic_id: str, regimen_id: str) -> bool:
    return bool(_CLINIC.match(clinic_id) and _REGIMEN.match(regimen_id))


def sign_dose(claim: DoseClaim, key: bytes) -> str:
    clinic, regimen = _CLINIC.match(claim.clinic_id), _REGIMEN.match(claim.regimen_id)
    if clinic is None or regimen is None:
        raise ValueError("only CareCue's own clinic and regimen ids can be put in a link")
    return seal(_PURPOSE, clinic[1], regimen[1], claim.due_at, key)


def verify_dose(token: str, key: bytes, now: datetime) -> DoseClaim:
    sealed = unseal(token, key)
    if sealed.code != _PURPOSE:
        raise InvalidLink("not a dose link")
    if now >= sealed.at + TAKEN_LINK_LIFETIME:
        raise InvalidLink("expired")
    return DoseClaim(f"cln_{sealed.clinic_hex}", f"rgm_{sealed.owner_hex}", sealed.at)
