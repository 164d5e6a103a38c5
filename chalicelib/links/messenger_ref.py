"""The `ref` of a clinic's `https://m.me/<page>?ref=<token>` link, offered in an appointment's confirmation when the
clinic has connected Messenger: signed with the stage's link key by the patient links' codec
(`chalicelib.links.tokens`), 44 characters of URL-safe base64 (Meta takes a ref of letters, digits, `-` and `_`).

It names the clinic and the patient (their ids, no personal data) and expires `REF_LIFETIME` after the appointment
it came with; Meta hands it back in the `messaging_referrals` event (or a first conversation's postback or opt-in),
and only a ref that verifies, has not expired and names the clinic whose Page received it links the PSID to the
patient (`chalicelib.replies.messenger`). A patient id (`pat_` + 16 hex) fills the codec's 20-hex owner with
four leading zeros. Pure: the key and the time are passed in.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from msgspec import Struct

from chalicelib.links.tokens import InvalidLink, seal, unseal

REF_LIFETIME = timedelta(days=30)
_PURPOSE = b"m"  # never another link's purpose byte: a confirm or dose token links nobody
_CLINIC = re.compile(r"^cln_([0-9a-f]{12})$")
_PATIENT = re.compile(r"^pat_([0-9a-f]{16})$")
_PAD = "0000"


class MessengerRef(Struct, frozen=True):
    clinic_id: str
    patient_id: str
    expires_at: datetime


def can_sign(clinic_id: str, patient_id: str) -> bool:
    return bool(_CLINIC.match(clinic_id) and _PATIENT.match(patient_id))


def sign_ref(ref: MessengerRef, key: bytes) -> str:
    clinic, patient = _CLINIC.match(ref.clinic_id), _PATIENT.match(ref.patient_id)
    if clinic is None or patient is None:
        raise ValueError("only CareCue's own clinic and patient ids can be put in a Messenger ref")
    return seal(_PURPOSE, clinic[1], _PAD + patient[1], ref.expires_at, key)


def verify_ref(token: str, key: bytes, now: datetime) -> MessengerRef:
    """The ref's clinic and patient; InvalidLink when it is not one CareCue signed, or expired."""
    sealed = unseal(token, key)
    if sealed.code != _PURPOSE or not sealed.owner_hex.startswith(_PAD):
        raise InvalidLink("not a Messenger ref")
    if now >= sealed.at:
        raise InvalidLink("expired")
    return MessengerRef(f"cln_{sealed.clinic_hex}", f"pat_{sealed.owner_hex[len(_PAD) :]}", sealed.at)


def m_me_link(page_id: str, token: str) -> str:
    return f"https://m.me/{page_id}?ref={token}"
