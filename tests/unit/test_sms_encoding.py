"""SMS encoding: GSM-7 look-alikes replace what would force UCS-2; segments are counted exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.render.gsm7 import sanitise
from chalicelib.render.segments import GSM7_BASIC, GSM7_EXTENSION, is_gsm7
from chalicelib.render.segments import count_segments as encode_count
from chalicelib.render.segments import sms_segments as segment_count


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "gsm7", 1),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # 160 septets: each € is an escape plus a character
        ("€" * 81, "gsm7", 2),
        ("a" * 152 + "€" + "a" * 10, "gsm7", 2),  # the € does not straddle: 152 + (2+10)
        ("a" * 152 + "€" + "a" * 152, "gsm7", 3),  # 152 | 2+151 | 1: the escape pair moved to segment 2
        ("ا" * 70, "ucs2", 1),
        ("ا" * 71, "ucs2", 2),
        ("ا" * 134, "ucs2", 2),
        ("ا" * 135, "ucs2", 3),
        ("😀" * 35, "ucs2", 1),  # a surrogate pair is two code units
        ("a" * 66 + "😀", "ucs2", 1),
        ("a" * 66 + "😀" + "a" * 4, "ucs2", 2),  # 71 units; the emoji starts segment 2 rather than straddle
    ],
)
def test_segments_are_counted_exactly(text: str, encoding: str, segments: int) -> None:
    counted = encode_count(text)
    assert (counted.encoding, counted.segments) == (encoding, segments)


def test_typographic_punctuation_and_cldr_spaces_become_gsm7() -> None:
    text = "Riverside\u00a0Clinic \u2013 \u201cyour\u201d visit\u2019s at 10:00\u202fAM\u2026"

    assert sanitise(text) == 'Riverside Clinic - "your" visit\'s at 10:00 AM...'
    assert is_gsm7(sanitise(text))


def test_spanish_accents_missing_from_gsm7_lose_the_accent_and_keep_one_segment() -> None:
    text = "Recordatorio: su cita el sábado 5 dic a las 10:00. ¿Dudas? Llame a la clínica."
    assert not is_gsm7(text)
    assert sanitise(text) == "Recordatorio: su cita el sabado 5 dic a las 10:00. ¿Dudas? Llame a la clinica."
    assert segment_count(sanitise(text)) == 1


def test_arabic_stays_arabic_and_is_counted_as_ucs2() -> None:
    text = "تذكير بموعدك"
    assert sanitise(text) == text
    assert encode_count(text).encoding == "ucs2"


def test_a_look_alike_that_would_cost_more_segments_is_not_used() -> None:
    text = "\u2026" * 60  # 60 UCS-2 units are one segment; 180 septets of dots would be two
    assert sanitise(text) == text


@given(st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)), max_size=400))
def test_gsm7_text_is_left_alone(text: str) -> None:
    assert sanitise(text) == text


@given(st.text(max_size=300))
def test_sanitising_never_costs_more_segments(text: str) -> None:
    assert segment_count(sanitise(text)) <= segment_count(text)
