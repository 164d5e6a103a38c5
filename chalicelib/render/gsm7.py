"""SMS encoding as a cost decision: keep a text GSM-7 whenever it can be (its segments are counted exactly by
`chalicelib.render.segments`).

One curly quote or long dash turns a whole SMS into UCS-2, which fits 70 characters a segment instead of 160
and so can double the bill. `sanitise` replaces look-alikes (typographic quotes and dashes, the no-break and
narrow spaces that CLDR puts into formatted times, accented letters GSM-7 lacks) with their GSM-7 twins; what
cannot be replaced (Arabic script, emoji) is left alone and the text is sent, and counted, as UCS-2.
"""

from __future__ import annotations

import unicodedata

from chalicelib.render.segments import GSM7_BASIC, GSM7_EXTENSION, sms_segments

_LOOK_ALIKES = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u00a0\u2002\u2003\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t", " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),
    "\u2026": "...",
    "\u2022": "-",
    "\u00b7": "-",
}


def sanitise(text: str) -> str:
    """`text` with GSM-7 look-alikes in place of the characters that would force UCS-2, where one exists.

    The one case where a look-alike costs more (a text made mostly of ellipses, each three dots in GSM-7)
    keeps the original: the point is the bill, not the encoding."""
    out: list[str] = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
        elif char in _LOOK_ALIKES:
            out.append(_LOOK_ALIKES[char])
        else:
            out.append(_without_accent(char))
    replaced = "".join(out)
    return replaced if sms_segments(replaced) <= sms_segments(text) else text


def _without_accent(char: str) -> str:
    # á → a, í → i, ó → o: the base letter when it is GSM-7; anything else (Arabic, emoji) stays as it is.
    base = unicodedata.normalize("NFD", char)[0]
    return base if base != char and base in GSM7_BASIC else char
