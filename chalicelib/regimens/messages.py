"""The words of dose messages, in the patient's language (English, Spanish, Arabic): pure. They name the dose
time in the patient's zone and, by default, not the medication ("your 8:00 AM medicine"); a clinic may opt in
to names. A caregiver hears the patient's first name and the dose time only, in the patient's language (a
regimen has no caregiver language). English and Spanish are GSM-7 once `gsm7.sanitise` folds the accents;
Arabic is UCS-2 (70 characters a segment), so some Arabic texts take a segment more than the English ones
(tests/unit/test_dose_and_reply_languages.py lists which). An email says the same without the SMS keywords,
which only an SMS reply can use."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from msgspec import Struct

from chalicelib.core.words import Channel
from chalicelib.render.templates import Message, clock_text, short_day, the_hour


class DoseKind(StrEnum):
    DOSE = "dose"
    SNOOZE = "dose_snooze"
    FOLLOW_UP = "dose_follow_up"
    CAREGIVER = "caregiver_alert"
    REFILL = "refill"


class DoseFacts(Struct, frozen=True):
    clinic_name: str
    local_due: datetime
    medication: str | None  # None unless the clinic puts names in messages
    dose_text: str | None
    link: str | None
    snooze_minutes: int
    first_name: str | None = None
    days_left: int | None = None


# CLDR patterns for the dose time and the caregiver's day. English keeps CareCue's own "8:00 AM" (Babel's English
# puts a narrow no-break space before AM, which would change every English email byte for nothing).
_DAY = {"es": "EEE d 'de' MMM", "ar": "EEEE d MMMM"}

_WHAT = {
    "en": ("your {at} medicine", "your {at} {medication}{dose}"),
    "es": ("su medicamento de {the_hour}", "su {medication}{dose} de {the_hour}"),
    "ar": ("دوائك الساعة {at}", "{medication}{dose} الساعة {at}"),
}
_TAP = {"en": " or tap {link}", "es": " o toque {link}", "ar": " أو افتح {link}"}
_SMS: dict[str, dict[DoseKind, str]] = {
    "en": {
        DoseKind.DOSE: "{clinic}: time for {what}. Reply 1 when taken{tap}. "
        "Reply SNOOZE to be reminded in {minutes} min.",
        DoseKind.FOLLOW_UP: "{clinic}: have you taken {what}? Reply 1 when taken{tap}.",
        DoseKind.CAREGIVER: "{clinic}: {name} has not confirmed the {at} dose on {day}.",
        DoseKind.REFILL: "{clinic}: your medicine runs out in {days}. Please ask for a refill.",
    },
    "es": {
        DoseKind.DOSE: "{clinic}: es hora de {what}. Responda 1 al tomarlo{tap}. Responda POSPONER y se lo "
        "recordaremos en {minutes} min.",
        DoseKind.FOLLOW_UP: "{clinic}: ¿ya ha tomado {what}? Responda 1 al tomarlo{tap}.",
        DoseKind.CAREGIVER: "{clinic}: {name} no ha confirmado la dosis de {the_hour} del {day}.",
        DoseKind.REFILL: "{clinic}: su medicamento se acaba en {days}. Por favor, pida más.",
    },
    "ar": {
        DoseKind.DOSE: "{clinic}: حان موعد {what}. أرسل 1 عند تناوله{tap}. أرسل تأجيل للتذكير بعد {minutes} دقيقة.",
        DoseKind.FOLLOW_UP: "{clinic}: هل تناولت {what}؟ أرسل 1 عند تناوله{tap}.",
        DoseKind.CAREGIVER: "{clinic}: لم يؤكد {name} جرعة {at}، {day}.",
        DoseKind.REFILL: "{clinic}: سينفد دواؤك خلال {days} تقريبا. اطلب المزيد.",
    },
}
# An email cannot be answered with 1 or SNOOZE (nothing reads replies to it): it offers the taken link instead.
_EMAIL: dict[str, dict[DoseKind, str]] = {
    "en": {
        DoseKind.DOSE: "{clinic}: time for {what}.{mark}",
        DoseKind.FOLLOW_UP: "{clinic}: have you taken {what}?{mark}",
    },
    "es": {
        DoseKind.DOSE: "{clinic}: es hora de {what}.{mark}",
        DoseKind.FOLLOW_UP: "{clinic}: ¿ya ha tomado {what}?{mark}",
    },
    "ar": {
        DoseKind.DOSE: "{clinic}: حان موعد {what}.{mark}",
        DoseKind.FOLLOW_UP: "{clinic}: هل تناولت {what}؟{mark}",
    },
}
_MARK = {
    "en": "\n\nWhen you have taken it, mark it here: {link}",
    "es": "\n\nCuando lo haya tomado, márquelo aquí: {link}",
    "ar": "\n\nعند تناوله، سجّل ذلك هنا: {link}",
}
_SUBJECT: dict[str, dict[DoseKind, str]] = {
    "en": {
        DoseKind.DOSE: "Medication reminder",
        DoseKind.FOLLOW_UP: "Medication reminder",
        DoseKind.CAREGIVER: "Dose not confirmed",
        DoseKind.REFILL: "Refill reminder",
    },
    "es": {
        DoseKind.DOSE: "Recordatorio de medicamento",
        DoseKind.FOLLOW_UP: "Recordatorio de medicamento",
        DoseKind.CAREGIVER: "Dosis no confirmada",
        DoseKind.REFILL: "Pida más medicamento",
    },
    "ar": {
        DoseKind.DOSE: "تذكير بالدواء",
        DoseKind.FOLLOW_UP: "تذكير بالدواء",
        DoseKind.CAREGIVER: "جرعة غير مؤكدة",
        DoseKind.REFILL: "تذكير بطلب المزيد من الدواء",
    },
}
_SOMEONE = {"en": "Your family member", "es": "su familiar", "ar": "فرد من عائلتك"}


def caregiver_name(first_name: str | None, language: str) -> str:
    """Whom a caregiver's alert names: the patient's first name as the caregiver knows it, else "your family
    member" in `language` (as `localized.language_of` gives)."""
    return first_name or _SOMEONE.get(language, _SOMEONE["en"])


