"""The dose message's words, its "taken" link token and the reply keywords that answer it: pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.links.tokens import InvalidLink, verify
from chalicelib.regimens.dose_links import DoseClaim, sign_dose, verify_dose
from chalicelib.regimens.messages import DoseFacts, DoseKind, dose_message
from chalicelib.replies.keywords import Intent, intent_of

KEY = b"test-link-key"
DUE = datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
CLAIM = DoseClaim("cln_0123456789ab", "rgm_0123456789abcdef0123", DUE)


def facts(**overrides: object) -> DoseFacts:
    values: dict[str, object] = {
        "clinic_name": "Riverside Family Clinic",
        "local_due": DUE.astimezone(ZoneInfo("America/New_York")),
        "medication": None,
        "dose_text": None,
        "link": "https://carecue.example/d/" + "x" * 44,
        "snooze_minutes": 15,
    }
    values.update(overrides)
    return DoseFacts(**values)  # type: ignore[arg-type]


def test_the_dose_token_is_44_characters_and_reads_back() -> None:
    token = sign_dose(CLAIM, KEY)
    assert len(token) == 44
    assert verify_dose(token, KEY, DUE + timedelta(hours=23)) == CLAIM


@pytest.mark.parametrize("problem", ["tampered", "expired", "other_key"])
def test_a_tampered_expired_or_foreign_dose_token_is_refused(problem: str) -> None:
    token = sign_dose(CLAIM, KEY)
    now = DUE
    key = KEY
    if problem == "tampered":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif problem == "expired":
        now = DUE + timedelta(days=1)
    else:
        key = b"another-key"
    with pytest.raises(InvalidLink):
        verify_dose(token, key, now)


def test_a_dose_token_is_no_appointment_link() -> None:
    with pytest.raises(InvalidLink):
        verify(sign_dose(CLAIM, KEY), KEY, DUE)


def test_the_dose_text_names_the_local_time_not_the_medication_by_default() -> None:
    body = dose_message(DoseKind.DOSE, facts()).body
    assert body.startswith(
        "Riverside Family Clinic: time for your 8:00 AM medicine. Reply 1 when taken or tap https://"
    )
    assert body.endswith("Reply SNOOZE to be reminded in 15 min.")
    named = dose_message(DoseKind.DOSE, facts(medication="Examplamab 10 mg", dose_text="1 tablet")).body
    assert "your 8:00 AM Examplamab 10 mg (1 tablet)." in named


def test_the_caregiver_hears_the_first_name_and_the_dose_time_only() -> None:
    body = dose_message(DoseKind.CAREGIVER, facts(medication="Examplamab", first_name="Pat")).body
    assert body == "Riverside Family Clinic: Pat has not confirmed the 8:00 AM dose on Sun 14 Mar."


@pytest.mark.parametrize(("text", "intent"), [("1", Intent.TAKEN), (" t ", Intent.TAKEN), ("Taken.", Intent.TAKEN)])
def test_taken_replies(text: str, intent: Intent) -> None:
    assert intent_of(text) is intent


def test_snooze_reply_and_c_still_confirms() -> None:
    assert intent_of("Snooze") is Intent.SNOOZE
    assert intent_of("C") is Intent.CONFIRM
