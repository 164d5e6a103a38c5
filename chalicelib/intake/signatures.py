"""HMAC-SHA256 signature checks over a request's exact bytes, each compared in constant time.

A signature that does not match raises `SignatureMismatch` (the intake then reads the clinic's secret once more
before refusing); a missing or malformed header, or a timestamp outside the window, raises `SignatureRejected`:
no other secret could make such a request acceptable.

`check_timestamped` takes `now` from its caller: the transport clock (the real one, in production and on the
local stack), never the application's clock that the local stack can move. Freshness is about when the tool
signed the request, which is real time even when the local stack pretends it is two days later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from chalicelib.core.errors import SignatureMismatch, SignatureRejected

DEFAULT_TOLERANCE = timedelta(minutes=3)


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def check(expected: str, given: str | None) -> None:
    if not given:
        raise SignatureRejected("the signature header is missing")
    if not hmac.compare_digest(expected.encode("utf-8"), given.strip().encode("utf-8")):
        raise SignatureMismatch("the signature does not match")


def check_hex(secret: str, message: bytes, given: str | None) -> None:
    check(hmac_sha256(secret, message).hex(), given.lower() if given else given)


def check_base64(secret: str, message: bytes, given: str | None, prefix: str = "") -> None:
    check(prefix + base64.b64encode(hmac_sha256(secret, message)).decode("ascii"), given)


def check_timestamped(
    secret: str, body: bytes, header: str | None, now: datetime, tolerance: timedelta = DEFAULT_TOLERANCE
) -> None:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>` (Calendly's scheme; CareCue's own for forms).

    A timestamp further than `tolerance` from now, either way, is refused: a captured request cannot be replayed.
    """
    if not header:
        raise SignatureRejected("the signature header is missing")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    timestamp = (parts.get("t") or [""])[0]
    signatures = parts.get("v1") or []
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or not signatures:
        raise SignatureRejected("the signature header must read t=<unix time>,v1=<signature>")
    if abs(now.timestamp() - int(timestamp)) > tolerance.total_seconds():
        raise SignatureRejected("the signature's timestamp is outside the allowed window")
    expected = hmac_sha256(secret, timestamp.encode("ascii") + b"." + body).hex()
    if not any(hmac.compare_digest(expected.encode(), s.strip().lower().encode()) for s in signatures):
        raise SignatureMismatch("the signature does not match")


def sign_timestamped(secret: str, body: bytes, timestamp: int) -> str:
    """The header value `check_timestamped` accepts: for CareCue's own form signature and for tests."""
    return f"t={timestamp},v1={hmac_sha256(secret, str(timestamp).encode('ascii') + b'.' + body).hex()}"
