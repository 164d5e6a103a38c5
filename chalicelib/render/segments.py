"""How many SMS segments a text costs: the exact GSM 03.38 / UCS-2 rules carriers bill by (pure).

A text that fits the GSM 7-bit alphabet (the basic table, plus the extension table whose characters take an
escape and so count two septets) is sent as GSM-7: 160 septets in one segment, 153 per segment once it is
split (7 septets go to the concatenation header). One character outside it (an emoji, a curly quote) turns
the whole text into UCS-2: 70 UTF-16 code units in one segment, 67 per segment once split. A split never
cuts an escape sequence or a surrogate pair in two, so the count below fills each segment greedily, as the
handset and SNS do, rather than dividing the length.
"""

from __future__ import annotations

from enum import StrEnum

from msgspec import Struct

# GSM 03.38 basic character set, in table order (0x1B, the escape to the extension table, left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each character is sent as ESC + one septet, so it counts two.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


class SegmentCount(Struct, frozen=True):
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def count_segments(text: str) -> SegmentCount:
    """The encoding a text is sent in and the segments it costs; an empty text still costs one."""
    if is_gsm7(text):
        widths = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SegmentCount(Encoding.GSM7, sum(widths), _fill(widths, GSM7_SINGLE, GSM7_PART))
    widths = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # a character outside the BMP is a surrogate pair
    return SegmentCount(Encoding.UCS2, sum(widths), _fill(widths, UCS2_SINGLE, UCS2_PART))


def sms_segments(text: str) -> int:
    return count_segments(text).segments


def _fill(widths: list[int], single: int, part: int) -> int:
    if sum(widths) <= single:
        return 1
    segments, used = 1, 0
    for width in widths:
        if used + width > part:  # the unit does not fit whole: it starts the next segment
            segments += 1
            used = 0
        used += width
    return segments
