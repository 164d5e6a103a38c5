"""Messenger's webhook signature against a known answer from Meta's own code, not only CareCue's helper, and the
m.me ref: signed for one clinic's patient, refused when tampered with, expired, or another link's token.

Known answer: Meta's WhatsApp Node.js SDK (repository WhatsApp/WhatsApp-Nodejs-SDK), whose webhook server checks
`x-hub-signature-256` with `generate_x_hub_256_sig` (src/utils.ts: HMAC-SHA256 of the body with the app secret,
hex); its test src/__tests__/utils.test.ts expects, for the body `test` and the app secret `TEST_APP_SECRET`
(`M4D_APP_SECRET` in the SDK's jest.config.ts globals), the digest
0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221. The Graph API's webhook pages
(developers.facebook.com/docs/graph-api/webhooks/getting-started, "Validating payloads", and the Messenger
Platform's webhook page) describe the `sha256=` header but give no worked example; Messenger's webhooks are the
Graph API's, signed the same way, so the SDK's vector is the vendor's own known answer for this scheme.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.errors import SignatureMismatch, SignatureRejected
from chalicelib.links.messenger_ref import MessengerRef, m_me_link, sign_ref, verify_ref
from chalicelib.links.tokens import InvalidLink, LinkClaim, Purpose, sign
from chalicelib.replies.messenger import check_signature, expected_signature

# WhatsApp/WhatsApp-Nodejs-SDK: src/__tests__/utils.test.ts (body, digest) and jest.config.ts (the app secret).
META_SDK_SECRET = "TEST_APP_SECRET"
META_SDK_BODY = b"test"
META_SDK_DIGEST = "0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221"

KEY = b"link-key-for-tests-only"
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
REF = MessengerRef("cln_0123456789ab", "pat_0011223344556677", NOW + timedelta(days=30))


def test_the_signature_is_metas_known_answer_for_the_sdks_example() -> None:
    assert expected_signature(META_SDK_SECRET, META_SDK_BODY) == f"sha256={META_SDK_DIGEST}"
    check_signature(META_SDK_SECRET, META_SDK_BODY, f"sha256={META_SDK_DIGEST}")
    check_signature(META_SDK_SECRET, META_SDK_BODY, f"sha256={META_SDK_DIGEST.upper()}")  # hex in either case


@pytest.mark.parametrize(
    ("secret", "body"),
    [("TEST_APP_SECRET_", META_SDK_BODY), (META_SDK_SECRET, b"test "), (META_SDK_SECRET, b"Test")],
    ids=["another app secret", "another body", "one letter changed"],
)
def test_the_known_signature_does_not_match_another_secret_or_body(secret: str, body: bytes) -> None:
    with pytest.raises(SignatureMismatch, match="does not match"):
        check_signature(secret, body, f"sha256={META_SDK_DIGEST}")


@pytest.mark.parametrize(
    "header",
    [None, "", META_SDK_DIGEST, f"sha1={META_SDK_DIGEST}", "sha256=", f"sha256={META_SDK_DIGEST[:-2]}"],
    ids=["absent", "empty", "no prefix", "sha1", "no digest", "short digest"],
)
def test_a_missing_or_malformed_header_is_refused(header: str | None) -> None:
    with pytest.raises(SignatureRejected):
        check_signature(META_SDK_SECRET, META_SDK_BODY, header)


def test_a_ref_names_the_clinic_and_patient_and_fits_an_m_me_link() -> None:
    token = sign_ref(REF, KEY)

    assert verify_ref(token, KEY, NOW) == REF
    assert len(token) == 44 and token.replace("-", "").replace("_", "").isalnum()
    assert m_me_link("000000000000001", token) == f"https://m.me/000000000000001?ref={token}"


@pytest.mark.parametrize(
    ("token", "key", "now", "problem"),
    [
        (sign_ref(REF, KEY), b"another-key", NOW, "signature"),
        (sign_ref(REF, KEY)[:-2] + "AA", KEY, NOW, "signature"),
        (sign_ref(REF, KEY), KEY, REF.expires_at, "expired"),
        ("not-a-token", KEY, NOW, "not a link token"),
        # A confirm link's token (another purpose) signed with the same key links nobody.
        (
            sign(LinkClaim(Purpose.CONFIRM, "cln_0123456789ab", "apt_00112233445566778899", REF.expires_at), KEY),
            KEY,
            NOW,
            "not a Messenger ref",
        ),
    ],
    ids=["other key", "tampered", "expired", "garbage", "a confirm link"],
)
def test_a_forged_tampered_expired_or_other_token_is_refused(
    token: str, key: bytes, now: datetime, problem: str
) -> None:
    with pytest.raises(InvalidLink, match=problem):
        verify_ref(token, key, now)
