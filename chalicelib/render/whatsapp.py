"""A WhatsApp template's parameters in the patient's language (pure): the facts a clinic's template names
(`clinic`, `day`, `time`, `place`, `link`, `phone`, `form`, `name`, `minutes`, `provider`;
`chalicelib.clinics.whatsapp_settings`) as text, and the template's words with them filled in, which is what the
patient reads and what CareCue records.

The day and time are CLDR's in the patient's language (`mar, 1 dic` and `9:00` in Spanish), English as CareCue's
English texts write them (`Tue 1 Dec`, `9:00 AM`). Meta refuses an empty parameter, so a fact the message does not
have (no place, no contact phone) is sent as `-`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from msgspec import Struct

from chalicelib.render.templates import TemplateCall, short_day, twelve_hour

MISSING = "-"
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class TemplateFacts(Struct, frozen=True):
    clinic: str
    local_start: datetime | None  # in the patient's zone
    place: str | None = None
    link: str | None = None
    phone: str | None = None
    form: str | None = None  # the pre-visit form's link (confirmation, day-before reminder, while unanswered)
    name: str | None = None  # a caregiver's alert: the patient's first name, as the caregiver knows it
    minutes: int | None = None  # the waiting room's: the estimated wait, or how late the provider runs
    provider: str | None = None  # a running-late text: the provider's name


def fact_values(facts: TemplateFacts, language: str) -> dict[str, str]:
    values = {
        "clinic": facts.clinic,
        "place": facts.place,
        "link": facts.link,
        "phone": facts.phone,
        "form": facts.form,
        "name": facts.name,
        "minutes": str(facts.minutes) if facts.minutes is not None else None,
        "provider": facts.provider,
    }
    day = time = None
    if facts.local_start is not None:
        day, time = _day(facts.local_start, language), _time(facts.local_start, language)
    return {name: value or MISSING for name, value in {**values, "day": day, "time": time}.items()}


def template_call(
    name: str, language_code: str, parameters: Sequence[str], facts: TemplateFacts, language: str
) -> TemplateCall:
    values = fact_values(facts, language)
    return TemplateCall(name, language_code, tuple(values[parameter] for parameter in parameters))


def filled(body: str, parameters: Sequence[str]) -> str:
    """The template's words with `{{n}}` replaced by the n-th parameter (as WhatsApp shows them)."""

    def value(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return parameters[number - 1] if 1 <= number <= len(parameters) else match.group(0)

    return _PLACEHOLDER.sub(value, body)


def _day(moment: datetime, language: str) -> str:
    if _english(language):
        return short_day(moment)
    from babel.dates import format_date

    return str(format_date(moment, "EEE d MMM", locale=language.replace("-", "_")))


def _time(moment: datetime, language: str) -> str:
    if _english(language):
        return twelve_hour(moment)
    from babel.dates import format_time

    return str(format_time(moment, "short", tzinfo=moment.tzinfo, locale=language.replace("-", "_")))


def _english(language: str) -> bool:
    """English, or a language CLDR does not know (Babel refuses it): CareCue's English way of writing times."""
    from babel import Locale, UnknownLocaleError

    if language.split("-")[0].lower() == "en":
        return True
    try:
        Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return True
    return False
