"""Meta's Messenger webhook (`/webhooks/messenger`): the subscription check, and the Page events CareCue acts on.

**Subscription check** (`GET`): Meta sends `hub.mode=subscribe`, `hub.verify_token` and `hub.challenge` when the
callback URL is saved in the app's dashboard; CareCue echoes the challenge when the token is the clinic's (the one
`set-messenger` printed, `<clinic_id>.<random>`, so one URL serves every clinic and the token says whose it is).
Anything else is a 403 (`Forbidden`).

**Events** (`POST`): signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`.
The body names the Pages (`entry[].id`); each Page's clinic has its app secret in SSM
(`chalicelib.clinics.messenger_credentials`), and the signature must verify with the secret of every clinic the
body names, compared in constant time. A body that names no connected Page cannot be verified: refused like a
forged one (401, `SignatureRejected`), and nothing is stored or answered. (The body is parsed as JSON before the
check only to find whose secret to check it with; nothing in it is acted on before.)

What CareCue does with a verified event (`entry[].messaging[]`):
- a **referral** (`messaging_referrals`: the patient opened the clinic's `m.me/<page>?ref=<token>` link), or a
  first conversation's `postback.referral` (Get Started) or `optin.ref`: a ref CareCue signed for a patient of
  this clinic (`chalicelib.links.messenger_ref`) links the sender's PSID to that patient, recorded with when and
  how (`chalicelib.patients.messenger`); a forged, expired or other clinic's ref links nothing (logged, no data);
- a **text message**: opens the 24-hour window and is answered with the same words as an SMS reply, in the
  patient's language, by Messenger (`chalicelib.replies.inbound`: C confirms, STOP stops Messenger only, HELP…);
  a PSID linked to no patient gets the clinic's help text once a day;
- a **delivery** or **read** (`message_deliveries`, `message_reads`): the receipts of the messages CareCue sent that
  PSID from that Page (`chalicelib.replies.messenger_receipts`). Echoes of the Page's own messages, and everything
  else (reactions…), are left.

Nothing of a message's text, the PSID or the ref is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from chalicelib.core.clock import Clock
from chalicelib.core.errors import Forbidden, InvalidRequest, SignatureMismatch, SignatureRejected
from chalicelib.core.observability import logger
from chalicelib.core.records import Clinic
from chalicelib.core.words import Channel
from chalicelib.links.messenger_ref import verify_ref
from chalicelib.links.tokens import InvalidLink
from chalicelib.patients.messenger import link, linked_patient, record_inbound
from chalicelib.replies.inbound import InboundSms
from chalicelib.replies.messenger_receipts import is_receipt, record_receipts
from chalicelib.store import clinics as clinic_store
from chalicelib.store import patients as patient_store

if TYPE_CHECKING:
    from chalicelib.clinics.messenger_credentials import MessengerCredentials
    from chalicelib.replies.inbound import SmsReplies

SIGNATURE_HEADER = "x-hub-signature-256"
_CLINIC = re.compile(r"^cln_[0-9a-f]{12}$")


def expected_signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for `body`: `sha256=` + the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def check_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """SignatureRejected for a missing or malformed header, SignatureMismatch for a signature that does not match;
    the comparison is in constant time."""
    if not header:
        raise SignatureRejected("the X-Hub-Signature-256 header is missing")
    given = header.strip()
    if not given.startswith("sha256=") or len(given) != len("sha256=") + 64:
        raise SignatureRejected("the X-Hub-Signature-256 header must read sha256=<hex>")
    expected = expected_signature(app_secret, body)
    if not hmac.compare_digest(expected.encode("ascii"), given.lower().encode("utf-8")):
        raise SignatureMismatch("the signature does not match")


class Received(Struct, frozen=True):
    events: int = 0
    linked: int = 0
    messages: int = 0
    refused_refs: int = 0
    receipts: int = 0  # deliveries a delivery or read event changed

    def as_dict(self) -> dict[str, int]:
        return {
            "events": self.events,
            "linked": self.linked,
            "messages": self.messages,
            "refused_refs": self.refused_refs,
            "receipts": self.receipts,
        }


class MessengerWebhook:
    def __init__(
        self,
        clock: Clock,
        credentials: MessengerCredentials,
        link_key: Callable[[], bytes],
        replies: SmsReplies,
    ) -> None:
        self._clock = clock
        self._credentials = credentials
        self._link_key = link_key  # the stage's link-signing key, which signs the m.me refs
        self._replies = replies

    # --- GET: the subscription check ---------------------------------------------------------------------------

    def verify_subscription(self, params: Mapping[str, str] | None) -> str:
        """The challenge to echo; Forbidden when the mode or the token is not what this stage gave Meta."""
        params = params or {}
        token = params.get("hub.verify_token") or ""
        if params.get("hub.mode") != "subscribe" or not token:
            raise Forbidden("not a Messenger webhook subscription with this stage's verify token")
        clinic_id = token.split(".", 1)[0]
        # Only a clinic id of CareCue's form names an SSM path (anything else has no token to match).
        stored = self._credentials.for_clinic(clinic_id, fresh=True).verify_token if _CLINIC.match(clinic_id) else None
        if stored is None or not hmac.compare_digest(stored.encode("utf-8"), token.encode("utf-8")):
            logger.warning("messenger subscription check refused", extra={"outcome": "wrong_verify_token"})
            raise Forbidden("the verify token is not this stage's")
        challenge = params.get("hub.challenge")
        if not challenge:
            raise InvalidRequest.single("hub.challenge", "is required")
        logger.info("messenger subscription checked", extra={"clinic_id": clinic_id})
        return challenge

    # --- POST: events ------------------------------------------------------------------------------------------

    def receive(self, body: bytes, signature: str | None) -> Received:
        if not signature:
            raise SignatureRejected("the X-Hub-Signature-256 header is missing")
        entries = _entries(body)
        clinics = {page: clinic_store.clinic_with_messenger_page(page) for page in {page for page, _ in entries}}
        known = {page: clinic for page, clinic in clinics.items() if clinic is not None}
        if not known:
            raise SignatureRejected("the event names no Page connected to CareCue")
        for clinic in {clinic.clinic_id: clinic for clinic in known.values()}.values():
            self._verify(clinic.clinic_id, body, signature)
        received = Received()
        for page, events in entries:
            owner = known.get(page)
            if owner is None:
                logger.warning("messenger event for no clinic's Page", extra={"outcome": "unknown_page"})
                continue
            for event in events:
                received = _plus(received, self._event(owner, page, event))
        logger.info("messenger events", extra=received.as_dict())
        return received

    def _verify(self, clinic_id: str, body: bytes, signature: str) -> None:
        secret = self._credentials.for_clinic(clinic_id).app_secret
        try:
            if secret is None:
                raise SignatureMismatch("no app secret stored")
            check_signature(secret, body, signature)
        except SignatureMismatch:
            # The secret may have changed since the cache was filled: read it once more before refusing.
            fresh = self._credentials.for_clinic(clinic_id, fresh=True).app_secret
            if fresh is None:
                raise SignatureRejected("the clinic has no Messenger app secret (set-messenger)") from None
            check_signature(fresh, body, signature)

    def _event(self, clinic: Clinic, page: str, event: Any) -> Received:
        if not isinstance(event, dict):
            return Received()
        sender, recipient = _id_of(event.get("sender")), _id_of(event.get("recipient"))
        to_another = "recipient" in event and recipient != page  # named, but not this Page (or malformed)
        if not isinstance(sender, str) or not sender or sender == page or to_another:
            return Received(events=1)  # an echo of the Page's own message, or not to this Page
        if is_receipt(event):
            return Received(events=1, receipts=record_receipts(page, sender, event, self._clock.now()))
        wrote = min(_timestamp(event.get("timestamp")) or self._clock.now(), self._clock.now())
        ref, source = _ref_of(event)
        if ref is not None:
            linked = self._link(clinic, sender, ref, source, wrote)
            return Received(events=1, linked=int(linked), refused_refs=int(not linked))
        message = event.get("message")
        if isinstance(message, dict) and not message.get("is_echo"):
            text, mid = message.get("text"), message.get("mid")
            if isinstance(text, str) and text.strip() and isinstance(mid, str) and mid:
                record_inbound(clinic.clinic_id, sender, wrote)  # the window opens before the answer goes in it
                self._replies.handle(
                    InboundSms(
                        mid,
                        self._phone_of(clinic.clinic_id, sender),
                        None,
                        text,
                        Channel.MESSENGER,
                        clinic.clinic_id,
                        reply_to=sender,
                    )
                )
                return Received(events=1, messages=1)
        if "postback" in event:
            record_inbound(clinic.clinic_id, sender, wrote)  # a tap on a button opens the window too
        return Received(events=1)

    def _link(self, clinic: Clinic, psid: str, ref: str, source: str, at: datetime) -> bool:
        try:
            claim = verify_ref(ref, self._link_key(), self._clock.now())
        except InvalidLink as e:
            logger.warning("messenger ref refused", extra={"clinic_id": clinic.clinic_id, "problem": str(e)})
            return False
        if (
            claim.clinic_id != clinic.clinic_id
            or patient_store.find_patient(clinic.clinic_id, claim.patient_id) is None
        ):
            logger.warning(
                "messenger ref refused", extra={"clinic_id": clinic.clinic_id, "problem": "not this clinic's"}
            )
            return False
        link(clinic.clinic_id, claim.patient_id, psid, source, at)
        logger.info("messenger linked", extra={"clinic_id": clinic.clinic_id, "patient_id": claim.patient_id})
        return True

    def _phone_of(self, clinic_id: str, psid: str) -> str:
        """The linked patient's phone, by which the SMS reply rules find their appointments; "" when none."""
        patient_id = linked_patient(clinic_id, psid)
        patient = patient_store.find_patient(clinic_id, patient_id) if patient_id else None
        return (patient.phone or "") if patient is not None else ""


