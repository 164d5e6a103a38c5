"""What a patient's SMS reply asks for: the carrier keywords and CareCue's own, regardless of case, spacing and
punctuation ("Stop.", " stop ", "S T O P" all mean STOP). Pure."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    CONFIRM = "confirm"
    TAKEN = "taken"  # a dose reminder's answer
    SNOOZE = "snooze"
    OTHER = "other"


_KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), Intent.STOP),
    **dict.fromkeys(("START", "UNSTOP"), Intent.START),
    "HELP": Intent.HELP,
    **dict.fromkeys(("C", "YES", "CONFIRM"), Intent.CONFIRM),
    **dict.fromkeys(("1", "T", "TAKEN"), Intent.TAKEN),
    "SNOOZE": Intent.SNOOZE,
}


def intent_of(body: str) -> Intent:
    word = "".join(char for char in body if char.isalnum()).upper()
    return _KEYWORDS.get(word, Intent.OTHER)
