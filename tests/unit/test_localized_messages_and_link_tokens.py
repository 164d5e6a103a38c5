"""Messages in English, Spanish and Arabic with CLDR dates; patient link tokens signed, expiring, single-purpose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.words import Channel, Kind
from chalicelib.links.tokens import InvalidLink, LinkClaim, Purpose, sign, verify
from chalicelib.render.gsm7 import sanitise
from chalicelib.render.localized import LocalizedFacts, language_of, render_localized
from chalicelib.render.segments import count_segments as encode_count

START = datetime(2026, 12, 5, 15, 30, tzinfo=ZoneInfo("America/New_York"))  # a Saturday
LINK = "https://cc.example/p/" + "A" * 44
FACTS = LocalizedFacts("Riverside Family Clinic", START, "Room 4", LINK)
KEY = b"k" * 32
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", f"Riverside Family Clinic: reminder of your appointment on Sat 5 Dec at 3:30 PM. Confirm: {LINK}"),
        ("es", f"Riverside Family Clinic: le recordamos su cita del sáb 5 de dic, 15:30. Confirmar: {LINK}"),
        ("ar", f"Riverside Family Clinic: تذكير بموعدك السبت 5 ديسمبر، 3:30 م. للتأكيد: {LINK}"),
    ],
)
def test_the_reminder_is_in_the_patients_language_with_a_local_date(language: str, text: str) -> None:
    assert render_localized(Kind.REMINDER, Channel.SMS, FACTS, language).body == text


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", list(Kind))
def test_default_english_and_spanish_sms_fit_one_gsm7_segment_for_a_typical_name(kind: Kind, language: str) -> None:
    # The longest day and month names, a two-digit hour, a 25-character clinic name and a link.
    longest = LocalizedFacts("Riverside Family Clinic", datetime(2026, 9, 30, 12, 30), None, LINK)
    body = sanitise(render_localized(kind, Channel.SMS, longest, language).body)

    counted = encode_count(body)
    assert (counted.encoding, counted.segments) == ("gsm7", 1), body


def test_a_clinic_template_replaces_the_default_for_its_language_only() -> None:
    templates = {"es": {"reminder": "{clinic}: cita {when}. Dudas: {phone}"}}
    facts = LocalizedFacts("Riverside Family Clinic", START, None, None, "+14155550199")

    assert (
        render_localized(Kind.REMINDER, Channel.SMS, facts, "es-MX", templates).body
        == "Riverside Family Clinic: cita sáb 5 de dic, 15:30. Dudas: +14155550199"
    )
    assert render_localized(Kind.REMINDER, Channel.SMS, facts, "en", templates).body.startswith(
        "Riverside Family Clinic: reminder of"
    )


def test_an_unknown_language_falls_back_to_english() -> None:
    assert (language_of("fr-CA"), language_of(None), language_of("AR")) == ("en", "en", "ar")


def test_a_signed_token_opens_for_its_purpose_until_it_expires() -> None:
    claim = LinkClaim(Purpose.CANCEL, "cln_0123456789ab", "apt_0123456789abcdef0123", NOW + timedelta(days=2))
    token = sign(claim, KEY)

    assert len(token) == 44
    assert verify(token, KEY, NOW) == LinkClaim(claim.purpose, claim.clinic_id, claim.appointment_id, claim.expires_at)
    with pytest.raises(InvalidLink, match="expired"):
        verify(token, KEY, NOW + timedelta(days=2))


def test_a_tampered_token_or_another_key_is_refused() -> None:
    claim = LinkClaim(Purpose.CONFIRM, "cln_0123456789ab", "apt_0123456789abcdef0123", NOW + timedelta(days=2))
    token = sign(claim, KEY)
    # Turn the confirm link into a cancel link by changing its first byte: the signature no longer matches.
    cancel = sign(LinkClaim(Purpose.CANCEL, claim.clinic_id, claim.appointment_id, claim.expires_at), KEY)
    forged = cancel[:2] + token[2:]

    for bad in (forged, token[:-1] + ("A" if token[-1] != "A" else "B"), "not-a-token", token + "AAAA"):
        with pytest.raises(InvalidLink):
            verify(bad, KEY, NOW)
    with pytest.raises(InvalidLink):
        verify(token, b"another key", NOW)
