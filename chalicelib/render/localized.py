"""Messages in the patient's language: English, Spanish and Arabic defaults for every kind of message, with
the day and time written by Babel (CLDR) in that language, and the clinic's own SMS templates in their place
when it has saved some. Pure: the caller passes the local start time, the link and the clinic's templates.

The SMS defaults carry the minimum (clinic, day, time, place, one link) and are written to fit one GSM-7
segment for a typical clinic name; Spanish accents outside GSM-7 are folded by `gsm7.sanitise` when sent,
and Arabic is UCS-2 by nature (70 characters a segment), so it is kept short.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from msgspec import Struct

from chalicelib.core.words import Channel, Kind
from chalicelib.render.templates import Message, local_when

LANGUAGES = ("en", "es", "ar")

# CLDR patterns: short, unambiguous, with the weekday (people check the day before the date).
_WHEN = {"en": "EEE d MMM 'at' h:mm a", "es": "EEE d 'de' MMM, H:mm", "ar": "EEEE d MMMM، h:mm a"}

_SMS: dict[str, dict[Kind, str]] = {
    "en": {
        Kind.CONFIRMATION: "{clinic}: your appointment is booked for {when}.",
        Kind.REMINDER: "{clinic}: reminder of your appointment on {when}.",
        Kind.RESCHEDULE_NOTICE: "{clinic}: your appointment has moved to {when}.",
        Kind.CANCELLATION_NOTICE: "{clinic}: your appointment on {when} is cancelled.",
    },
    "es": {
        Kind.CONFIRMATION: "{clinic}: su cita es el {when}.",
        Kind.REMINDER: "{clinic}: le recordamos su cita del {when}.",
        Kind.RESCHEDULE_NOTICE: "{clinic}: su cita se ha movido al {when}.",
        Kind.CANCELLATION_NOTICE: "{clinic}: su cita del {when} queda cancelada.",
    },
    "ar": {
        Kind.CONFIRMATION: "{clinic}: تم حجز موعدك {when}.",
        Kind.REMINDER: "{clinic}: تذكير بموعدك {when}.",
        Kind.RESCHEDULE_NOTICE: "{clinic}: تم نقل موعدك إلى {when}.",
        Kind.CANCELLATION_NOTICE: "{clinic}: تم إلغاء موعدك {when}.",
    },
}
# Appended to a reminder when it has a link: one link, the confirm page (reply C works too).
_LINK = {"en": " Confirm: {link}", "es": " Confirmar: {link}", "ar": " للتأكيد: {link}"}
# Appended to the confirmation and the day-before reminder while the appointment's pre-visit form is unanswered,
# after the clinic's own template too: the form is the clinic's setting, the link is what makes it reachable.
# Short: a link is 70 characters already, and an Arabic SMS is 70 characters a segment.
_FORM = {
    "en": " Please fill in your form: {link}",
    "es": " Rellene su formulario: {link}",
    "ar": " املأ النموذج: {link}",
}
_FORM_EMAIL = {
    "en": "\n\nPlease fill in your form before the visit (link below).",
    "es": "\n\nRellene su formulario antes de la cita (enlace abajo).",
    "ar": "\n\nيرجى ملء النموذج قبل الموعد (الرابط أدناه).",
}

_SUBJECT: dict[str, dict[Kind, str]] = {
    "en": {
        Kind.CONFIRMATION: "Appointment booked: {when}",
        Kind.REMINDER: "Appointment reminder: {when}",
        Kind.RESCHEDULE_NOTICE: "Appointment moved: {when}",
        Kind.CANCELLATION_NOTICE: "Appointment cancelled: {when}",
    },
    "es": {
        Kind.CONFIRMATION: "Cita reservada: {when}",
        Kind.REMINDER: "Recordatorio de cita: {when}",
        Kind.RESCHEDULE_NOTICE: "Cita cambiada: {when}",
        Kind.CANCELLATION_NOTICE: "Cita cancelada: {when}",
    },
    "ar": {
        Kind.CONFIRMATION: "تم حجز الموعد: {when}",
        Kind.REMINDER: "تذكير بالموعد: {when}",
        Kind.RESCHEDULE_NOTICE: "تم نقل الموعد: {when}",
        Kind.CANCELLATION_NOTICE: "تم إلغاء الموعد: {when}",
    },
}

_EMAIL_BODY: dict[str, dict[Kind, str]] = {
    "en": {
        Kind.CONFIRMATION: "Your appointment with {clinic} is booked for {when}.{place}",
        Kind.REMINDER: "This is a reminder of your appointment with {clinic} on {when}.{place}",
        Kind.RESCHEDULE_NOTICE: "Your appointment with {clinic} has moved to {when}.{place}",
        Kind.CANCELLATION_NOTICE: "Your appointment with {clinic} on {when} is cancelled.",
    },
    "es": {
        Kind.CONFIRMATION: "Su cita con {clinic} es el {when}.{place}",
        Kind.REMINDER: "Le recordamos su cita con {clinic} el {when}.{place}",
        Kind.RESCHEDULE_NOTICE: "Su cita con {clinic} se ha movido al {when}.{place}",
        Kind.CANCELLATION_NOTICE: "Su cita con {clinic} del {when} queda cancelada.",
    },
    "ar": {
        Kind.CONFIRMATION: "تم حجز موعدك مع {clinic} {when}.{place}",
        Kind.REMINDER: "تذكير بموعدك مع {clinic} {when}.{place}",
        Kind.RESCHEDULE_NOTICE: "تم نقل موعدك مع {clinic} إلى {when}.{place}",
        Kind.CANCELLATION_NOTICE: "تم إلغاء موعدك مع {clinic} {when}.",
    },
}
_PLACE = {"en": "\nPlace: {place}", "es": "\nLugar: {place}", "ar": "\nالمكان: {place}"}
_FOOTER = {
    "en": "\n\nPlease contact the clinic if you need to change it.",
    "es": "\n\nSi necesita cambiarla, contacte con la clínica.",
    "ar": "\n\nيرجى التواصل مع العيادة إذا احتجت إلى تغييره.",
}


class LocalizedFacts(Struct, frozen=True):
    clinic_name: str
    local_start: datetime  # in the zone the patient reads times in
    location: str | None
    link: str | None = None  # the confirm page, on reminders
    contact_phone: str | None = None
    form_link: str | None = None  # the pre-visit form, on the confirmation and day-before reminder while unanswered


def language_of(tag: str | None) -> str:
    """The message language for a patient's tag: `es-MX` → `es`; anything CareCue has no texts for → `en`."""
    base = (tag or "en").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


