"""SMS segment counting (`chalicelib.render.segments`): what a clinic is billed for one text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.render.segments import GSM7_BASIC, GSM7_EXTENSION, Encoding, count_segments, sms_segments


def test_the_gsm_basic_table_has_127_printable_characters_besides_escape() -> None:
    assert len(GSM7_BASIC) == 127
    assert "\x1b" not in GSM7_BASIC
    assert GSM7_BASIC.isdisjoint(GSM7_EXTENSION)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", Encoding.GSM7, 0, 1),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("€" * 80, Encoding.GSM7, 160, 1),  # extension characters count two septets
        ("€" * 81, Encoding.GSM7, 162, 2),
        ("Größe: Ü Ä Ö Ñ é è ù ì ò Ç ¿ ¡ §", Encoding.GSM7, 32, 1),  # accents in the table stay 7-bit
        ("Naïve", Encoding.UCS2, 5, 1),  # ï is not in it
        ("a" * 70 + "’", Encoding.UCS2, 71, 2),  # one curly quote: the whole text is UCS-2
        ("é" * 60 + "ê", Encoding.UCS2, 61, 1),  # ê is not in GSM 03.38
        ("x" * 134, Encoding.GSM7, 134, 1),
        ("😀" * 35, Encoding.UCS2, 70, 1),  # an emoji is a surrogate pair: two code units
        ("😀" * 36, Encoding.UCS2, 72, 2),
    ],
)
def test_encoding_units_and_segments(text: str, encoding: Encoding, units: int, segments: int) -> None:
    counted = count_segments(text)

    assert (counted.encoding, counted.units, counted.segments) == (encoding, units, segments)


def test_an_escape_sequence_is_never_split_across_segments() -> None:
    # 152 septets, then "€" (2): it cannot take the 153rd septet alone, so it opens segment 2 ...
    assert sms_segments("a" * 152 + "€" + "a" * 150) == 2
    # ... and the 153 + 153 split of plain text would be 2 segments, but the moved escape pushes one over.
    assert sms_segments("a" * 152 + "€" + "a" * 152) == 3
    assert sms_segments("a" * 153 + "a" * 153) == 2


def test_a_surrogate_pair_is_never_split_across_segments() -> None:
    assert sms_segments("x" * 66 + "😀" + "x" * 65) == 2  # 66 + 2 would be 68 > 67: the emoji opens segment 2
    assert sms_segments("x" * 66 + "😀" + "x" * 66) == 3


def test_carecues_own_reminder_text_is_one_gsm_segment() -> None:
    text = "Riverside Family Clinic: reminder of your appointment on Wed 2 Dec at 10:00 AM."

    assert count_segments(text) == count_segments(text)  # pure
    assert count_segments(text).encoding is Encoding.GSM7
    assert sms_segments(text) == 1


@given(st.text(alphabet=sorted(GSM7_BASIC), max_size=1200))
def test_plain_gsm_text_costs_the_textbook_number_of_segments(text: str) -> None:
    expected = 1 if len(text) <= 160 else -(-len(text) // 153)

    assert sms_segments(text) == expected


@given(st.text(min_size=1, max_size=600))
def test_segments_never_fewer_than_the_units_allow(text: str) -> None:
    counted = count_segments(text)
    single, part = (160, 153) if counted.encoding is Encoding.GSM7 else (70, 67)

    assert counted.segments >= (1 if counted.units <= single else -(-counted.units // part))
    assert counted.segments <= max(1, -(-counted.units // (part - 1)))
