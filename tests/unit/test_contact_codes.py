"""The one-time code's rules (pure): what a typed code is read as, the rate limit's next time, and the details
page's translations naming the same values as their English."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from chalicelib.core.records import ContactProof
from chalicelib.links import contact_codes as codes
from chalicelib.links.details_words import translations

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
KEY = b"test-link-key"


def proof(sent: list[datetime], address: str = "+14155550101", code: str = "123456") -> ContactProof:
    return ContactProof(
        clinic_id="cln_1",
        proof_key="pat_1/phone",
        patient_id="pat_1",
        field="phone",
        address=address,
        code_hash=codes.code_hash(KEY, "cln_1", "pat_1", "phone", address, code),
        expires_at=NOW + codes.CODE_LIFETIME,
        sent_at=sent,
        forget_at=NOW + codes.FORGET_AFTER,
    )


@pytest.mark.parametrize(
    ("typed", "read"),
    [("123456", "123456"), (" 123 456 ", "123456"), ("123-456", "123456"), ("12345", None), ("١٢٣٤٥٦", None)],
)
def test_a_typed_code_is_six_ascii_digits_spaces_and_a_dash_aside(typed: str, read: str | None) -> None:
    assert codes.read_code(typed) == read


def test_new_codes_are_six_digits() -> None:
    assert all(re.fullmatch(r"\d{6}", codes.new_code()) for _ in range(50))


def test_a_code_matches_only_the_address_it_was_sent_to() -> None:
    assert codes.matches(proof([NOW]), KEY, "123456")
    assert not codes.matches(proof([NOW]), KEY, "123457")
    moved = replace(proof([NOW], address="+14155550102"), address="+14155550101")
    assert not codes.matches(moved, KEY, "123456")  # the hash of one address does not prove another
    assert not codes.matches(proof([NOW]), b"another stage's key", "123456")


def test_the_fourth_code_within_an_hour_waits_for_the_first_to_leave_the_window() -> None:
    sent = [NOW - timedelta(minutes=50), NOW - timedelta(minutes=20), NOW - timedelta(minutes=5)]
    assert codes.next_send_at(proof(sent[1:]), NOW) is None
    assert codes.next_send_at(proof(sent), NOW) == NOW + timedelta(minutes=10)
    assert codes.next_send_at(None, NOW) is None


@pytest.mark.parametrize("language", ["es", "ar"])
def test_the_translations_name_the_same_values(language: str) -> None:
    same_hour = {"at", "the_hour"}  # Spanish says "a las 8:00": the hour with its article
    for english, translated in translations(language).items():
        wanted = set(re.findall(r"{(\w+)}", english))
        found = set(re.findall(r"{(\w+)}", translated))
        assert found == wanted or (wanted & same_hour and found - same_hour == wanted - same_hour), english