def _entries(body: bytes) -> list[tuple[str, list[Any]]]:
    """(page id, messaging events) per entry; SignatureRejected when the body is not a Page event at all."""
    try:
        data: Any = json.loads(body)
        entries = [(str(entry["id"]), list(entry.get("messaging") or [])) for entry in data["entry"]]
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise SignatureRejected("the body is not a Messenger event that names its Page") from e
    if not isinstance(data, dict) or data.get("object") != "page":
        raise SignatureRejected("the body is not a Messenger event that names its Page")
    return entries


def _ref_of(event: dict[str, Any]) -> tuple[str | None, str]:
    """The ref an event carries, and how the patient came (the link's source recorded with it)."""
    for source, holder in (
        ("messenger_referral", event.get("referral")),
        ("messenger_postback", _field(event.get("postback"), "referral")),
        ("messenger_optin", event.get("optin")),
    ):
        ref = holder.get("ref") if isinstance(holder, dict) else None
        if isinstance(ref, str) and ref:
            return ref, source
    return None, ""


def _field(holder: Any, name: str) -> Any:
    """`holder[name]` when `holder` is an object, else None: a signed event can still have any shape."""
    return holder.get(name) if isinstance(holder, dict) else None


def _id_of(party: Any) -> Any:
    """The `id` of an event's `sender` or `recipient`, None when it has none."""
    return _field(party, "id")


def _plus(a: Received, b: Received) -> Received:
    return Received(
        a.events + b.events,
        a.linked + b.linked,
        a.messages + b.messages,
        a.refused_refs + b.refused_refs,
        a.receipts + b.receipts,
    )


def _timestamp(value: Any) -> datetime | None:
    """Meta's timestamps are Unix milliseconds."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
