"""What a patient's SMS reply asks for: the carrier keywords and CareCue's own, regardless of case, spacing and
punctuation ("Stop.", " stop ", "S T O P" all mean STOP). Pure.

The English carrier keywords hold in every language; the Spanish and Arabic words CareCue's own texts name
(PARAR and ALTO for STOP, AYUDA, POSPONER and تأجيل for SNOOZE, AQUÍ and وصلت for HERE) are read as well. They
only work where CareCue answers inbound SMS: a carrier or the sender's opt-out list knows the English ones only."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    CONFIRM = "confirm"
    TAKEN = "taken"  # a dose reminder's answer
    SNOOZE = "snooze"
    HERE = "here"  # the patient has arrived: check me in
    OTHER = "other"


_KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "PARAR", "ALTO"), Intent.STOP),
    **dict.fromkeys(("START", "UNSTOP"), Intent.START),
    **dict.fromkeys(("HELP", "AYUDA"), Intent.HELP),
    **dict.fromkeys(("C", "YES", "CONFIRM"), Intent.CONFIRM),
    **dict.fromkeys(("1", "T", "TAKEN"), Intent.TAKEN),
    **dict.fromkeys(("SNOOZE", "POSPONER", "تأجيل"), Intent.SNOOZE),
    **dict.fromkeys(("HERE", "IMHERE", "AQUI", "AQUÍ", "LLEGUE", "LLEGUÉ", "وصلت", "هنا"), Intent.HERE),
}


def intent_of(body: str) -> Intent:
    word = "".join(char for char in body if char.isalnum()).upper()
    return _KEYWORDS.get(word, Intent.OTHER)
