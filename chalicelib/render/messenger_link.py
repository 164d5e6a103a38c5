"""The line a confirmation gains when the clinic has connected Messenger and the patient has not linked it yet: an
invitation to get the reminders on Messenger through the clinic's `m.me` link (`chalicelib.links.messenger_ref`),
in the patient's language (pure)."""

from __future__ import annotations

from msgspec.structs import replace

from chalicelib.render.localized import language_of
from chalicelib.render.templates import Message

_WORDS = {
    "en": "Get your reminders on Messenger: {link}",
    "es": "Reciba sus recordatorios por Messenger: {link}",
    "ar": "احصل على تذكيراتك عبر ماسنجر: {link}",
}


def messenger_line(link: str, language: str) -> str:
    return _WORDS.get(language_of(language), _WORDS["en"]).format(link=link)


def with_messenger_link(message: Message, link: str, language: str) -> Message:
    """The message with the invitation as its last line (the text part; an email's HTML part is left as it is)."""
    return replace(message, body=f"{message.body}\n{messenger_line(link, language)}")