def when_text(local_start: datetime, language: str) -> str:
    from babel.dates import format_datetime  # Babel's locale data loads on first use, on the send path only

    return str(format_datetime(local_start, _WHEN[language], tzinfo=local_start.tzinfo, locale=language))


def day_and_time(local_start: datetime, language: str) -> str:
    """An appointment's day and time in a sentence: English as CareCue's English texts have always written it
    (`Wed 2 Dec at 10:00 AM`, no CLDR narrow space), other languages by CLDR."""
    if language_of(language) == "en":
        return local_when(local_start)
    return when_text(local_start, language_of(language))


def render_localized(
    kind: Kind,
    channel: Channel,
    facts: LocalizedFacts,
    language: str,
    clinic_templates: Mapping[str, Mapping[str, str]] | None = None,
) -> Message:
    language = language_of(language)
    when = day_and_time(facts.local_start, language)  # English without Babel, as every English text writes it
    if channel is Channel.SMS:
        custom = (clinic_templates or {}).get(language, {}).get(kind.value)
        values = {
            "clinic": facts.clinic_name,
            "when": when,
            "place": facts.location or "",
            "link": facts.link or "",
            "phone": facts.contact_phone or "",
        }
        form = _FORM[language].format(link=facts.form_link) if facts.form_link else ""
        if custom is not None:
            return Message(None, custom.format(**values) + form)
        text = _SMS[language][kind].format(**values)
        if kind is Kind.REMINDER and facts.link:
            text += _LINK[language].format(link=facts.link)
        return Message(None, text + form)
    place = _PLACE[language].format(place=facts.location) if facts.location else ""
    subject = f"{facts.clinic_name}: " + _SUBJECT[language][kind].format(when=when)
    body = _EMAIL_BODY[language][kind].format(clinic=facts.clinic_name, when=when, place=place)
    body += (_FORM_EMAIL[language] if facts.form_link else "") + _FOOTER[language]
    return Message(subject, body)
