"""The waiting-room board's link: one per clinic, unguessable and revocable.

The token is `{clinic_id}.{32 random bytes}`; the clinic stores only its SHA-256, as it does for API keys,
so a leaked table does not leak a working link. Issuing a new link revokes the old one; revoking removes the
hash and the page answers 404. (A signature would prove the same thing but needs a key, and revoking a signed
link needs stored state per clinic anyway; a random token and its hash is that state and nothing more.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from chalicelib.core.records import Clinic
from chalicelib.core.words import ClinicStatus
from chalicelib.store import board_links


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_board_link(clinic_id: str) -> str:
    """A new board token for the clinic; the previous one stops working."""
    token = f"{clinic_id}.{secrets.token_urlsafe(32)}"
    board_links.set_board_token_hash(clinic_id, _hash(token))
    return token


def revoke_board_link(clinic_id: str) -> None:
    board_links.remove_board_token_hash(clinic_id)


def clinic_for_board(token: str) -> Clinic | None:
    """The active clinic whose current board token this is, else None."""
    clinic_id, dot, secret = token.partition(".")
    if not dot or not clinic_id.startswith("cln_") or not secret or len(token) > 200:
        return None
    clinic = board_links.clinic_or_none(clinic_id)
    if clinic is None:
        return None
    stored = clinic.board_token_hash
    if stored is None or clinic.status != ClinicStatus.ACTIVE or not hmac.compare_digest(stored, _hash(token)):
        return None
    return clinic