def _day_text(moment: datetime, language: str) -> str:
    if language not in _DAY:
        return short_day(moment)
    from babel.dates import format_datetime

    return str(format_datetime(moment, _DAY[language], tzinfo=moment.tzinfo, locale=language))


def _days_text(days: int, language: str) -> str:
    if language == "ar":  # Arabic counts 1, 2, 3 to 10, and 11 up differently
        return "يوم واحد" if days == 1 else "يومين" if days == 2 else f"{days} أيام" if days <= 10 else f"{days} يوما"
    if language == "es":
        return "1 día" if days == 1 else f"unos {days} días"
    return "about 1 day" if days == 1 else f"about {days} days"


def dose_message(kind: DoseKind, facts: DoseFacts, language: str = "en", channel: Channel = Channel.SMS) -> Message:
    """The message for `kind` in `language` (`en`, `es` or `ar`, as `localized.language_of` gives)."""
    language = language if language in _SMS else "en"
    due = facts.local_due
    at, hour = clock_text(due, language), the_hour(due, language)
    unnamed, named = _WHAT[language]
    what = unnamed.format(at=at, the_hour=hour)
    if facts.medication:
        dose = f" ({facts.dose_text})" if facts.dose_text else ""
        what = named.format(at=at, the_hour=hour, medication=facts.medication, dose=dose)
    text_kind = DoseKind.DOSE if kind is DoseKind.SNOOZE else kind
    template = _SMS[language][text_kind]
    if channel is Channel.EMAIL:
        template = _EMAIL[language].get(text_kind, template)
    body = template.format(
        clinic=facts.clinic_name,
        what=what,
        tap=_TAP[language].format(link=facts.link) if facts.link else "",
        mark=_MARK[language].format(link=facts.link) if facts.link else "",
        minutes=facts.snooze_minutes,
        name=caregiver_name(facts.first_name, language),
        at=at,
        the_hour=hour,
        day=_day_text(due, language),
        days=_days_text(facts.days_left if facts.days_left is not None else 0, language),
    )
    return Message(_SUBJECT[language][text_kind], body)
